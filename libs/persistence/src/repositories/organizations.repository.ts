import { randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import {
  EVENT_SCHEMA_VERSION,
  EventEnvelope,
  OrganizationDeleted,
  OrgDeletedError,
  OrgNotFoundError,
} from '@keystream/credentials';
import { REVOCATION_CHANNEL, RevocationNotice } from './revocations.repository';
import { eventRows } from './event-rows.repository';

type Queryable = Pick<EntityManager, 'query'>;

export interface OrgView {
  readonly orgId: string;
  readonly status: 'active' | 'deleted';
  readonly createdAt: string;
  readonly deletedAt?: string;
}

export interface OrgDeletion {
  readonly orgId: string;
  readonly deletedAt: string;
  readonly deletedBy: string;
  /** Data keys destroyed (every credential's, and the org's fingerprint key). */
  readonly shreddedKeys: number;
  /** The org's last event version: every event up to it is now ciphertext without a key. */
  readonly lastVersion: number;
  /** The org's `OrganizationDeleted` event (version lastVersion + 1): all that is left of its stream in Postgres. */
  readonly tombstone: EventEnvelope<OrganizationDeleted>;
}

/**
 * Distributed mode: puts the tombstone in the outbox in the deletion's transaction (writeOutbox, outbox.repository.ts).
 */
export type TombstonePublisher = (
  m: EntityManager,
  events: readonly EventEnvelope<OrganizationDeleted>[],
) => Promise<void>;

/** The session setting the `events` trigger checks before it lets a deleted org's rows go (migration 1764300000060). */
export const PURGE_SETTING = 'keystream.purge_org';

export type OrgAuditType = 'OrganizationCreated' | 'OrganizationDeleted' | 'MemberRevoked' | 'MemberRestored';

const TS = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const VIEW = `id AS "orgId", CASE WHEN deleted_at IS NULL THEN 'active' ELSE 'deleted' END AS status, ${TS('created_at')} AS "createdAt", ${TS('deleted_at')} AS "deletedAt"`;

/**
 * Read models and caches of an org that hold its ciphertext, fingerprints, or its members' ids: emptied on deletion.
 */
const ORG_TABLES = [
  'credential_state',
  'key_set_credentials',
  'key_set_credentials_shadow',
  'key_sets_shadow',
  'idempotency_keys',
  'devices',
  'revocations',
  'outbox',
];

function view(r: OrgView & { deletedAt: string | null }): OrgView {
  return {
    orgId: r.orgId,
    status: r.status,
    createdAt: r.createdAt,
    ...(r.deletedAt ? { deletedAt: r.deletedAt } : {}),
  };
}

/** The organization lifecycle (operators: `keystream orgs`, `/v1/orgs`; JIT provisioning) and its audit trail. */
export class OrganizationsRepository {
  /** Creates the org unless it exists (idempotent); a deleted org stays deleted. */
  async create(
    m: EntityManager,
    orgId: string,
    actor: string,
    via: string,
  ): Promise<{ org: OrgView; created: boolean }> {
    const inserted: unknown[] = await m.query(
      `INSERT INTO organizations (id, name) VALUES ($1, $1) ON CONFLICT (id) DO NOTHING RETURNING id`,
      [orgId],
    );
    const org = await this.lockLive(m, orgId, 'FOR SHARE');
    await m.query(`INSERT INTO org_streams (org_id) VALUES ($1) ON CONFLICT (org_id) DO NOTHING`, [orgId]);
    if (inserted.length > 0) await this.audit(m, orgId, 'OrganizationCreated', actor, undefined, { via });
    return { org, created: inserted.length > 0 };
  }

  async get(q: Queryable, orgId: string): Promise<OrgView | undefined> {
    const rows: (OrgView & { deletedAt: string | null })[] = await q.query(
      `SELECT ${VIEW} FROM organizations WHERE id = $1`,
      [orgId],
    );
    return rows[0] && view(rows[0]);
  }

  /** Live orgs in id order, a page at a time (`after`: the last id of the previous page). */
  async list(q: Queryable, after: string | undefined, limit: number): Promise<OrgView[]> {
    const rows: (OrgView & { deletedAt: string | null })[] = await q.query(
      `SELECT ${VIEW} FROM organizations WHERE deleted_at IS NULL AND ($1::text IS NULL OR id > $1) ORDER BY id LIMIT $2`,
      [after ?? null, limit],
    );
    return rows.map(view);
  }

  /**
   * Offboarding, in ONE transaction: every data key of the org (each credential's and the org's fingerprint key) is
   * deleted, so the ciphertext already on the Kafka topic can never be opened again; the read models holding its
   * ciphertext, fingerprints and members go; the org's event rows are purged and an `OrganizationDeleted` event
   * (no secret material) is appended at head + 1 — the stream's tombstone, also published (`publish`: the outbox,
   * distributed mode) so it is the org's last record on the topic; the org row stays with an audit entry; every
   * gateway hears of it (NOTIFY on commit) and ends the org's sessions. The head row goes last: a write already
   * deciding holds it, so this waits for that write, and any later write finds no head and is refused.
   */
  async delete(m: EntityManager, orgId: string, actor: string, publish?: TombstonePublisher): Promise<OrgDeletion> {
    // Locks in the projector's order (projection row, then org row): a projector batch holding the org finishes
    // first; a later one sees the org deleted and skips it.
    await m.query(`SELECT 1 FROM key_sets WHERE org_id = $1 FOR UPDATE`, [orgId]);
    await this.lockLive(m, orgId, 'FOR UPDATE');
    const heads: { version: number }[] = await m.query(`SELECT version FROM org_streams WHERE org_id = $1 FOR UPDATE`, [
      orgId,
    ]);
    // (A CTE: TypeORM answers a bare DELETE/UPDATE … RETURNING with [rows, count].)
    const [{ n: shredded }]: { n: number }[] = await m.query(
      `WITH d AS (DELETE FROM data_keys WHERE org_id = $1 RETURNING 1) SELECT count(*)::int AS n FROM d`,
      [orgId],
    );
    for (const t of ORG_TABLES) await m.query(`DELETE FROM ${t} WHERE org_id = $1`, [orgId]);
    await m.query(`DELETE FROM org_streams WHERE org_id = $1`, [orgId]);
    const [row]: { deletedAt: string }[] = await m.query(
      `WITH u AS (UPDATE organizations SET deleted_at = clock_timestamp(), deleted_by = $2 WHERE id = $1 RETURNING deleted_at) SELECT ${TS('deleted_at')} AS "deletedAt" FROM u`,
      [orgId, actor],
    );
    const lastVersion = heads[0]?.version ?? 0;
    const tombstone: EventEnvelope<OrganizationDeleted> = {
      eventId: randomUUID(),
      type: 'OrganizationDeleted',
      schemaVersion: EVENT_SCHEMA_VERSION,
      orgId,
      version: lastVersion + 1,
      occurredAt: new Date(row.deletedAt).toISOString(),
      actor: { userId: actor },
      commandId: `org-delete-${randomUUID()}`,
      data: { deletedBy: actor, shreddedKeys: shredded, lastVersion },
    };
    // The append-only trigger lets exactly these rows go: this org's, now marked deleted, while the setting names it.
    await m.query(`SELECT set_config($1, $2, true)`, [PURGE_SETTING, orgId]);
    await m.query(`DELETE FROM events WHERE org_id = $1`, [orgId]);
    await m.query(`SELECT set_config($1, '', true)`, [PURGE_SETTING]);
    await eventRows.append(m, [tombstone]);
    await publish?.(m, [tombstone]);
    const deletion: OrgDeletion = {
      orgId,
      deletedAt: row.deletedAt,
      deletedBy: actor,
      shreddedKeys: shredded,
      lastVersion,
      tombstone,
    };
    await this.audit(m, orgId, 'OrganizationDeleted', actor, undefined, {
      shreddedKeys: deletion.shreddedKeys,
      lastVersion: deletion.lastVersion,
    });
    const notice: RevocationNotice = { kind: 'org_deleted', orgId, revokedAt: deletion.deletedAt };
    await m.query('SELECT pg_notify($1, $2)', [REVOCATION_CHANNEL, JSON.stringify(notice)]);
    return deletion;
  }

  /** Orgs deleted after a moment: what a gateway whose LISTEN connection dropped may have missed. */
  async deletedSince(q: Queryable, after: Date): Promise<RevocationNotice[]> {
    const rows: { id: string; deleted_at: Date }[] = await q.query(
      `SELECT id, deleted_at FROM organizations WHERE deleted_at > $1 ORDER BY deleted_at`,
      [after],
    );
    return rows.map((r) => ({ kind: 'org_deleted', orgId: r.id, revokedAt: r.deleted_at.toISOString() }));
  }

  /** Deleted orgs (tombstones): replays and verification leave them out, their logs can no longer be opened. */
  async deletedIds(q: Queryable): Promise<Set<string>> {
    const rows: { id: string }[] = await q.query(`SELECT id FROM organizations WHERE deleted_at IS NOT NULL`);
    return new Set(rows.map((r) => r.id));
  }

  async audit(
    q: Queryable,
    orgId: string,
    type: OrgAuditType,
    actor: string,
    subject?: string,
    data: object = {},
  ): Promise<void> {
    await q.query(`INSERT INTO org_audit (org_id, type, actor, subject, data) VALUES ($1, $2, $3, $4, $5)`, [
      orgId,
      type,
      actor,
      subject ?? null,
      JSON.stringify(data),
    ]);
  }

  /** The org, locked, when it exists and is not deleted; else OrgNotFoundError / OrgDeletedError. */
  private async lockLive(m: EntityManager, orgId: string, lock: 'FOR SHARE' | 'FOR UPDATE'): Promise<OrgView> {
    const rows: (OrgView & { deletedAt: string | null })[] = await m.query(
      `SELECT ${VIEW} FROM organizations WHERE id = $1 ${lock}`,
      [orgId],
    );
    if (rows.length === 0) throw new OrgNotFoundError(orgId);
    if (rows[0].deletedAt) throw new OrgDeletedError(orgId, rows[0].deletedAt);
    return view(rows[0]);
  }
}

export const organizations = new OrganizationsRepository();
