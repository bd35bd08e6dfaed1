import { AuthError, isRevoked, Principal, REVOCATION_CLOCK_SKEW_SECONDS } from '@keystream/auth';
import {
  AccessState,
  DataSource,
  listen,
  Listener,
  organizations,
  REVOCATION_CHANNEL,
  RevocationNotice,
  revocations,
} from '@keystream/persistence';
import { batched } from './batched';

/** How long a heard revocation is remembered in memory: far longer than any handshake takes. */
const RECENT_MS = 60_000;
const RETRY_MS = 1_000;

/**
 * Revocations as one gateway process sees them: the database (checked on every handshake), and a
 * LISTEN on `keystream_revocations` that ends live sessions the moment a revocation commits, in every
 * process. Revocations heard are also kept in memory for a minute: a handshake that read the table just
 * before the commit checks this memory synchronously before it joins, so it cannot slip between the
 * table read and the notification. When the LISTEN connection drops it is re-opened, and revocations
 * committed meanwhile are read back from the table and applied.
 */
export class RevocationWatcher {
  private listener?: Listener;
  private stopped = true;
  private lostAt?: Date;
  private retry?: NodeJS.Timeout;
  private readonly recent = new Map<string, { at: Date; heard: number }>();
  /** Orgs deleted while this process runs: never live again, so remembered for good (a few ids). */
  private readonly deletedOrgs = new Set<string>();
  private onRevoked: (orgId: string, userId: string | undefined) => void = () => undefined;

  /** One query for every handshake that arrived during the previous one (a reconnect storm), not one per socket. */
  private readonly access = batched<Principal, AccessState>(async (ps) => {
    return revocations.accessMany(this.ds, ps);
  });

  constructor(
    private readonly ds: DataSource,
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {}

  /**
   * Throws AuthError: `unauthorized` 'access revoked' (tokens revoked), `forbidden` 'organization deleted' or
   * 'unknown organization'. Any other error is the database's (away, or the pool's wait ran out).
   */
  async check(principal: Principal): Promise<void> {
    const access = await this.access.load(principal);
    if (access.org === 'unknown') throw new AuthError('forbidden', 'unknown organization');
    if (access.org === 'deleted') throw new AuthError('forbidden', 'organization deleted');
    if (isRevoked(principal, access.revokedAt)) throw new AuthError('unauthorized', 'access revoked');
  }

  /** Synchronous: a revocation (or the org's deletion) this process heard of applies to the principal. */
  recentlyRevoked(principal: Principal): boolean {
    return (
      this.deletedOrgs.has(principal.orgId) ||
      isRevoked(principal, this.recent.get(key(principal.orgId, principal.userId))?.at)
    );
  }

  /**
   * `onRevoked(orgId, userId)` for a member's revocation, `onRevoked(orgId, undefined)` when the whole org was deleted.
   */
  async start(onRevoked: (orgId: string, userId: string | undefined) => void): Promise<void> {
    this.onRevoked = onRevoked;
    this.stopped = false;
    this.lostAt = new Date(); // until the LISTEN is up, anything committed must be read back
    await this.listen().catch((e) => {
      this.onError(e);
      this.scheduleRetry();
    });
  }

  /** Destroys the LISTEN connection rather than returning it to the pool still listening. */
  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const listener = this.listener;
    this.listener = undefined;
    listener?.close();
  }

  private async listen(): Promise<void> {
    // A loss before the LISTEN is up fails this attempt instead (listen() rejects; the caller retries).
    let l: Listener | undefined = undefined;
    l = await listen(this.ds, REVOCATION_CHANNEL, {
      notify: (payload) => this.heard(payload),
      lost: (e) => l && this.lost(l, e),
    });
    if (this.stopped) return l.close();
    this.listener = l;
    await this.catchUp();
  }

  /** Applies revocations committed while nothing listened; retried until it succeeds (or the watcher stops). */
  private async catchUp(): Promise<void> {
    if (!this.lostAt || this.stopped) return;
    // The table's clock may run ahead of ours: read back a skew allowance's worth before the loss.
    const since = new Date(this.lostAt.getTime() - REVOCATION_CLOCK_SKEW_SECONDS * 1000);
    try {
      const missed = [
        ...(await revocations.since(this.ds, since)),
        ...(await organizations.deletedSince(this.ds, since)),
      ];
      this.lostAt = undefined;
      for (const n of missed) this.apply(n);
    } catch (e) {
      this.onError(e);
      setTimeout(() => void this.catchUp(), RETRY_MS).unref();
    }
  }

  /** The listener has closed its connection already. */
  private lost(listener: Listener, e?: Error): void {
    if (this.listener !== listener) return;
    this.listener = undefined;
    this.lostAt ??= new Date();
    if (e) this.onError(e);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.stopped) return;
      this.listen().catch((e) => {
        this.onError(e);
        this.scheduleRetry();
      });
    }, RETRY_MS);
    this.retry.unref();
  }

  private heard(payload: string | undefined): void {
    const n = parseNotice(payload);
    if (n) this.apply(n);
  }

  private apply(n: RevocationNotice): void {
    if (n.kind === 'org_deleted') {
      this.deletedOrgs.add(n.orgId);
      return this.onRevoked(n.orgId, undefined);
    }
    const userId = n.userId!;
    if (n.kind === 'restored') {
      this.recent.delete(key(n.orgId, userId));
      return;
    }
    const now = Date.now();
    for (const [k, v] of this.recent) {
      if (now - v.heard <= RECENT_MS) break; // insertion order: the rest are newer
      this.recent.delete(k);
    }
    const k = key(n.orgId, userId);
    this.recent.delete(k);
    this.recent.set(k, { at: new Date(n.revokedAt), heard: now });
    this.onRevoked(n.orgId, userId);
  }
}

const key = (orgId: string, userId: string) => `${orgId}\0${userId}`;

function parseNotice(payload: string | undefined): RevocationNotice | undefined {
  try {
    const v = JSON.parse(payload ?? '') as Partial<RevocationNotice>;
    const kind = v.kind ?? 'revoked';
    if (kind !== 'revoked' && kind !== 'restored' && kind !== 'org_deleted') return undefined;
    if (typeof v.orgId !== 'string' || typeof v.revokedAt !== 'string' || Number.isNaN(Date.parse(v.revokedAt)))
      return undefined;
    if (kind === 'org_deleted') return { kind, orgId: v.orgId, revokedAt: v.revokedAt };
    if (typeof v.userId !== 'string') return undefined;
    return { kind, orgId: v.orgId, userId: v.userId, revokedAt: v.revokedAt };
  } catch {
    return undefined;
  }
}
