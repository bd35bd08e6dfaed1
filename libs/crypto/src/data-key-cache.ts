/**
 * Unwrapped data keys, bounded (LRU) and short-lived: one KMS unwrap per credential, not per message.
 * A shredded credential's key is evicted by the process that shreds it and by every gateway that delivers
 * the removal; the TTL bounds how long any other process can hold one.
 */
export class DataKeyCache {
  private readonly entries = new Map<string, { key: Buffer; until: number }>();

  constructor(
    private readonly max = 10_000,
    private readonly ttlMs = 15 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(orgId: string, credentialId: string): Buffer | undefined {
    const k = cacheKey(orgId, credentialId);
    const e = this.entries.get(k);
    if (!e) return undefined;
    this.entries.delete(k);
    if (e.until <= this.now()) return undefined;
    this.entries.set(k, e); // most recently used last
    return e.key;
  }

  set(orgId: string, credentialId: string, key: Buffer): void {
    const k = cacheKey(orgId, credentialId);
    this.entries.delete(k);
    this.entries.set(k, { key, until: this.now() + this.ttlMs });
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  delete(orgId: string, credentialId: string): void {
    this.entries.delete(cacheKey(orgId, credentialId));
  }

  /** Every key of one org (a deleted org; rare, so a scan is fine). */
  deleteOrg(orgId: string): void {
    const prefix = cacheKey(orgId, '');
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}

function cacheKey(orgId: string, credentialId: string): string {
  return `${orgId}\0${credentialId}`;
}
