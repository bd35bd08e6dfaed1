import { EntityManager } from 'typeorm';
import { KeySet, StoredCredential } from '@keystream/credentials';
import { CredentialStateEntity, KeySetCredentialEntity } from '../entities';

type RowTarget = typeof CredentialStateEntity | typeof KeySetCredentialEntity;

/** Loads an org's key set from the rows of one credential table (decision state or projection). */
export class CredentialRowsRepository {
  constructor(private readonly target: RowTarget) {}

  async load(m: EntityManager, orgId: string, version: number): Promise<KeySet> {
    const rows = await m.find(this.target, { where: { orgId } });
    const credentials = new Map<string, StoredCredential>();
    for (const r of rows) {
      credentials.set(r.credentialId, {
        id: r.credentialId,
        provider: r.provider,
        label: r.label,
        fields: r.fields,
        secrets: r.secrets,
        version: r.version,
      });
    }
    return { version, credentials };
  }
}

export const decisionStateRows = new CredentialRowsRepository(CredentialStateEntity);
export const keySetRows = new CredentialRowsRepository(KeySetCredentialEntity);
