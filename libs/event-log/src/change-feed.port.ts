import type { EventEnvelope } from '@keystream/credentials';

/** One committed save: its events, contiguous in version, all of one org. */
export interface CommittedSave {
  readonly orgId: string;
  readonly fromVersion: number;
  readonly toVersion: number;
  readonly events: readonly EventEnvelope[];
  /** The read model's epoch and key-set hash at `toVersion`, when the publisher projected it itself. */
  readonly epoch?: number;
  readonly hash?: string;
}

export type CommitListener = (save: CommittedSave) => void;

/**
 * How readers learn that something was committed. Embedded: in-process, right after the commit.
 * Distributed: the Kafka topic. Readers must not rely on which; a notification may repeat, and a missed
 * one is caught up from the log by version.
 */
export interface ChangeFeed {
  subscribe(listener: CommitListener): () => void;
  /**
   * A feed read from the log also hears an org's `OrganizationDeleted` tombstone (never a save): the gateway ends
   * the org's sessions if the revocation NOTIFY has not already. The in-process feed has none (it carries no deletion).
   */
  subscribeDeletions?(listener: (orgId: string) => void): () => void;
}
