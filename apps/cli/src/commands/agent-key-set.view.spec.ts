import { AgentCredential } from '@keystream/agent-protocol';
import { FAKE } from '@keystream/testing';
import { keySetLines } from './agent-key-set.view';

/** `keystream agent` prints what a newer server sends (an unknown provider or field) instead of failing on it. */
describe('keystream agent printout', () => {
  const cred = (id: string, provider: string, fields: Record<string, string>, secret: string): AgentCredential => ({
    id,
    provider,
    label: `L-${id}`,
    fields,
    secrets: { apiKey: { value: secret, fingerprint: `fp-${id}` } },
  });

  it('shows known sections first, then an unknown provider with its fields, every secret masked', () => {
    const credentials = new Map([
      ['b', cred('b', 'mistral', { tier: 'pro' }, 'FAKE-mistral-secret-0001')],
      ['a', cred('a', 'gemini', {}, FAKE.gemini)],
    ]);
    const lines = keySetLines({ epoch: 1, version: 3, credentials }, 'acme', undefined);
    const text = lines.join('\n');
    expect(lines.indexOf('  Gemini Configuration')).toBeLessThan(lines.indexOf('  Other provider: mistral'));
    expect(lines).toContain('      tier    pro');
    expect(text).toContain('…0001');
    expect(text).not.toContain(FAKE.gemini);
    expect(text).not.toContain('FAKE-mistral-secret-0001');
  });
});
