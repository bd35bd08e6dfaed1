import { randomUUID } from 'node:crypto';
import { CredentialChange, PROVIDERS, ProviderId, SealedSecret } from '@keystream/credentials';
import { SecretVault, WrappedKey } from '@keystream/crypto';
import { PlainChange } from './save-command';

export interface SealedChanges {
  readonly changes: CredentialChange[];
  /** Data keys made for this command: insert the wrapped ones in its transaction, cache them after it commits. */
  readonly newKeys: { credentialId: string; dek: Buffer; wrapped: WrappedKey }[];
}

/**
 * Turns validated plaintext changes into domain changes: new ids (and data keys) for adds, secret fields
 * sealed under the credential's own data key with AAD bound to org, credential and field. An edit reuses
 * its credential's key (a credential from before envelope encryption gets one). After this no plaintext
 * secret travels further.
 */
export async function sealChanges(
  vault: SecretVault,
  orgId: string,
  changes: readonly PlainChange[],
): Promise<SealedChanges> {
  const newKeys: SealedChanges['newKeys'] = [];
  const editedWithSecrets = changes.flatMap((c) => (c.op === 'edit' && hasSecret(c.provider, c.values) ? [c.id] : []));
  const existing =
    editedWithSecrets.length > 0 ? await vault.dataKeys(orgId, editedWithSecrets) : new Map<string, Buffer>();
  const keyFor = async (credentialId: string): Promise<Buffer> => {
    const known = existing.get(credentialId) ?? newKeys.find((k) => k.credentialId === credentialId)?.dek;
    if (known) return known;
    const made = await vault.newDataKey(orgId, credentialId);
    newKeys.push({ credentialId, ...made });
    return made.dek;
  };
  const out: CredentialChange[] = [];
  for (const c of changes) {
    switch (c.op) {
      case 'add': {
        const credentialId = randomUUID();
        const dek = await keyFor(credentialId);
        const { fields, secrets } = await split(vault, dek, orgId, credentialId, c.provider, c.values);
        out.push({
          op: 'add',
          credentialId,
          provider: c.provider,
          label: c.label,
          fields: fields as Record<string, string>,
          secrets: secrets as Record<string, SealedSecret>,
        });
        break;
      }
      case 'edit': {
        const dek = hasSecret(c.provider, c.values) ? await keyFor(c.id) : undefined;
        const { fields, secrets } = await split(vault, dek, orgId, c.id, c.provider, c.values);
        out.push({ op: 'edit', credentialId: c.id, provider: c.claimedProvider, label: c.label, fields, secrets });
        break;
      }
      case 'remove':
        out.push({ op: 'remove', credentialId: c.id });
        break;
    }
  }
  return { changes: out, newKeys };
}

function hasSecret(provider: ProviderId, values: Readonly<Record<string, string | null>>): boolean {
  return PROVIDERS[provider].fields.some((f) => f.secret && typeof values[f.name] === 'string');
}

async function split(
  vault: SecretVault,
  dek: Buffer | undefined,
  orgId: string,
  credentialId: string,
  provider: ProviderId,
  values: Readonly<Record<string, string | null>>,
) {
  const fields: Record<string, string | null> = {};
  const secrets: Record<string, SealedSecret | null> = {};
  for (const spec of PROVIDERS[provider].fields) {
    const v = values[spec.name];
    if (v === undefined) continue;
    if (!spec.secret) fields[spec.name] = v;
    else secrets[spec.name] = v === null ? null : await vault.seal(v, { orgId, credentialId, field: spec.name }, dek!);
  }
  return { fields, secrets };
}
