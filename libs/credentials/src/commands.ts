import { ProviderId } from './providers';
import { SealedSecret } from './sealed-secret';

/** Who asked and when: supplied by the application layer, never read from a clock inside the domain. */
export interface CommandMetadata {
  readonly orgId: string;
  readonly actor: { readonly userId: string };
  readonly commandId: string;
  readonly occurredAt: string;
  /** From If-Match; undefined means "whatever is current". */
  readonly expectedVersion?: number;
}

export interface AddCredential {
  readonly op: 'add';
  readonly credentialId: string;
  readonly provider: ProviderId;
  readonly label: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, SealedSecret>>;
}

/** Absent = unchanged; `null` = clear an optional value. An omitted secret stays as it is. */
export interface EditCredential {
  readonly op: 'edit';
  readonly credentialId: string;
  /** When the client names a provider it must match the credential's. */
  readonly provider?: ProviderId;
  readonly label?: string;
  readonly fields: Readonly<Record<string, string | null>>;
  readonly secrets: Readonly<Record<string, SealedSecret | null>>;
}

export interface RemoveCredential {
  readonly op: 'remove';
  readonly credentialId: string;
}

export type CredentialChange = AddCredential | EditCredential | RemoveCredential;

/** Every write is a save of one or more changes: all of them are accepted, or none. */
export interface SaveCredentials {
  readonly changes: readonly CredentialChange[];
  /** A batch reports errors as `changes[i].field`; a single change as `field`. */
  readonly batch: boolean;
  readonly metadata: CommandMetadata;
}
