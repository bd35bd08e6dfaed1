import { EntityManager } from 'typeorm';
import { OrgDeletedError, OrgNotFoundError } from '@keystream/credentials';
import { OrganizationEntity, OrgStreamEntity } from '../entities';

export interface StreamHead {
  readonly orgId: string;
  readonly version: number;
  readonly epoch: number;
}

export class OrgStreamsRepository {
  async head(m: EntityManager, orgId: string): Promise<StreamHead> {
    const row = await m.findOne(OrgStreamEntity, { where: { orgId } });
    if (!row) throw new OrgNotFoundError(orgId);
    return { orgId: row.orgId, version: row.version, epoch: row.epoch };
  }

  /** Registers an organization (idempotent). Returns true when it was new; a deleted org is never brought back. */
  async ensureOrg(m: EntityManager, orgId: string, name = orgId): Promise<boolean> {
    const inserted = await m.query<{ id: string }[]>(
      `INSERT INTO organizations (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id`,
      [orgId, name],
    );
    const [org] = await m.query<{ deleted_at: Date | null }[]>(
      `SELECT deleted_at FROM organizations WHERE id = $1 FOR SHARE`,
      [orgId],
    );
    if (org.deleted_at) throw new OrgDeletedError(orgId, org.deleted_at.toISOString());
    await m.query(`INSERT INTO org_streams (org_id) VALUES ($1) ON CONFLICT (org_id) DO NOTHING`, [orgId]);
    return inserted.length > 0;
  }

  async exists(m: EntityManager, orgId: string): Promise<boolean> {
    return (await m.count(OrganizationEntity, { where: { id: orgId } })) > 0;
  }
}

export const orgStreams = new OrgStreamsRepository();
