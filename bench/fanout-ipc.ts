/**
 * IPC between the agents fan-out benchmark (parent: agents, HTTP client, report) and its server child
 * (the real Keystream app plus a raw socket.io baseline in the same process). Both sides stamp times with
 * `performance.timeOrigin + performance.now()` (ms, sub-ms resolution); the parent also measures the clock
 * offset over IPC and corrects the child's stamps with it.
 */

export interface MemorySample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

export interface CommitStamp {
  readonly orgId: string;
  readonly toVersion: number;
  /** Child clock: when the command service published the committed save to the change feed. */
  readonly t: number;
}

export interface RawEmit {
  readonly room: string;
  readonly seq: number;
}

export interface ServerStats {
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
  /** Event-loop delay since the previous stats call (ms). */
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  readonly ksSockets: number;
  readonly rawSockets: number;
  /** Statements sent to Postgres by this process so far (pg Client#query calls). */
  readonly pgQueries: number;
}

export type Request =
  | { readonly cmd: 'clock' }
  | { readonly cmd: 'ensureOrgs'; readonly orgIds: readonly string[] }
  | { readonly cmd: 'memory' }
  | { readonly cmd: 'stats' }
  | { readonly cmd: 'commits' }
  | { readonly cmd: 'rawEmit'; readonly emit: RawEmit }
  | { readonly cmd: 'rawBurst'; readonly emits: readonly RawEmit[] }
  /** Gateway only: publishes `count` synthetic saves (round-robin over orgIds, next versions) into the change feed. */
  | { readonly cmd: 'injectBurst'; readonly orgIds: readonly string[]; readonly count: number }
  /** Diagnostics: v8.writeHeapSnapshot(path) after a forced GC. */
  | { readonly cmd: 'heapSnapshot'; readonly path: string }
  | { readonly cmd: 'close' };

export interface ReadyMessage {
  readonly type: 'ready';
  readonly port: number;
  readonly rawPort: number;
  readonly pid: number;
}

export interface ReplyMessage {
  readonly type: 'reply';
  readonly id: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: string;
}

export type RequestMessage = { readonly type: 'request'; readonly id: number } & { readonly req: Request };

/** The raw baseline's namespace on its own socket.io server. */
export const RAW_NAMESPACE = '/raw';
