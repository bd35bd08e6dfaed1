import { Entity } from 'typeorm';
import { CredentialRow } from './credential-row';

/** Write side: the decision state, updated in the same transaction as the events it follows from. */
@Entity('credential_state')
export class CredentialStateEntity extends CredentialRow {}
