import { ProviderId } from './providers';
import { SealedSecret } from './sealed-secret';

export const EVENT_SCHEMA_VERSION = 1;

export interface CredentialAdded {
  readonly type: 'CredentialAdded';
  readonly data: {
    readonly credentialId: string;
    readonly provider: ProviderId;
    readonly label: string;
    readonly fields: Readonly<Record<string, string>>;
    readonly secrets: Readonly<Record<string, SealedSecret>>;
  };
}

/** Carries only what changed. A `null` field or secret was cleared; an absent one is unchanged. */
export interface CredentialEdited {
  readonly type: 'CredentialEdited';
  readonly data: {
    readonly credentialId: string;
    readonly provider: ProviderId;
    readonly label?: string;
    readonly fields?: Readonly<Record<string, string | null>>;
    readonly secrets?: Readonly<Record<string, SealedSecret | null>>;
  };
}

export interface CredentialRemoved {
  readonly type: 'CredentialRemoved';
  readonly data: { readonly credentialId: string; readonly provider: ProviderId; readonly label: string };
}

export type CredentialEvent = CredentialAdded | CredentialEdited | CredentialRemoved;
export type CredentialEventType = CredentialEvent['type'];
export const EVENT_TYPES: readonly CredentialEventType[] = ['CredentialAdded', 'CredentialEdited', 'CredentialRemoved'];

/**
 * Org-level, not decided by `decide`: the organization was deleted and every key of it shredded. The last event of
 * its stream (version = head + 1) and, in Postgres, the only one left. No secret material: who, and what was shredded.
 */
export interface OrganizationDeleted {
  readonly type: 'OrganizationDeleted';
  readonly data: { readonly deletedBy: string; readonly shreddedKeys: number; readonly lastVersion: number };
}

/** Everything the log carries: the credential events and the org's tombstone. */
export type LogEvent = CredentialEvent | OrganizationDeleted;
export type LogEventType = LogEvent['type'];
export const LOG_EVENT_TYPES: readonly LogEventType[] = [...EVENT_TYPES, 'OrganizationDeleted'];

/** What every envelope carries besides its event (`type` and `data`). */
export interface EnvelopeMetadata {
  readonly eventId: string;
  readonly schemaVersion: number;
  readonly orgId: string;
  readonly version: number;
  readonly occurredAt: string;
  readonly actor: { readonly userId: string };
  readonly commandId: string;
  readonly batch?: { readonly id: string; readonly size: number };
}

/**
 * The contract envelope, as stored in the log and published on keystream.credentials.v1: one member per event type
 * (the conditional distributes over a union), so checking `type` narrows `data` — no reader casts.
 */
export type EventEnvelope<E extends LogEvent = CredentialEvent> = E extends LogEvent ? EnvelopeMetadata & E : never;

/** An envelope as read from the log: a credential event or the org's tombstone. */
export type LogEnvelope = EventEnvelope<LogEvent>;

export function isTombstone(e: LogEnvelope): e is EventEnvelope<OrganizationDeleted> {
  return e.type === 'OrganizationDeleted';
}
