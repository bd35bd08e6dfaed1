import { io, Socket } from 'socket.io-client';
import {
  AgentKeySet,
  agentKeySetHash,
  applyAgentChange,
  ChangesMessage,
  EVENTS,
  SnapshotMessage,
} from '@keystream/agent-protocol';

export interface ProbeOptions {
  /** Send keys.ack after applying (default true). */
  readonly ack?: boolean;
  /** The key set the agent already holds (a restarted agent resuming). */
  readonly keySet?: AgentKeySet;
}

export interface ProbeMessage {
  readonly event: string;
  readonly body: unknown;
}

/**
 * A raw socket.io-client agent for protocol-level assertions: records everything it receives, in order,
 * and keeps a key set applied strictly in order (it throws on a gap, so a test sees it).
 */
export class AgentProbe {
  readonly messages: ProbeMessage[] = [];
  keySet?: AgentKeySet;
  readonly socket: Socket;

  constructor(baseUrl: string, auth: Record<string, unknown>, opts: ProbeOptions = {}) {
    this.keySet = opts.keySet;
    this.socket = io(`${baseUrl}/agents`, { auth, transports: ['websocket'], forceNew: true, reconnection: false });
    this.socket.onAny((event: string, body: unknown) => {
      this.messages.push({ event, body });
      if (event === EVENTS.snapshot) this.onSnapshot(body as SnapshotMessage);
      if (event === EVENTS.changes) this.onChanges(body as ChangesMessage);
      if (opts.ack !== false && this.keySet && (event === EVENTS.snapshot || event === EVENTS.changes)) {
        this.socket.emit(EVENTS.ack, { epoch: this.keySet.epoch, version: this.keySet.version });
      }
    });
  }

  static async connect(baseUrl: string, auth: Record<string, unknown>, opts: ProbeOptions = {}): Promise<AgentProbe> {
    const p = new AgentProbe(baseUrl, auth, opts);
    await new Promise<void>((resolve, reject) => {
      p.socket.once('connect', () => resolve());
      p.socket.once('connect_error', (e) => reject(e));
    });
    return p;
  }

  /** Resolves with the connect_error's data (code, message). */
  static async refused(baseUrl: string, auth: Record<string, unknown>): Promise<{ code: string; message: string }> {
    const s = io(`${baseUrl}/agents`, { auth, transports: ['websocket'], forceNew: true, reconnection: false });
    try {
      return await new Promise((resolve, reject) => {
        s.once('connect', () => reject(new Error('connected, but a refusal was expected')));
        s.once('connect_error', (e: Error & { data?: { code: string; message: string } }) =>
          resolve(e.data ?? { code: e.message, message: e.message }),
        );
      });
    } finally {
      s.close();
    }
  }

  get hash(): string | undefined {
    return this.keySet && agentKeySetHash(this.keySet.credentials.values());
  }

  of(event: string): unknown[] {
    return this.messages.filter((m) => m.event === event).map((m) => m.body);
  }

  async until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline)
        throw new Error(`timed out; received: ${this.messages.map((m) => m.event).join(', ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.socket.close();
  }

  private onSnapshot(m: SnapshotMessage): void {
    this.keySet = { epoch: m.epoch, version: m.version, credentials: new Map(m.credentials.map((c) => [c.id, c])) };
  }

  private onChanges(m: ChangesMessage): void {
    if (!this.keySet) return;
    for (const c of m.changes) {
      if (c.version <= this.keySet.version) continue;
      if (c.version !== this.keySet.version + 1) throw new Error(`gap: at ${this.keySet.version}, got ${c.version}`);
      this.keySet = applyAgentChange(this.keySet, c);
    }
  }
}
