import { EVENT_SCHEMA_VERSION } from './events';

/** An envelope as read from the log, before its shape is trusted. */
export type RawEnvelope = Record<string, unknown> & {
  schemaVersion: number;
  type: string;
  data: Record<string, unknown>;
};

/** Lifts an envelope of schemaVersion n to n + 1 (a pure function of the envelope, keyed by n). */
export type Upcaster = (e: RawEnvelope) => RawEnvelope;

export interface Upcasters {
  /** The version this build writes and its deciders/projections read. */
  readonly current: number;
  /** `steps[n]` lifts version n to n + 1; a chain from any older version to `current` must exist. */
  readonly steps: Readonly<Record<number, Upcaster>>;
}

/**
 * This build's chain: version 1 is current, nothing to lift yet. The first shape change adds its step here, with a
 * spec.
 */
export const UPCASTERS: Upcasters = { current: EVENT_SCHEMA_VERSION, steps: {} };

/**
 * Brings an envelope to the current schemaVersion. Older: lifted step by step. Newer (written by a newer
 * build during a rolling deploy): schema changes within a type are additive by contract (a breaking change
 * is a new type), so it is read as the current version, its unknown data fields kept — the caller's shape
 * checks still apply. Returns a reason when no chain exists.
 */
export function upcast(e: RawEnvelope, upcasters: Upcasters = UPCASTERS): { envelope?: RawEnvelope; error?: string } {
  let out = e;
  while (out.schemaVersion < upcasters.current) {
    const step = upcasters.steps[out.schemaVersion];
    if (!step) return { error: `no upcaster from schemaVersion ${out.schemaVersion} of ${e.type}` };
    out = { ...step(out), schemaVersion: out.schemaVersion + 1 };
  }
  return { envelope: out };
}
