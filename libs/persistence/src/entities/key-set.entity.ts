import { Entity } from 'typeorm';
import { CredentialRow } from './credential-row';

/** Read side: the projected key set served to agents, rebuilt purely from the log. */
@Entity('key_set_credentials')
export class KeySetCredentialEntity extends CredentialRow {}
