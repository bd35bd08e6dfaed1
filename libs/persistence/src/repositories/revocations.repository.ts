import { EntityManager } from 'typeorm';

/** Every gateway process LISTENs here; the payload is a JSON `RevocationNotice`. */
export const REVOCATION_CHANNEL = 'keystream_revocations';

export interface RevocationNotice {
  readonly orgId: string;
  readonly userId: string;
  /** ISO 8601, the revocation's moment (tokens issued at or before it are refused). */
  readonly revokedAt: string;
}

type Queryable = Pick<EntityManager, 'query'>;

export class RevocationsRepository {
  /**
   * Records (or moves forward) a member's revocation and notifies every gateway, in the caller's
   * transaction: the NOTIFY is delivered only if the revocation commits.
   */
  async revoke(m: EntityManager, orgId: string, userId: string, revokedBy: string): Promise<RevocationNotice> {
    const [row]: { revokedAt: string }[] = await m.query(
      `INSERT INTO revocations (org_id, user_id, revoked_at, revoked_by) VALUES ($1, $2, clock_timestamp(), $3)
       ON CONFLICT (org_id, user_id) DO UPDATE SET revoked_at = EXCLUDED.revoked_at, revoked_by = EXCLUDED.revoked_by
       RETURNING to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "revokedAt"`,
      [orgId, userId, revokedBy],
    );
    const notice: RevocationNotice = { orgId, userId, revokedAt: row.revokedAt };
    await m.query('SELECT pg_notify($1, $2)', [REVOCATION_CHANNEL, JSON.stringify(notice)]);
    return notice;
  }

  /** One primary-key lookup: cheap enough for every request and every handshake. */
  async revokedAt(q: Queryable, orgId: string, userId: string): Promise<Date | undefined> {
    const rows: { revoked_at: Date }[] = await q.query('SELECT revoked_at FROM revocations WHERE org_id = $1 AND user_id = $2', [orgId, userId]);
    return rows[0]?.revoked_at;
  }

  /** Revocations after a moment: what a gateway whose LISTEN connection dropped may have missed. */
  async since(q: Queryable, after: Date): Promise<RevocationNotice[]> {
    const rows: { org_id: string; user_id: string; revoked_at: Date }[] = await q.query(
      'SELECT org_id, user_id, revoked_at FROM revocations WHERE revoked_at > $1 ORDER BY revoked_at',
      [after],
    );
    return rows.map((r) => ({ orgId: r.org_id, userId: r.user_id, revokedAt: r.revoked_at.toISOString() }));
  }
}

export const revocations = new RevocationsRepository();
