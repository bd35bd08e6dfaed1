import { Column, PrimaryColumn } from 'typeorm';
import type { ProviderId, SealedSecret } from '@keystream/credentials';

/** Columns shared by the write side's decision state and the projected key set: one shape, two owners. */
export abstract class CredentialRow {
  @PrimaryColumn({ name: 'org_id', type: 'text' })
  orgId: string;

  @PrimaryColumn({ name: 'credential_id', type: 'uuid' })
  credentialId: string;

  @Column({ name: 'provider', type: 'text' })
  provider: ProviderId;

  @Column({ name: 'label', type: 'text' })
  label: string;

  @Column({ name: 'fields', type: 'jsonb' })
  fields: Record<string, string>;

  /** Ciphertext only: `{ alg, keyId, iv, ciphertext, tag, fingerprint, last4 }` per secret field. */
  @Column({ name: 'secrets', type: 'jsonb' })
  secrets: Record<string, SealedSecret>;

  @Column({ name: 'version', type: 'integer' })
  version: number;
}
