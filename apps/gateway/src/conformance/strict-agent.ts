import { io, Socket } from 'socket.io-client';
import { Changes, InSync, Position, Record_, SequenceChecker, Snapshot } from './sequence-checker';

/**
 * A strict agent written from docs/agent-protocol.md alone (socket.io-client and node built-ins; nothing
 * from libs/): handshake with protocol 2 and resume, the checks of SequenceChecker on every message,
 * `keys.ack` after each applied snapshot or changes, reconnection with jitter when the server goes away.
 */
export interface StrictAgentOptions {
  name: string;
  orgId: string;
  token: string;
  /** The gateway to (re)connect to: agents may land on any instance. */
  pickUrl: () => string;
  record?: Record_;
  /** The protocol version of the handshake (default 2). */
  protocol?: 1 | 2;
  /** Wait before reconnecting after the server went away (default 0.1-1 s) and after a failed attempt (0.3-1 s). */
  reconnectDelayMs?: () => number;
  retryDelayMs?: () => number;
  /** Sees every server message as it arrives, before it is checked (benchmarks time deliveries with it). */
  observe?: (event: string, payload: unknown) => void;
}

export class StrictAgent {
  readonly check: SequenceChecker;
  private socket?: Socket;
  private closing = false;
  private timer?: NodeJS.Timeout;
  readonly trace: string[] = [];
  connects = 0;

  constructor(private readonly o: StrictAgentOptions) {
    this.check = new SequenceChecker(o.orgId, o.record, o.protocol ?? 2);
  }

  get violations(): string[] {
    return this.check.violations.map((v) => `${this.o.name}: ${v}`);
  }

  get connected(): boolean {
    return this.socket?.connected === true;
  }

  /** Connected, its session started and no resync outstanding. */
  get settled(): boolean {
    return this.connected && this.check.idle;
  }

  connect(resume = true): void {
    clearTimeout(this.timer);
    this.discard();
    this.closing = false;
    const at = resume && this.check.epoch > 0 ? this.check.position : undefined;
    const auth = {
      token: this.o.token,
      protocol: this.o.protocol ?? 2,
      orgId: this.o.orgId,
      ...(at ? { resume: { epoch: at.epoch, version: at.version }, ...(at.hash ? { hash: at.hash } : {}) } : {}),
    };
    const url = this.o.pickUrl();
    this.note(`connect ${url} ${at ? `resume e${at.epoch}/v${at.version}` : 'fresh'}`);
    this.check.connected(at);
    this.connects += 1;
    const s = io(`${url}/agents`, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
    this.socket = s;
    if (this.o.observe) s.onAny((event: string, payload: unknown) => this.o.observe!(event, payload));
    s.on('keys.snapshot', (m: Snapshot) => this.acked(`snapshot e${m.epoch}/v${m.version}`, this.check.snapshot(m)));
    s.on('keys.changes', (m: Changes) =>
      this.acked(`changes e${m.epoch}/${m.fromVersion}-${m.toVersion}`, this.check.changes(m)),
    );
    s.on('keys.insync', (m: InSync) => {
      this.note(`insync e${m.epoch}/v${m.version}`);
      this.check.inSync(m);
    });
    s.on('session.revoked', (m: unknown) => this.check.fail(`session.revoked ${JSON.stringify(m)}`));
    s.on('session.closed', (m: unknown) =>
      this.check.fail(`session.closed ${JSON.stringify(m)} (this agent never abuses its budgets)`),
    );
    s.on('connect_error', (e: Error & { data?: { code?: string; message?: string; retryAfterMs?: unknown } }) => {
      const code = e.data?.code ?? e.message;
      this.note(`connect_error ${code}`);
      // §1: rate_limited says how many seconds to wait; internal_error and a refused transport are retried.
      // §1: unavailable (the server is busy) gives data.retryAfterMs.
      if (code === 'unavailable' && typeof e.data?.retryAfterMs === 'number')
        return this.later(e.data.retryAfterMs + Math.random() * 500);
      if (code === 'rate_limited')
        return this.later(1000 * (Number(/\d+/.exec(e.data?.message ?? '')?.[0] ?? 2) + Math.random()));
      if (
        code === 'unauthorized' ||
        code === 'forbidden' ||
        code === 'token_expired' ||
        code === 'unsupported_protocol'
      )
        this.check.fail(`connect_error ${code}: ${e.data?.message}`);
      this.later(this.o.retryDelayMs?.() ?? 300 + Math.random() * 700);
    });
    s.on('disconnect', (reason) => {
      this.note(`disconnect ${reason}`);
      if (!this.closing) this.later(this.o.reconnectDelayMs?.() ?? 100 + Math.random() * 900);
    });
  }

  /** The member closes the laptop lid: disconnect now, come back after `pauseMs` and resume (or start afresh). */
  drop(pauseMs: number, fresh = false): void {
    this.close();
    if (fresh) this.check.forget();
    this.timer = setTimeout(() => this.connect(!fresh), pauseMs);
  }

  /** `keys.resync` from the agent's position; resolves with the server's answer (checked against what arrived). */
  async resync(): Promise<unknown> {
    const s = this.socket;
    if (!s?.connected || !this.check.idle) return undefined;
    const at = this.check.resyncSent();
    this.note(`resync e${at.epoch}/v${at.version}`);
    const answer = await s
      .timeout(20_000)
      .emitWithAck('keys.resync', at)
      .catch((e: Error) => ({ timeout: e.message }));
    if (this.socket === s && s.connected) this.check.resyncAnswered(answer);
    return answer;
  }

  close(): void {
    this.closing = true;
    clearTimeout(this.timer);
    this.discard();
  }

  private later(ms: number): void {
    if (this.closing) return;
    this.discard();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(true), ms);
  }

  /** Nothing more is read from a socket once it is given up: its session is over. */
  private discard(): void {
    const s = this.socket;
    this.socket = undefined;
    s?.removeAllListeners();
    s?.close();
  }

  private acked(what: string, at: Position | undefined): void {
    this.note(what);
    const s = this.socket;
    if (!at || !s) return;
    s.emit('keys.ack', at, (r: { ok?: boolean; error?: { code?: string; message?: string } }) => {
      // An ack of an epoch the sequence has since left may be refused (§2); any other refusal is a breach.
      if (r?.ok !== true && this.check.epoch === at.epoch)
        this.check.fail(
          `keys.ack e${at.epoch}/v${at.version} refused: ${JSON.stringify(r)} (recent: ${this.trace.slice(-6).join('; ')})`,
        );
    });
  }

  private note(line: string): void {
    this.trace.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
    if (this.trace.length > 40) this.trace.shift();
  }
}
