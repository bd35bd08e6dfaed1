import type { StoredResponse } from '@keystream/persistence';
import type { CredentialView } from './credential.view';
import type { IdempotencyKey, SaveOutcome } from './save-command';

/**
 * How a stored Idempotency-Key row reads: its `status` column says what its `body` holds. OUTCOME_RECORD: the
 * SaveOutcome the first request got (what the write path stores). An HTTP status (200, 201): a response body as
 * releases before it stored, read back as the outcome it showed — so a retry across the upgrade still replays.
 */
export const OUTCOME_RECORD = 0;

export type IdempotencyVerdict =
  | { readonly kind: 'new' }
  | { readonly kind: 'replay'; readonly outcome: SaveOutcome }
  | { readonly kind: 'reused' };

export interface IdempotencyWrite {
  readonly orgId: string;
  readonly key: string;
  readonly response: StoredResponse;
}

const id = (orgId: string, key: string) => `${orgId}\u0000${key}`;

/**
 * The Idempotency-Key records one group commit sees: those stored before it (read under the heads' locks) and
 * those its earlier commands made. A retry later in the same batch sees the first one's outcome, as it would
 * after the commit; the records made here are written with the batch.
 */
export class IdempotencyLedger {
  private readonly records: Map<string, StoredResponse>;
  private readonly made: IdempotencyWrite[] = [];

  /** `stored` keyed `${orgId}\0${key}` (CommandBatchRepository.begin). */
  constructor(stored: ReadonlyMap<string, StoredResponse>) {
    this.records = new Map(stored);
  }

  check(orgId: string, idem: IdempotencyKey): IdempotencyVerdict {
    const prior = this.records.get(id(orgId, idem.key));
    if (!prior) return { kind: 'new' };
    return prior.requestHash === idem.requestHash ? { kind: 'replay', outcome: outcomeOf(prior) } : { kind: 'reused' };
  }

  record(orgId: string, idem: IdempotencyKey, outcome: SaveOutcome): void {
    const response: StoredResponse = { requestHash: idem.requestHash, status: OUTCOME_RECORD, body: outcome };
    this.records.set(id(orgId, idem.key), response);
    this.made.push({ orgId, key: idem.key, response });
  }

  /** The records this batch made, to be written in its transaction. */
  get writes(): readonly IdempotencyWrite[] {
    return this.made;
  }
}

type LegacyShown = CredentialView | { readonly id: string; readonly removed: true };

export function outcomeOf(r: StoredResponse): SaveOutcome {
  if (r.status === OUTCOME_RECORD) return r.body as SaveOutcome;
  // A stored response body: { credential, version } (add, edit), { version } (remove), { version, credentials }
  // (batch).
  const b = r.body as { version: number; credential?: CredentialView; credentials?: readonly LegacyShown[] };
  const shown = b.credentials ?? (b.credential ? [b.credential] : []);
  return {
    version: b.version,
    results: shown.map((c) => ('removed' in c ? { id: c.id, removed: true } : { id: c.id, credential: c })),
  };
}
