import { EventEnvelope, mask, MaskedSecret } from '@keystream/credentials';

/** One audit entry: who changed what and when, every secret reduced to last4 + fingerprint. */
export interface HistoryEntry {
  readonly version: number;
  readonly type: EventEnvelope['type'];
  readonly occurredAt: string;
  readonly actor: { readonly userId: string };
  readonly batch?: { readonly id: string; readonly size: number };
  readonly changes: {
    readonly label?: string;
    /** `null` = the field was cleared. */
    readonly fields?: Readonly<Record<string, string | null>>;
    /** `null` = the secret was cleared. */
    readonly secrets?: Readonly<Record<string, MaskedSecret | null>>;
  };
}

/**
 * Built field by field from what may be shown (never by copying the event's data), so nothing else an
 * event carries (ciphertext, IVs, key ids, whatever later schema versions add) can reach the response.
 * A removal records the label the credential had.
 */
export function toHistoryEntry(e: EventEnvelope): HistoryEntry {
  const changes: {
    label?: string;
    fields?: Record<string, string | null>;
    secrets?: Record<string, MaskedSecret | null>;
  } = {};
  if (typeof e.data.label === 'string') changes.label = e.data.label;
  if (e.type !== 'CredentialRemoved') {
    const d = e.data;
    if (d.fields)
      changes.fields = Object.fromEntries(
        Object.entries(d.fields).map(([k, v]) => [k, typeof v === 'string' ? v : null]),
      );
    if (d.secrets)
      changes.secrets = Object.fromEntries(Object.entries(d.secrets).map(([k, s]) => [k, s ? mask(s) : null]));
  }
  return {
    version: e.version,
    type: e.type,
    occurredAt: e.occurredAt,
    actor: { userId: e.actor.userId },
    ...(e.batch ? { batch: { id: e.batch.id, size: e.batch.size } } : {}),
    changes,
  };
}
