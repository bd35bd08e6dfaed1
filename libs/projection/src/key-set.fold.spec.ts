import { EventEnvelope, SealedSecret } from '@keystream/credentials';
import { emptyFoldState, foldStep } from './key-set.fold';

const sealed = (n: number): SealedSecret => ({
  alg: 'A256GCM',
  keyId: 'k',
  iv: 'i',
  ciphertext: `c${n}`,
  tag: 't',
  fingerprint: `fp${n}`,
  last4: 'FAKE',
});
const meta = (version: number) => ({
  eventId: `e${version}`,
  schemaVersion: 1,
  orgId: 'o',
  version,
  occurredAt: '2026-01-01T00:00:00.000Z',
  actor: { userId: 'u' },
  commandId: 'c',
});
const added: EventEnvelope = {
  ...meta(1),
  type: 'CredentialAdded',
  data: { credentialId: 'a', provider: 'gemini', label: 'A', fields: {}, secrets: { apiKey: sealed(1) } },
};
const edited: EventEnvelope = {
  ...meta(2),
  type: 'CredentialEdited',
  data: { credentialId: 'a', provider: 'gemini', label: 'A2' },
};
const removed: EventEnvelope = {
  ...meta(3),
  type: 'CredentialRemoved',
  data: { credentialId: 'a', provider: 'gemini', label: 'A2' },
};

describe('foldStep (the step every reader of the log shares)', () => {
  it('applies the next version in place', () => {
    const s = emptyFoldState();
    expect([added, edited].map((e) => foldStep(s, e))).toEqual(['applied', 'applied']);
    expect(s.version).toBe(2);
    expect(s.credentials.get('a')).toMatchObject({ label: 'A2', version: 2, secrets: { apiKey: sealed(1) } });
    expect(foldStep(s, removed)).toBe('applied');
    expect(s.credentials.size).toBe(0);
  });

  it('skips a version already folded and changes nothing (the same event applied twice)', () => {
    const s = emptyFoldState();
    foldStep(s, added);
    const before = s.credentials.get('a');
    expect(foldStep(s, added)).toBe('duplicate');
    expect(s.version).toBe(1);
    expect(s.credentials.get('a')).toBe(before);
  });

  it('reports a version past the next one as a gap and changes nothing', () => {
    const s = emptyFoldState();
    foldStep(s, added);
    expect(foldStep(s, removed)).toBe('gap');
    expect(s.version).toBe(1);
    expect(s.credentials.has('a')).toBe(true);
  });
});
