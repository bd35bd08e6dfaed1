import { EntityManager } from 'typeorm';
import type { Queryable } from './queryable';

/** Every gateway process LISTENs here; the payload is a JSON `RevocationNotice`. */
export const REVOCATION_CHANNEL = 'keystream_revocations';

export interface RevocationNotice {
  /** `revoked` when absent; `restored`: a revocation was lifted; `org_deleted`: the whole org (no userId). */
  readonly kind?: 'revoked' | 'restored' | 'org_deleted';
  readonly orgId: string;
  readonly userId?: string;
  /** ISO 8601, the revocation's (or deletion's) moment (tokens issued at or before it are refused). */
  readonly revokedAt: string;
}

/** What a request's principal may do, as one lookup: its revocation, and whether its org exists and is live. */
export interface AccessState {
  readonly revokedAt?: Date;
  readonly org: 'active' | 'deleted' | 'unknown';
}

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

  /**
   * Lifts a member's revocation (their tokens work again, those issued before it included, until they expire) and
   * tells every gateway, so a handshake is not refused from memory of the revocation. None → undefined.
   */
  async restore(m: EntityManager, orgId: string, userId: string): Promise<RevocationNotice | undefined> {
    const rows: { revokedAt: string }[] = await m.query(
      `WITH d AS (DELETE FROM revocations WHERE org_id = $1 AND user_id = $2 RETURNING revoked_at)
       SELECT to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "revokedAt" FROM d`,
      [orgId, userId],
    );
    if (rows.length === 0) return undefined;
    const notice: RevocationNotice = { kind: 'restored', orgId, userId, revokedAt: rows[0].revokedAt };
    await m.query('SELECT pg_notify($1, $2)', [REVOCATION_CHANNEL, JSON.stringify(notice)]);
    return notice;
  }

  /** The principal's revocation and its org's state, in one round trip (each handshake). */
  async access(q: Queryable, orgId: string, userId: string): Promise<AccessState> {
    const rows: { revoked_at: Date | null; known: boolean; deleted: boolean }[] = await q.query(
      `SELECT (SELECT revoked_at FROM revocations WHERE org_id = $1 AND user_id = $2) AS revoked_at,
              o.id IS NOT NULL AS known, o.deleted_at IS NOT NULL AS deleted
       FROM (SELECT 1) AS one LEFT JOIN organizations o ON o.id = $1`,
      [orgId, userId],
    );
    const r = rows[0];
    return {
      ...(r.revoked_at ? { revokedAt: r.revoked_at } : {}),
      org: r.deleted ? 'deleted' : r.known ? 'active' : 'unknown',
    };
  }

  /** `access` for many principals in one statement (the handshakes of a reconnect storm); answers in their order. */
  async accessMany(q: Queryable, who: readonly { orgId: string; userId: string }[]): Promise<AccessState[]> {
    const rows: { i: number; revoked_at: Date | null; known: boolean; deleted: boolean }[] = await q.query(
      `SELECT x.i::int AS i, r.revoked_at, o.id IS NOT NULL AS known, o.deleted_at IS NOT NULL AS deleted
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS x(org_id, user_id, i)
       LEFT JOIN organizations o ON o.id = x.org_id LEFT JOIN revocations r ON r.org_id = x.org_id AND r.user_id = x.user_id`,
      [who.map((p) => p.orgId), who.map((p) => p.userId)],
    );
    const out: AccessState[] = who.map(() => ({ org: 'unknown' }));
    for (const r of rows)
      out[r.i - 1] = {
        ...(r.revoked_at ? { revokedAt: r.revoked_at } : {}),
        org: r.deleted ? 'deleted' : r.known ? 'active' : 'unknown',
      };
    return out;
  }

  /** One primary-key lookup: cheap enough for every request and every handshake. */
  async revokedAt(q: Queryable, orgId: string, userId: string): Promise<Date | undefined> {
    const rows: { revoked_at: Date }[] = await q.query(
      'SELECT revoked_at FROM revocations WHERE org_id = $1 AND user_id = $2',
      [orgId, userId],
    );
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

/**
 * Revocation lookups for concurrent requests, coalesced: lookups asked for in the same turn of the event loop
 * go to Postgres as one statement (a query in flight never takes late-comers: it may have read already), so
 * under load the per-request check costs a fraction of a round trip. Every lookup still starts after its
 * request arrived and reads committed rows, exactly as a lookup of its own would: nothing is cached.
 */
interface Pending {
  orgId: string;
  userId: string;
  waiters: ((a: AccessState) => void)[];
  fail: ((e: unknown) => void)[];
}

export class CoalescedRevocationLookup {
  private pending?: { keys: Map<string, Pending> };
  statements = 0;

  constructor(
    private readonly q: Queryable,
    private readonly maxPerStatement = 500,
  ) {}

  revokedAt(orgId: string, userId: string): Promise<Date | undefined> {
    return this.access(orgId, userId).then((a) => a.revokedAt);
  }

  /** The revocation and the org's state (one statement for all lookups of this turn). */
  access(orgId: string, userId: string): Promise<AccessState> {
    return new Promise((resolve, reject) => {
      if (!this.pending || this.pending.keys.size >= this.maxPerStatement) {
        const batch = (this.pending = { keys: new Map<string, Pending>() });
        setImmediate(() => {
          if (this.pending === batch) this.pending = undefined;
          void this.flush(batch.keys);
        });
      }
      const k = `${orgId}\u0000${userId}`;
      let entry = this.pending.keys.get(k);
      if (!entry) this.pending.keys.set(k, (entry = { orgId, userId, waiters: [], fail: [] }));
      entry.waiters.push(resolve);
      entry.fail.push(reject);
    });
  }

  private async flush(keys: Map<string, Pending>): Promise<void> {
    const entries = [...keys.values()];
    try {
      this.statements += 1;
      // Both primary-key lookups in the one statement: the org's state costs no extra round trip.
      const rows: { org_id: string; user_id: string; revoked_at: Date | null; known: boolean; deleted: boolean }[] =
        await this.q.query(
          `SELECT k.org_id, k.user_id, r.revoked_at, o.id IS NOT NULL AS known, o.deleted_at IS NOT NULL AS deleted
         FROM unnest($1::text[], $2::text[]) AS k(org_id, user_id)
         LEFT JOIN revocations r ON r.org_id = k.org_id AND r.user_id = k.user_id
         LEFT JOIN organizations o ON o.id = k.org_id`,
          [entries.map((e) => e.orgId), entries.map((e) => e.userId)],
        );
      const found = new Map<string, AccessState>(
        rows.map((r) => [
          `${r.org_id}\u0000${r.user_id}`,
          {
            ...(r.revoked_at ? { revokedAt: r.revoked_at } : {}),
            org: r.deleted ? 'deleted' : r.known ? 'active' : 'unknown',
          },
        ]),
      );
      for (const [k, e] of keys) for (const w of e.waiters) w(found.get(k) ?? { org: 'unknown' });
    } catch (err) {
      for (const e of entries) for (const f of e.fail) f(err);
    }
  }
}
