import { DynamicModule, Logger, Module } from '@nestjs/common';
import { TokenRateLimiter, TokenVerifier } from '@keystream/auth';
import { DEFAULT_RATE_LIMITS, RateLimits, readRateLimits } from '@keystream/config';
import { SecretVault } from '@keystream/crypto';
import { ChangeFeed } from '@keystream/event-log';
import { exportMetrics, metrics } from '@keystream/observability';
import { DataSource } from '@keystream/persistence';
import { AgentKeySetReader } from './agent-key-set.reader';
import { AgentsGateway } from './agents.gateway';
import { DevicePositionsRecorder } from './device-positions.recorder';
import { EpochWatcher } from './epoch-watcher';
import { Admission } from './admission';
import { GATEWAY_DEPS, GatewayDeps } from './gateway-deps';
import { RevocationWatcher } from './revocation-watcher';
import { SyncReads } from './sync-reads';

export interface AgentGatewayOptions {
  readonly dataSource: DataSource;
  readonly vault: SecretVault;
  readonly verifier: TokenVerifier;
  readonly feed: ChangeFeed;
  /** Absent → KEYSTREAM_CONNECT_RATE_PER_MIN from the environment (already checked by loadConfig), else the default. */
  readonly rateLimits?: RateLimits;
  /**
   * Resolves once the feed reads from the log's end. Handshakes wait for it, so a process can listen (and finish
   * transport handshakes, the costly part of a reconnect storm) while its Kafka consumer is still joining, and no
   * sync ever runs before the feed would deliver every save committed after it.
   */
  readonly feedStarted?: Promise<void>;
}

function envRateLimits(): RateLimits {
  try {
    return readRateLimits(process.env, (name, reason) => new Error(`${name} ${reason}`));
  } catch {
    return DEFAULT_RATE_LIMITS;
  }
}

function epochWatcher(ds: DataSource): GatewayDeps['epochs'] {
  let watcher: EpochWatcher | undefined;
  return {
    start: async (onChange) => {
      watcher = new EpochWatcher(ds, onChange);
      await watcher.start();
    },
    stop: () => watcher?.stop(),
  };
}

/** The agent socket gateway as a Nest module: in the API's process (embedded) or its own (distributed). */
@Module({})
export class AgentGatewayModule {
  static register(opts: AgentGatewayOptions): DynamicModule {
    exportMetrics('gateway', 'auth');
    const reader = new AgentKeySetReader(opts.dataSource, opts.vault);
    const deps: GatewayDeps = {
      verifier: opts.verifier,
      reader,
      reads: new SyncReads(opts.dataSource, reader),
      feed: opts.feed,
      positions: new DevicePositionsRecorder(opts.dataSource, 250, (e, rows) => {
        metrics.devicePositionFailures.inc(rows);
        new Logger('agents').error(
          `device positions: ${rows} row(s) not recorded: ${(e as Error)?.message ?? 'error'} ${(e as { code?: string })?.code ?? ''}`.trim(),
        );
      }),
      epochs: epochWatcher(opts.dataSource),
      admission: new Admission(),
      feedStarted: opts.feedStarted,
      connectLimiter: new TokenRateLimiter((opts.rateLimits ?? envRateLimits()).connectsPerMinute),
      revocations: new RevocationWatcher(opts.dataSource, (e) =>
        new Logger('agents').error(
          `revocation watcher: ${(e as Error)?.name ?? 'error'} ${(e as { code?: string })?.code ?? ''}`.trim(),
        ),
      ),
    };
    return {
      module: AgentGatewayModule,
      providers: [{ provide: GATEWAY_DEPS, useValue: deps }, AgentsGateway],
      exports: [AgentsGateway],
    };
  }
}
