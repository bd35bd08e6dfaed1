import { emptyKeySet, EventEnvelope, evolve, keySetHash, SealedSecret } from '@keystream/credentials';
import { KeySetRebuild } from './key-set.rebuild';

const sealed = (n: number): SealedSecret => ({
  alg: 'A256GCM',
  keyId: 'k',
  iv: 'i',
  ciphertext: `c${n}`,
  tag: 't',
  fingerprint: `fp${n}`,
  last4: 'FAKE',
});
const env = (orgId: string, version: number, type: EventEnvelope['type'], data: object): EventEnvelope =>
  ({
    eventId: `${orgId}-${version}`,
    type,
    schemaVersion: 1,
    orgId,
    version,
    occurredAt: '2026-01-01T00:00:00.000Z',
    actor: { userId: 'u' },
    commandId: 'c',
    data,
  }) as EventEnvelope;

function history(orgId: string): EventEnvelope[] {
  return [
    env(orgId, 1, 'CredentialAdded', {
      credentialId: 'a',
      provider: 'gemini',
      label: 'A',
      fields: {},
      secrets: { apiKey: sealed(1) },
    }),
    env(orgId, 2, 'CredentialAdded', {
      credentialId: 'b',
      provider: 'bedrock-api-key',
      label: 'B',
      fields: { region: 'us-east-1' },
      secrets: { apiKey: sealed(2) },
    }),
    env(orgId, 3, 'CredentialEdited', {
      credentialId: 'b',
      provider: 'bedrock-api-key',
      label: 'B2',
      fields: { region: 'eu-west-1' },
      secrets: { apiKey: sealed(3) },
    }),
    env(orgId, 4, 'CredentialRemoved', { credentialId: 'a', provider: 'gemini', label: 'A' }),
  ];
}

describe('KeySetRebuild (in-place fold)', () => {
  it('folds interleaved orgs to exactly what evolve gives, skipping duplicates', () => {
    const x = history('x');
    const y = history('y');
    const rebuild = new KeySetRebuild();
    for (const e of [x[0], y[0], x[1], x[1], y[1], x[2], y[2], y[3], x[3], x[2]]) rebuild.apply(e);
    const expected = x.reduce((s, e) => evolve(s, e, e.version), emptyKeySet());
    for (const o of rebuild.orgs()) {
      expect(o.state.version).toBe(4);
      expect([...o.state.credentials.values()]).toEqual([...expected.credentials.values()]);
      expect(o.hash).toBe(keySetHash(expected.credentials.values()));
      expect(o.gapAt).toBeUndefined();
    }
    expect(rebuild.duplicates).toBe(2);
  });

  it('marks an org whose log has a hole and stops folding it there', () => {
    const [e1, , e3, e4] = history('z');
    const rebuild = new KeySetRebuild();
    [e1, e3, e4].forEach((e) => rebuild.apply(e));
    const [z] = rebuild.orgs();
    expect(z.gapAt).toBe(2);
    expect(z.state.version).toBe(1);
  });

  it('folds only the orgs in scope', () => {
    const rebuild = new KeySetRebuild(new Set(['x']));
    [...history('x'), ...history('y')].forEach((e) => rebuild.apply(e));
    expect(rebuild.orgs().map((o) => o.orgId)).toEqual(['x']);
    expect(rebuild.events).toBe(4);
  });
});
