import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The write head of an org's stream: the row locked for every decision, so versions stay gapless. */
@Entity('org_streams')
export class OrgStreamEntity {
  @PrimaryColumn({ name: 'org_id', type: 'text' })
  orgId: string;

  @Column({ name: 'version', type: 'integer', default: 0 })
  version: number;

  /** Bumped by a rebuild, so agents know their version numbers no longer compare. */
  @Column({ name: 'epoch', type: 'integer', default: 1 })
  epoch: number;
}
