import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { CredentialRow } from './credential-row';

/** Read side: the projected key set served to agents, rebuilt purely from the log. */
@Entity('key_set_credentials')
export class KeySetCredentialEntity extends CredentialRow {}

/** The projection's position per org, stored in the same transaction as the rows it describes. */
@Entity('key_sets')
export class KeySetEntity {
  @PrimaryColumn({ name: 'org_id', type: 'text' })
  orgId: string;

  @Column({ name: 'epoch', type: 'integer', default: 1 })
  epoch: number;

  @Column({ name: 'version', type: 'integer', default: 0 })
  version: number;

  @Column({ name: 'hash', type: 'text' })
  hash: string;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
