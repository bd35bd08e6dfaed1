import { ConfigError, loadConfig } from './keystream.config';

// Fake keys only.
const base = { KEYSTREAM_MASTER_KEY: 'a'.repeat(64), AUTH_JWT_SECRET: 'x'.repeat(32) };

describe('KEYSTREAM_PREVIOUS_MASTER_KEYS', () => {
  it('is empty when unset', () => {
    expect(loadConfig(base).previousMasterKeys).toEqual([]);
  });

  it('takes a comma-separated list of base64 or hex 32-byte keys', () => {
    const b64 = Buffer.alloc(32, 7).toString('base64');
    const keys = loadConfig({ ...base, KEYSTREAM_PREVIOUS_MASTER_KEYS: ` ${'b'.repeat(64)}, ${b64} ` }).previousMasterKeys!;
    expect(keys.map((k) => k.toString('hex'))).toEqual(['b'.repeat(64), '07'.repeat(32)]);
  });

  it.each(['short', 'b'.repeat(64) + ',', 'b'.repeat(64) + ',abc'])('rejects %p naming the variable', (v) => {
    const f = () => loadConfig({ ...base, KEYSTREAM_PREVIOUS_MASTER_KEYS: v });
    expect(f).toThrow(ConfigError);
    expect(f).toThrow(/KEYSTREAM_PREVIOUS_MASTER_KEYS/);
  });
});
