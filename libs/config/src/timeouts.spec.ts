import { ConfigError, loadConfig } from './keystream.config';
import { databaseWhere, DEFAULT_TIMEOUTS, DependencyUnavailableError } from './timeouts';

// Fake keys only.
const base = {
  KEYSTREAM_MASTER_KEY: 'a'.repeat(64),
  AUTH_JWT_SECRET: 'x'.repeat(32),
  DATABASE_URL: 'postgres://u:p@db:5432/k',
  KAFKA_BROKERS: 'k1:9092',
};

describe('dependency timeouts', () => {
  it('default to bounds that fail a silent dependency within seconds, and reach the Kafka settings', () => {
    const c = loadConfig(base);
    expect(c.timeouts).toEqual(DEFAULT_TIMEOUTS);
    expect(DEFAULT_TIMEOUTS.databaseConnectMs).toBeLessThanOrEqual(5_000);
    expect(DEFAULT_TIMEOUTS.kafkaRequestMs).toBeLessThanOrEqual(5_000);
    expect(c.kafka).toMatchObject({
      connectTimeoutMs: DEFAULT_TIMEOUTS.kafkaConnectMs,
      requestTimeoutMs: DEFAULT_TIMEOUTS.kafkaRequestMs,
    });
  });

  it('take each variable in milliseconds', () => {
    const c = loadConfig({
      ...base,
      DATABASE_CONNECT_TIMEOUT_MS: '1500',
      DATABASE_STATEMENT_TIMEOUT_MS: '20000',
      KAFKA_REQUEST_TIMEOUT_MS: '7000',
    });
    expect(c.timeouts).toMatchObject({ databaseConnectMs: 1500, databaseStatementMs: 20_000, kafkaRequestMs: 7000 });
    expect(c.kafka.requestTimeoutMs).toBe(7000);
  });

  it.each([
    ['DATABASE_CONNECT_TIMEOUT_MS', '5s'],
    ['DATABASE_STATEMENT_TIMEOUT_MS', '0'],
    ['DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS', '-1'],
    ['KAFKA_CONNECT_TIMEOUT_MS', '999999999'],
  ])('refuse %s=%p naming the variable', (name, value) => {
    const f = () => loadConfig({ ...base, [name]: value });
    expect(f).toThrow(ConfigError);
    expect(f).toThrow(new RegExp(`${name} must be an integer`));
  });
});

describe('DependencyUnavailableError', () => {
  it('names the setting and where it pointed, never the password', () => {
    const e = new DependencyUnavailableError(
      'DATABASE_URL',
      databaseWhere('postgres://keystream:hunter2-fake@db.internal:6432/k'),
      'connection refused',
    );
    expect(e.message).toBe('Postgres at db.internal:6432 (DATABASE_URL) is unavailable: connection refused');
    expect(new DependencyUnavailableError('KAFKA_BROKERS', 'k1:9092,k2:9092', 'no answer').message).toBe(
      'Kafka at k1:9092,k2:9092 (KAFKA_BROKERS) is unavailable: no answer',
    );
  });
});
