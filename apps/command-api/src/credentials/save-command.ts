import type { CredentialChange, KeySet, ProviderId } from '@keystream/credentials';
import { CredentialView, toView } from './credential.view';

/** A validated add with its secrets still in plaintext (sealed before the command queues: secret-sealing.ts). */
export interface PlainAdd {
  readonly op: 'add';
  readonly provider: ProviderId;
  readonly label: string;
  readonly values: Readonly<Record<string, string>>;
}
export interface PlainEdit {
  readonly op: 'edit';
  readonly id: string;
  readonly provider: ProviderId;
  /** The provider the client named, if any: the decider refuses a mismatch. */
  readonly claimedProvider?: ProviderId;
  readonly label?: string;
  readonly values: Readonly<Record<string, string | null>>;
}
export interface PlainRemove {
  readonly op: 'remove';
  readonly id: string;
}
export type PlainChange = PlainAdd | PlainEdit | PlainRemove;

/** A retry key and the hash of the request it was first used with (a different request under one key is refused). */
export interface IdempotencyKey {
  readonly key: string;
  readonly requestHash: string;
}

/** What a transport hands the command service: one save of one org, all or nothing. */
export interface SaveCommand {
  readonly orgId: string;
  readonly actor: { readonly userId: string };
  readonly changes: readonly PlainChange[];
  /** A batch save: its events carry one batch id. */
  readonly batch: boolean;
  readonly expectedVersion?: number;
  readonly idempotency?: IdempotencyKey;
  /** Correlates the request, its events (envelope commandId) and their deliveries in logs. */
  readonly commandId: string;
}

/** One change's result: the credential as the save left it (secrets masked), or gone. */
export type ChangeResult =
  | { readonly id: string; readonly credential: CredentialView }
  | { readonly id: string; readonly removed: true };

/**
 * What a save decided, in the command's terms: the org's version after it and each change's result in request
 * order. It holds no plaintext and no ciphertext, so it is also what an Idempotency-Key replays.
 */
export interface SaveOutcome {
  readonly version: number;
  readonly results: readonly ChangeResult[];
}

/** The outcome of `changes` (request order) as `after` — the key set the command left — shows them. */
export function saveOutcome(changes: readonly CredentialChange[], after: KeySet): SaveOutcome {
  const results = changes.map(({ credentialId: id }): ChangeResult => {
    const now = after.credentials.get(id);
    return now ? { id, credential: toView(now) } : { id, removed: true };
  });
  return { version: after.version, results };
}
