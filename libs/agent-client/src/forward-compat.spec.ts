import { agentKeySetHash, AgentCredential } from '@keystream/agent-protocol';
import { initialState, receiveChanges, receiveSnapshot } from './ordered-applier';
import { isChangesMessage, isInSyncMessage, isSnapshotMessage } from './server-message-guards';

/**
 * docs/agent-protocol.md §7 from the SDK's side: what a newer server may send (a provider, a field, a change
 * type, a message field this build does not know) never makes a message malformed, and what it knows keeps
 * being served.
 */
const ORG = 'org-forward-compat-spec';
const known: AgentCredential = {
  id: 'c-known',
  provider: 'gemini',
  label: 'Gemini',
  fields: {},
  secrets: { apiKey: { value: 'AIzaFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAK0001', fingerprint: 'fp-known' } },
};
const future: AgentCredential = {
  id: 'c-future',
  provider: 'mistral', // not a provider of this build
  label: 'Mistral',
  fields: { region: 'eu', tier: 'pro' },
  secrets: {
    apiKey: { value: 'FAKE-mistral-0001', fingerprint: 'fp-future' },
    signingKey: { value: 'FAKE-sign-0001', fingerprint: 'fp-sign' },
  },
};

describe('agent SDK forward compatibility', () => {
  it('keeps a snapshot with an unknown provider, field and message field, and its hash verifies', () => {
    const msg: unknown = {
      orgId: ORG,
      epoch: 1,
      version: 2,
      hash: agentKeySetHash([known, future]),
      credentials: [known, { ...future, rotation: { days: 30 } }],
      region: 'eu-1',
    };
    if (!isSnapshotMessage(msg)) throw new Error('a snapshot with unknown provider, field or member was refused');
    const step = receiveSnapshot(initialState(), msg);
    expect(step.resync).toBeUndefined();
    expect(step.state.keySet?.credentials.get('c-future')).toMatchObject({
      provider: 'mistral',
      fields: { region: 'eu', tier: 'pro' },
    });
    expect(step.state.keySet?.credentials.get('c-known')?.secrets.apiKey.value).toBe(known.secrets.apiKey.value);
  });

  it('skips a change of an unknown type, advances past it, and applies the known changes around it', () => {
    const start = receiveSnapshot(initialState(), {
      orgId: ORG,
      epoch: 1,
      version: 1,
      hash: agentKeySetHash([known]),
      credentials: [known],
    }).state;
    const msg: unknown = {
      orgId: ORG,
      epoch: 1,
      fromVersion: 2,
      toVersion: 4,
      changes: [
        {
          version: 2,
          type: 'CredentialAdded',
          credentialId: 'c-future',
          provider: 'mistral',
          label: 'Mistral',
          fields: { tier: 'pro' },
          secrets: {},
        },
        { version: 3, type: 'CredentialRotated', credentialId: 'c-known', schedule: { days: 30 } },
        {
          version: 4,
          type: 'CredentialEdited',
          credentialId: 'c-known',
          provider: 'gemini',
          label: 'Gemini (renamed)',
        },
      ],
    };
    if (!isChangesMessage(msg)) throw new Error('changes with an unknown type were refused');
    const step = receiveChanges(start, msg);
    expect(step.resync).toBeUndefined();
    expect(step.state.keySet?.version).toBe(4);
    expect(step.state.keySet?.credentials.get('c-known')?.label).toBe('Gemini (renamed)');
    expect(step.state.keySet?.credentials.get('c-future')?.provider).toBe('mistral');
  });

  it('still refuses what is malformed whatever the version: a change without a version or id', () => {
    const base = { orgId: ORG, epoch: 1, fromVersion: 2, toVersion: 2 };
    expect(isChangesMessage({ ...base, changes: [{ type: 'CredentialRotated', credentialId: 'x' }] })).toBe(false);
    expect(
      isChangesMessage({
        ...base,
        changes: [{ version: 2, type: 'CredentialAdded', credentialId: 'x', provider: '' }],
      }),
    ).toBe(false);
  });

  it('reads keys.insync (protocol 2) with fields it does not know, and refuses one without a proper hash', () => {
    const msg = { orgId: ORG, epoch: 1, version: 4, hash: 'a'.repeat(64), region: 'eu-1' };
    expect(isInSyncMessage(msg)).toBe(true);
    expect(isInSyncMessage({ ...msg, hash: 'A'.repeat(64) })).toBe(false);
  });
});
