import { Entity } from 'typeorm';
import { CredentialRow } from './credential-row';

/**
 * Write side: the decision state, updated in the same transaction as the events it follows from. The table also
 * holds `label_key` (labelKey(label), under the label unique index); only the command batch writes rows here.
 */
@Entity('credential_state')
export class CredentialStateEntity extends CredentialRow {}
