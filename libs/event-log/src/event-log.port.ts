import type { LogEnvelope } from '@keystream/credentials';

/** One record of the log: where it sits, and either a valid envelope or why it is not one. */
export interface LogRecord {
  readonly partition: number;
  /** Decimal string: Kafka offsets and Postgres positions both exceed 2^53 eventually. */
  readonly offset: string;
  readonly key: string | null;
  readonly envelope?: LogEnvelope;
  readonly error?: string;
  readonly valueSha256: string;
  readonly valueBytes: number;
}

export interface ConsumeOptions {
  readonly groupId: string;
  /** Where a group without a stored position starts. */
  readonly fromBeginning: boolean;
  /** A failed batch is redelivered; this hears why. */
  readonly onError?: (e: unknown) => void;
  /**
   * For a consumer that favours throughput over latency (the projector): a fetch waits until `minBytes` are
   * there or `maxWaitMs` passed, so batches (and the transactions that apply them) are fewer and fuller.
   * Absent: a fetch returns as soon as anything is there. Logs without fetches ignore it.
   */
  readonly fetch?: { readonly minBytes: number; readonly maxWaitMs: number };
}

export interface LogConsumer {
  stop(): Promise<void>;
}

/**
 * The event log: the Postgres `events` table (embedded) or the Kafka topic (distributed). Both keep
 * per-org order (one org → one partition), deliver at least once, and resume after a stop from the last
 * committed position; `onBatch` completing is the commit. Both pass one contract suite.
 */
export interface EventLogPort {
  append(events: readonly LogEnvelope[]): Promise<void>;
  consume(opts: ConsumeOptions, onBatch: (records: readonly LogRecord[]) => Promise<void>): Promise<LogConsumer>;
  close(): Promise<void>;
}
