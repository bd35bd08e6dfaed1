import { ConfigError, loadConfig } from './keystream.config';
import { DEFAULT_RATE_LIMITS } from './rate-limits';

const base = { KEYSTREAM_MASTER_KEY: 'a'.repeat(64), AUTH_JWT_SECRET: 'x'.repeat(32) };

describe('rate limit configuration', () => {
  it('defaults to 120 writes and 30 handshakes per token per minute', () => {
    expect(loadConfig(base).rateLimits).toEqual(DEFAULT_RATE_LIMITS);
    expect(DEFAULT_RATE_LIMITS).toEqual({ writesPerMinute: 120, connectsPerMinute: 30 });
  });

  it('reads KEYSTREAM_WRITE_RATE_PER_MIN and KEYSTREAM_CONNECT_RATE_PER_MIN', () => {
    expect(
      loadConfig({ ...base, KEYSTREAM_WRITE_RATE_PER_MIN: '600', KEYSTREAM_CONNECT_RATE_PER_MIN: '5' }).rateLimits,
    ).toEqual({ writesPerMinute: 600, connectsPerMinute: 5 });
  });

  it.each(['0', '-1', '1.5', 'lots', '2000000'])('fails fast naming the variable for %p', (raw) => {
    expect(() => loadConfig({ ...base, KEYSTREAM_WRITE_RATE_PER_MIN: raw })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, KEYSTREAM_CONNECT_RATE_PER_MIN: raw })).toThrow(
      /KEYSTREAM_CONNECT_RATE_PER_MIN/,
    );
  });
});
