import { EventEmitter } from 'node:events';
import { AgentCredential, AgentKeySet, InSyncMessage, ResyncResult } from '@keystream/agent-protocol';
import { AgentConnection } from './agent-connection';
import { AgentError, AgentErrorCode, AgentEvents, AgentLogger, defaultLogger, KeySetSource } from './agent-events';
import { KeySetCache, KeySetCacheOptions } from './key-set-cache';
import {
  Applied,
  ApplierState,
  gapTimedOut,
  hasGap,
  initialState,
  receiveChanges,
  receiveSnapshot,
  resyncRequest,
  Step,
} from './ordered-applier';
import { ResyncScheduler } from './resync-scheduler';

export interface KeystreamAgentOptions {
  /** Server base URL, e.g. http://127.0.0.1:8080; the /agents namespace is appended. */
  readonly url: string;
  /** A function is called on every (re)connect, so it can hand out a fresh token. */
  readonly token: string | (() => string | Promise<string>);
  /** The org the agent expects: sent in the handshake, and a cache of another org is not loaded. */
  readonly orgId?: string;
  readonly cache?: KeySetCacheOptions;
  readonly reconnect?: { readonly minDelayMs?: number; readonly maxDelayMs?: number };
  /** How long a gap may wait for its missing messages before the agent asks for a resync. */
  readonly gapTimeoutMs?: number;
  readonly resyncTimeoutMs?: number;
  readonly logger?: AgentLogger;
}

/** The desktop side of the agent protocol: holds the org's key set and keeps it equal to the server's, in order. */
export class KeystreamAgent extends EventEmitter<AgentEvents> {
  private state: ApplierState = initialState();
  private org?: string;
  private started = false;
  private stopped = false;
  private isReady = false;
  private gapTimer?: NodeJS.Timeout;
  private readonly gapTimeoutMs: number;
  private readonly logger: AgentLogger;
  private readonly cache?: KeySetCache;
  private readonly connection: AgentConnection;
  private readonly resyncs: ResyncScheduler;

  constructor(private readonly options: KeystreamAgentOptions) {
    super();
    this.logger = options.logger ?? defaultLogger;
    this.gapTimeoutMs = options.gapTimeoutMs ?? 2000;
    const minDelayMs = options.reconnect?.minDelayMs ?? 500;
    const maxDelayMs = options.reconnect?.maxDelayMs ?? 30_000;
    this.cache = options.cache && new KeySetCache(options.cache, this.logger);
    this.resyncs = new ResyncScheduler(() => this.resync().then(() => undefined), this.gapTimeoutMs, maxDelayMs);
    const { url, token, orgId } = options;
    this.connection = new AgentConnection(
      { url, token, orgId, minDelayMs, maxDelayMs, resyncTimeoutMs: options.resyncTimeoutMs ?? 10_000 },
      {
        resume: () =>
          this.state.keySet
            ? { resume: { epoch: this.state.keySet.epoch, version: this.state.keySet.version }, hash: this.state.hash }
            : {},
        snapshot: (msg) => {
          this.org = msg.orgId;
          this.handle(receiveSnapshot(this.state, msg));
        },
        changes: (msg) => this.handle(receiveChanges(this.state, msg)),
        inSync: (msg) => this.onInSync(msg),
        malformed: (event) => this.requestResync(`malformed ${event} ignored`),
        connected: () => this.onConnected(),
        disconnected: (reason) => this.onDisconnected(reason),
        revoked: (event) => {
          this.logger.info(
            `session revoked (${event.reason})${event.willReconnect ? '; reconnecting with a fresh token' : ''}`,
          );
          this.emit('revoked', event);
        },
        fail: (code, message, retrying) => this.fail(code, message, retrying),
        halted: () => void this.stop(),
      },
    );
  }

  get keySet(): AgentKeySet | undefined {
    return this.state.keySet;
  }

  get hash(): string | undefined {
    return this.state.hash;
  }

  get orgId(): string | undefined {
    return this.org;
  }

  get connected(): boolean {
    return this.connection.connected;
  }

  credentials(): AgentCredential[] {
    return [...(this.state.keySet?.credentials.values() ?? [])];
  }

  /** Loads the cache first, so the agent has its keys while the server is unreachable, then connects. */
  async start(): Promise<void> {
    if (this.started) throw new Error('KeystreamAgent.start() called twice');
    this.started = true;
    const cached = await this.cache?.load();
    if (cached && this.options.orgId && cached.orgId !== this.options.orgId) {
      this.logger.warn(`cache holds org ${cached.orgId}, not ${this.options.orgId}; ignored`);
    } else if (cached && !this.stopped) {
      this.org = cached.orgId;
      this.state = initialState(cached.keySet);
      this.announce(cached.keySet, 'cache');
    }
    if (!this.stopped) this.connection.open();
  }

