import { ResyncResult } from '@keystream/agent-protocol';
import { Position } from './socket-sequencer';

/** What a sync starts from: a claimed position (handshake, keys.resync), or wherever the socket is now. */
export interface SyncRequest {
  readonly from: Position | undefined | 'current';
  readonly hash?: string;
  /** From keys.resync: the claim is checked against the socket's position. */
  readonly resync?: boolean;
  /** A catch-up only fills a gap: any other queued sync does that too, so it never replaces one. */
  readonly catchUp?: boolean;
}

type Waiter = (r: ResyncResult | Error) => void;

/** After a failed sync (the database away), the next one waits this long: no tight retry loop per socket. */
export const RETRY_AFTER_FAILURE_MS = 1000;

/**
 * One sync at a time per socket, and at most one waiting: requests made while one runs are coalesced
 * into the next run (the latest claim wins), whose answer every waiting caller gets. A socket sending
 * keys.resync in a loop thus costs one read at a time, never a queue of them.
 */
export class SyncQueue {
  private running = false;
  private next?: { req: SyncRequest; waiters: Waiter[] };

  constructor(
    private readonly run: (req: SyncRequest) => Promise<ResyncResult>,
    private readonly retryAfterMs = RETRY_AFTER_FAILURE_MS,
  ) {}

  request(req: SyncRequest): Promise<ResyncResult | Error> {
    return new Promise((resolve) => {
      if (!this.next) this.next = { req, waiters: [resolve] };
      else {
        if (!req.catchUp) this.next.req = req;
        this.next.waiters.push(resolve);
      }
      if (!this.running) void this.pump();
    });
  }

  /** A sync is waiting to run (one running is visible on the sequencer). */
  get queued(): boolean {
    return this.next !== undefined;
  }

  private async pump(): Promise<void> {
    this.running = true;
    while (this.next) {
      const { req, waiters } = this.next;
      this.next = undefined;
      let result: ResyncResult | Error;
      try {
        result = await this.run(req);
      } catch (e) {
        result = e instanceof Error ? e : new Error(String(e));
      }
      for (const w of waiters) w(result);
      if (result instanceof Error && this.next) await new Promise((r) => setTimeout(r, this.retryAfterMs));
    }
    this.running = false;
  }
}
