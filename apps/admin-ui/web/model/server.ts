/** What the server sends: the key set, credentials and devices, and how far a credential has rolled out. */
import type { ProviderId } from '../../../../libs/credentials/src/providers';

export interface MaskedSecret {
  readonly last4: string;
  readonly fingerprint: string;
}

export interface Credential {
  readonly id: string;
  readonly provider: ProviderId;
  readonly label: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, MaskedSecret>>;
  /** The key-set version that last changed this credential. */
  readonly version: number;
}

export interface ListResponse {
  readonly orgId: string;
  readonly version: number;
  readonly sections: readonly {
    readonly provider: ProviderId;
    readonly title: string;
    readonly credentials: readonly Credential[];
  }[];
}

export interface KeySet {
  readonly version: number;
  /** In the server's order: section by section, by label within a section. */
  readonly credentials: readonly Credential[];
}

export function keySetOf(r: ListResponse): KeySet {
  return { version: r.version, credentials: r.sections.flatMap((s) => s.credentials) };
}

export interface Device {
  readonly deviceId: string;
  readonly userId: string;
  readonly appliedVersion: number;
  readonly epoch: number;
  readonly connected: boolean;
  readonly upToDate: boolean;
}

export interface DevicesResponse {
  readonly version: number;
  readonly epoch: number;
  readonly devices: readonly Device[];
}

/** How many of the org's devices hold this credential's latest state (applied version at or past it, same epoch). */
export function rollout(c: Credential, d: DevicesResponse): { upToDate: number; total: number } {
  const upToDate = d.devices.filter((x) => x.epoch === d.epoch && x.appliedVersion >= c.version).length;
  return { upToDate, total: d.devices.length };
}
