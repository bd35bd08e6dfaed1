import { randomUUID } from 'node:crypto';
import { CredentialChange, PROVIDERS, ProviderId, SealedSecret } from '@keystream/credentials';
import { SecretCipher } from '@keystream/crypto';
import { PlainChange } from './credential-requests';

/**
 * Turns validated plaintext changes into domain changes: new ids for adds, secret fields sealed with
 * AAD bound to org, credential and field. After this no plaintext secret travels further.
 */
export function sealChanges(cipher: SecretCipher, orgId: string, changes: readonly PlainChange[]): CredentialChange[] {
  return changes.map((c) => {
    switch (c.op) {
      case 'add': {
        const credentialId = randomUUID();
        const { fields, secrets } = split(cipher, orgId, credentialId, c.provider, c.values);
        return { op: 'add', credentialId, provider: c.provider, label: c.label, fields: fields as Record<string, string>, secrets: secrets as Record<string, SealedSecret> };
      }
      case 'edit': {
        const { fields, secrets } = split(cipher, orgId, c.id, c.provider, c.values);
        return { op: 'edit', credentialId: c.id, provider: c.claimedProvider, label: c.label, fields, secrets };
      }
      case 'remove':
        return { op: 'remove', credentialId: c.id };
    }
  });
}

function split(cipher: SecretCipher, orgId: string, credentialId: string, provider: ProviderId, values: Readonly<Record<string, string | null>>) {
  const fields: Record<string, string | null> = {};
  const secrets: Record<string, SealedSecret | null> = {};
  for (const spec of PROVIDERS[provider].fields) {
    const v = values[spec.name];
    if (v === undefined) continue;
    if (!spec.secret) fields[spec.name] = v;
    else secrets[spec.name] = v === null ? null : cipher.seal(v, { orgId, credentialId, field: spec.name });
  }
  return { fields, secrets };
}
