import { ConfigError, loadConfig } from './keystream.config';

const base = {
  KEYSTREAM_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
  AUTH_JWKS_URL: 'https://idp.example.test/jwks',
  KEYSTREAM_DATA_DIR: '/nonexistent',
};

describe('KEYSTREAM_ORG_PROVISIONING', () => {
  it('is manual by default, also with AUTH_JWKS_URL alone', () => {
    expect(loadConfig({ ...base }, () => undefined).orgProvisioning).toBe('manual');
    expect(loadConfig({ ...base, KEYSTREAM_ORG_PROVISIONING: '' }, () => undefined).orgProvisioning).toBe('manual');
  });
  it.each(['manual', 'on-first-admin'])('takes %s', (mode) => {
    expect(loadConfig({ ...base, KEYSTREAM_ORG_PROVISIONING: mode }, () => undefined).orgProvisioning).toBe(mode);
  });
  it.each(['auto', 'Manual', 'on_first_admin', 'on-first-admin '])('refuses "%s", naming the variable', (mode) => {
    const load = () => loadConfig({ ...base, KEYSTREAM_ORG_PROVISIONING: mode }, () => undefined);
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/KEYSTREAM_ORG_PROVISIONING must be manual or on-first-admin/);
  });
});
