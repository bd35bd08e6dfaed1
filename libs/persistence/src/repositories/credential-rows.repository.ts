import { EntityManager } from 'typeorm';
import { KeySet, StoredCredential } from '@keystream/credentials';
import { CredentialStateEntity, KeySetCredentialEntity } from '../entities';

type RowTarget = typeof CredentialStateEntity | typeof KeySetCredentialEntity;

/** Loads and stores an org's key set as rows of one credential table (decision state or projection). */
export class CredentialRowsRepository {
  constructor(private readonly target: RowTarget) {}

  async load(m: EntityManager, orgId: string, version: number): Promise<KeySet> {
    const rows = await m.find(this.target, { where: { orgId } });
    const credentials = new Map<string, StoredCredential>();
    for (const r of rows) {
      credentials.set(r.credentialId, { id: r.credentialId, provider: r.provider, label: r.label, fields: r.fields, secrets: r.secrets, version: r.version });
    }
    return { version, credentials };
  }

  /**
   * Rewrites the touched credentials as they are in `after`: delete then insert, so label swaps within one
   * save never collide. `before` (the state the save started from) spares the delete when every touched
   * credential is new — the common add — one round trip less per command.
   */
  async replace(m: EntityManager, orgId: string, after: KeySet, touched: Iterable<string>, before?: KeySet): Promise<void> {
    const ids = [...new Set(touched)];
    if (ids.length === 0) return;
    const existed = before ? ids.filter((id) => before.credentials.has(id)) : ids;
    if (existed.length > 0) {
      await m.createQueryBuilder().delete().from(this.target).where('org_id = :orgId AND credential_id IN (:...ids)', { orgId, ids: existed }).execute();
    }
    const rows = ids.flatMap((id) => {
      const c = after.credentials.get(id);
      return c ? [{ orgId, credentialId: c.id, provider: c.provider, label: c.label, fields: c.fields, secrets: c.secrets, version: c.version }] : [];
    });
    if (rows.length > 0) await m.insert(this.target, rows);
  }

  async deleteOrg(m: EntityManager, orgId: string): Promise<void> {
    await m.delete(this.target, { orgId });
  }
}

export const decisionStateRows = new CredentialRowsRepository(CredentialStateEntity);
export const keySetRows = new CredentialRowsRepository(KeySetCredentialEntity);
