import { EventEnvelope, SealedSecret } from '@keystream/credentials';
import { toHistoryEntry } from './credential-history.view';

const sealed = (last4: string): SealedSecret => ({
  alg: 'A256GCM',
  keyId: 'k1',
  iv: 'IVIVIV',
  ciphertext: 'CIPHERTEXT',
  tag: 'TAGTAG',
  fingerprint: `fp-${last4}`,
  last4,
});
const base = {
  eventId: 'e',
  schemaVersion: 1,
  orgId: 'acme',
  occurredAt: '2026-01-01T00:00:00.000Z',
  actor: { userId: 'alice' },
  commandId: 'c',
};

describe('toHistoryEntry', () => {
  it('masks an added credential down to label, fields and last4 + fingerprint', () => {
    const e = {
      ...base,
      version: 1,
      type: 'CredentialAdded',
      data: {
        credentialId: 'id',
        provider: 'openai',
        label: 'Prod',
        fields: { organization: 'org-1' },
        secrets: { apiKey: sealed('0001') },
      },
    } as EventEnvelope;
    expect(toHistoryEntry(e)).toEqual({
      version: 1,
      type: 'CredentialAdded',
      occurredAt: base.occurredAt,
      actor: { userId: 'alice' },
      changes: {
        label: 'Prod',
        fields: { organization: 'org-1' },
        secrets: { apiKey: { last4: '0001', fingerprint: 'fp-0001' } },
      },
    });
  });

  it('keeps what an edit changed only, cleared values as null, and the batch', () => {
    const e = {
      ...base,
      version: 4,
      type: 'CredentialEdited',
      batch: { id: 'b', size: 2 },
      data: {
        credentialId: 'id',
        provider: 'bedrock-access',
        fields: { region: null },
        secrets: { sessionToken: null, secretAccessKey: sealed('0002') },
      },
    } as EventEnvelope;
    expect(toHistoryEntry(e)).toMatchObject({
      batch: { id: 'b', size: 2 },
      changes: {
        fields: { region: null },
        secrets: { sessionToken: null, secretAccessKey: { last4: '0002', fingerprint: 'fp-0002' } },
      },
    });
    expect(toHistoryEntry(e).changes).not.toHaveProperty('label');
  });

  it('records the label a removed credential had, and never anything sealed or unknown', () => {
    const e = {
      ...base,
      version: 9,
      type: 'CredentialRemoved',
      data: { credentialId: 'id', provider: 'gemini', label: 'Old', dataKey: 'WRAPPED' },
    } as unknown as EventEnvelope;
    const entry = toHistoryEntry(e);
    expect(entry.changes).toEqual({ label: 'Old' });
    const added = toHistoryEntry({
      ...base,
      version: 1,
      type: 'CredentialAdded',
      data: {
        credentialId: 'id',
        provider: 'gemini',
        label: 'G',
        fields: {},
        secrets: { apiKey: sealed('0003') },
        extra: 'x',
      },
    } as unknown as EventEnvelope);
    const text = JSON.stringify([entry, added]);
    for (const leak of ['CIPHERTEXT', 'IVIVIV', 'TAGTAG', 'WRAPPED', '"k1"', 'extra']) expect(text).not.toContain(leak);
  });
});
