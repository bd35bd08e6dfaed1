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

/** The contract envelope, as stored in the log and published on keystream.credentials.v1. */
export interface EventEnvelope<E extends CredentialEvent = CredentialEvent> {
  readonly eventId: string;
  readonly type: E['type'];
  readonly schemaVersion: number;
  readonly orgId: string;
  readonly version: number;
  readonly occurredAt: string;
  readonly actor: { readonly userId: string };
  readonly commandId: string;
  readonly batch?: { readonly id: string; readonly size: number };
  readonly data: E['data'];
}
