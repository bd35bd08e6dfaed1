import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './keystream.config';

// Fake keys only.
const base = { KEYSTREAM_MASTER_KEY: 'a'.repeat(64), AUTH_JWT_SECRET: 'x'.repeat(32) };

describe('KEYSTREAM_PREVIOUS_MASTER_KEYS', () => {
  it('is empty when unset', () => {
    expect(loadConfig(base).previousMasterKeys).toEqual([]);
  });

  it('takes a comma-separated list of base64 or hex 32-byte keys', () => {
    const b64 = Buffer.alloc(32, 7).toString('base64');
    const keys = loadConfig({
      ...base,
      KEYSTREAM_PREVIOUS_MASTER_KEYS: ` ${'b'.repeat(64)}, ${b64} `,
    }).previousMasterKeys!;
    expect(keys.map((k) => k.toString('hex'))).toEqual(['b'.repeat(64), '07'.repeat(32)]);
  });

  it.each(['short', 'b'.repeat(64) + ',', 'b'.repeat(64) + ',abc'])('rejects %p naming the variable', (v) => {
    const f = () => loadConfig({ ...base, KEYSTREAM_PREVIOUS_MASTER_KEYS: v });
    expect(f).toThrow(ConfigError);
    expect(f).toThrow(/KEYSTREAM_PREVIOUS_MASTER_KEYS/);
  });
});

describe('Kafka TLS and SASL (KAFKA_SSL, KAFKA_SSL_CA_FILE, KAFKA_SASL_*)', () => {
  const dist = { ...base, DATABASE_URL: 'postgres://u:p@db/keystream', KAFKA_BROKERS: 'k1:9093' };
  // A PEM-shaped fake certificate: the config only checks that the file holds one.
  const dir = mkdtempSync(join(tmpdir(), 'ks-ca-'));
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nFAKEFAKE\n-----END CERTIFICATE-----\n');
  writeFileSync(join(dir, 'not-a-cert.pem'), 'hello');

  it('is plaintext without authentication when nothing is set', () => {
    const k = loadConfig(dist).kafka;
    expect(k.ssl).toBeUndefined();
    expect(k.sasl).toBeUndefined();
  });

  it('takes TLS with the system CAs, or with a CA file (which implies TLS)', () => {
    expect(loadConfig({ ...dist, KAFKA_SSL: 'true' }).kafka.ssl).toEqual({ ca: undefined });
    expect(loadConfig({ ...dist, KAFKA_SSL_CA_FILE: caFile }).kafka.ssl?.ca).toContain('BEGIN CERTIFICATE');
  });

  it.each(['scram-sha-256', 'SCRAM-SHA-512'])('takes SASL %s with a username and password', (m) => {
    const k = loadConfig({
      ...dist,
      KAFKA_SSL: 'true',
      KAFKA_SASL_MECHANISM: m,
      KAFKA_SASL_USERNAME: 'svc',
      KAFKA_SASL_PASSWORD: 'fake-password',
    }).kafka;
    expect(k.sasl).toEqual({ mechanism: m.toLowerCase(), username: 'svc', password: 'fake-password' });
  });

  it.each([
    [{ KAFKA_SSL: 'false', KAFKA_SSL_CA_FILE: caFile }, 'KAFKA_SSL', 'cannot be off'],
    [{ KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem' }, 'KAFKA_SSL_CA_FILE', 'cannot be read: ENOENT'],
    [{ KAFKA_SSL_CA_FILE: join(dir, 'not-a-cert.pem') }, 'KAFKA_SSL_CA_FILE', 'holds no PEM certificate'],
    [{ KAFKA_SSL: 'maybe' }, 'KAFKA_SSL', 'must be on or off'],
    [
      { KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' },
      'KAFKA_SASL_MECHANISM',
      'must be one of plain, scram-sha-256, scram-sha-512',
    ],
    [{ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_PASSWORD: 'p' }, 'KAFKA_SASL_USERNAME', 'is required'],
    [{ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u' }, 'KAFKA_SASL_PASSWORD', 'is required'],
    [{ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }, 'KAFKA_SASL_MECHANISM', 'is required with'],
    [
      { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' },
      'KAFKA_SASL_MECHANISM',
      'plain sends the password in clear',
    ],
  ])('refuses %p naming %s', (env, variable, reason) => {
    const f = () => loadConfig({ ...dist, ...env });
    expect(f).toThrow(ConfigError);
    expect(f).toThrow(`Invalid configuration: ${variable} ${reason}`);
  });

  it('never puts the SASL password in an error message', () => {
    const f = () =>
      loadConfig({
        ...dist,
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'fake-secret-pw',
      });
    expect(f).toThrow(ConfigError);
    expect(() => f()).not.toThrow(/fake-secret-pw/);
  });
});
