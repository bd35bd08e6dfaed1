import type { TokenVerifier } from '@keystream/auth';
import type { ChangeFeed } from '@keystream/event-log';
import type { AgentKeySetReader } from './agent-key-set.reader';
import type { DevicePositionsRecorder } from './device-positions.recorder';

export const GATEWAY_DEPS = Symbol('GATEWAY_DEPS');

export interface GatewayDeps {
  readonly verifier: TokenVerifier;
  readonly reader: AgentKeySetReader;
  readonly feed: ChangeFeed;
  readonly positions: DevicePositionsRecorder;
  readonly epochs?: { start(onChange: (orgId: string) => void): Promise<void>; stop(): void };
}
