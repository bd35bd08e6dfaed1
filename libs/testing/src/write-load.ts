import { randomUUID } from 'node:crypto';

/** One org the load writes to: a credential it keeps renaming (a section holds at most 50 credentials). */
export interface LoadTarget {
  readonly orgId: string;
  readonly admin: string;
  readonly credentialId: string;
}

/** A write the API acknowledged (2xx): the label it set and the version it answered. */
export interface AckedWrite {
  readonly orgId: string;
  readonly label: string;
  readonly version: number;
}

const RETRYABLE = new Set([502, 503, 504]);

/**
 * A bounded write load as a careful client makes it: each write is a label edit with its own Idempotency-Key,
 * retried with the same key on 503 or a network error until it is answered (or `giveUpMs` passes). Every label is
 * unique, so the log shows each acknowledged write once (not lost) and no write twice (no duplicate).
 */
export class WriteLoad {
  readonly acked: AckedWrite[] = [];
  /** Writes given up on: never acknowledged, so they may or may not be in the log (at most once). */
  readonly unanswered: { orgId: string; label: string }[] = [];
  /** Every HTTP status seen (retries included); `network:<cause>` counts requests that got no response. */
  readonly statuses: Record<string, number> = {};
  private running = false;
  private writers: Promise<void>[] = [];

  constructor(
    private readonly baseUrl: () => string,
    private readonly targets: readonly LoadTarget[],
    private readonly opts: { giveUpMs?: number; pauseMs?: number } = {},
  ) {}

  start(): void {
    this.running = true;
    this.writers = this.targets.map((t, i) => this.writer(t, i));
  }

  /** Stops issuing new writes; resolves when every write in flight is answered or given up. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.writers);
  }

  private async writer(t: LoadTarget, w: number): Promise<void> {
    for (let n = 0; this.running; n++) {
      const label = `w${w}-${n}-${randomUUID().slice(0, 8)}`;
      const key = randomUUID();
      const deadline = Date.now() + (this.opts.giveUpMs ?? 30_000);
      for (;;) {
        const status = await this.attempt(t, label, key);
        this.statuses[String(status.code)] = (this.statuses[String(status.code)] ?? 0) + 1;
        if (status.version !== undefined) {
          this.acked.push({ orgId: t.orgId, label, version: status.version });
          break;
        }
        if (typeof status.code === 'number' && !RETRYABLE.has(status.code)) break; // counted; the spec asserts on statuses
        if (Date.now() > deadline) {
          this.unanswered.push({ orgId: t.orgId, label });
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      if (this.opts.pauseMs) await new Promise((r) => setTimeout(r, this.opts.pauseMs));
    }
  }

  private async attempt(
    t: LoadTarget,
    label: string,
    key: string,
  ): Promise<{ code: number | `network:${string}`; version?: number }> {
    try {
      const res = await fetch(`${this.baseUrl()}/v1/orgs/${t.orgId}/credentials/${t.credentialId}`, {
        method: 'PATCH',
        headers: { Authorization: `Bearer ${t.admin}`, 'Content-Type': 'application/json', 'Idempotency-Key': key },
        body: JSON.stringify({ label }),
        signal: AbortSignal.timeout(20_000),
      });
      const body = (await res.json().catch(() => ({}))) as { version?: number };
      return res.ok ? { code: res.status, version: body.version } : { code: res.status };
    } catch (e) {
      // Named by its cause (a timeout, a reset), so a spec that refuses them says which.
      const cause = (e as Error & { cause?: { code?: string; name?: string } }).cause;
      return { code: `network:${cause?.code ?? cause?.name ?? (e as Error).name}` };
    }
  }
}