  /** Disconnects for good and waits for the last cache write. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearGapTimer();
    this.resyncs.cancel();
    this.connection.close();
    await this.cache?.flush();
  }

  /** Asks the server to compare now; it answers in-sync, or sends the missing changes or a snapshot itself. */
  resync(): Promise<ResyncResult | undefined> {
    const request = resyncRequest(this.state);
    this.logger.info(`resync from epoch ${request.epoch} v${request.version}`);
    return this.connection.resync(request);
  }

  private handle(step: Step): void {
    this.state = step.state;
    for (const applied of step.applied) this.publish(applied);
    if (step.awaitingGap) this.armGapTimer();
    else if (!hasGap(this.state)) this.clearGapTimer();
    if (step.resync === 'hash_mismatch' || step.resync === 'snapshot_hash_mismatch') {
      this.fail(
        'hash_mismatch',
        `key set at v${this.state.keySet?.version ?? 0} does not match the server's hash; resyncing`,
        true,
      );
    }
    if (step.resync) this.requestResync(step.resync);
  }

  /**
   * Only a verified key set is acknowledged and cached: the server records acks, and the cache is the last known good.
   */
  private publish(applied: Applied): void {
    const { keySet } = applied;
    if (applied.kind === 'snapshot' || applied.verified) {
      this.resyncs.succeeded();
      this.connection.ack({ epoch: keySet.epoch, version: keySet.version });
      if (this.org) void this.cache?.save({ orgId: this.org, keySet });
    }
    if (applied.kind === 'snapshot') return this.announce(keySet, 'server');
    this.logger.debug(`applied v${applied.fromVersion}..v${applied.toVersion} (${applied.changes.length} changes)`);
    this.emit('changed', {
      fromVersion: applied.fromVersion,
      toVersion: applied.toVersion,
      changes: applied.changes,
      keySet,
    });
  }

  private announce(keySet: AgentKeySet, source: KeySetSource): void {
    this.logger.info(
      `key set from ${source}: epoch ${keySet.epoch} v${keySet.version}, ${keySet.credentials.size} credentials`,
    );
    this.emit('snapshot', { keySet, source });
    if (!this.isReady) {
      this.isReady = true;
      this.emit('ready', { keySet, source });
    }
  }

  /** The server says the resumed position is its head: acknowledged if the hashes agree, else a resync. */
  private onInSync(msg: InSyncMessage): void {
    const { keySet, hash } = this.state;
    if (keySet && msg.epoch === keySet.epoch && msg.version === keySet.version && msg.hash === hash) {
      this.logger.debug(`in sync at epoch ${keySet.epoch} v${keySet.version}`);
      this.resyncs.succeeded();
      this.connection.ack({ epoch: keySet.epoch, version: keySet.version });
      return;
    }
    this.fail('hash_mismatch', `server is in sync at v${msg.version} with another key set; resyncing`, true);
    this.requestResync('hash_mismatch');
  }

  private onConnected(): void {
    this.logger.info(`connected to ${this.options.url}`);
    this.emit('connected');
    if (hasGap(this.state)) this.armGapTimer();
  }

  /** While disconnected nothing can fill a gap; the resume handshake does on reconnect. */
  private onDisconnected(reason: string): void {
    this.clearGapTimer();
    this.logger.info(`disconnected (${reason})`);
    this.emit('disconnected', reason);
  }

  private requestResync(reason: string): void {
    if (this.stopped) return;
    this.logger.info(`resync needed: ${reason}`);
    this.resyncs.request();
  }

  private armGapTimer(): void {
    if (this.gapTimer || !this.connection.connected) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = undefined;
      this.handle(gapTimedOut(this.state));
    }, this.gapTimeoutMs);
  }

  private clearGapTimer(): void {
    clearTimeout(this.gapTimer);
    this.gapTimer = undefined;
  }

  /** 'error' without a listener would throw out of a socket callback: then the logger is the channel. */
  private fail(code: AgentErrorCode, message: string, retrying: boolean): void {
    if (this.listenerCount('error') > 0) this.emit('error', new AgentError(code, message, retrying));
    else if (retrying) this.logger.warn(`${code}: ${message}`);
    else this.logger.error(`${code}: ${message}`);
  }
}
