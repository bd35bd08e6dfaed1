import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** The embedded event log and the write side's record of every decision. Append-only. */
@Entity('events')
@Index('events_org_version_uq', ['orgId', 'version'], { unique: true })
export class EventEntity {
  @PrimaryGeneratedColumn({ name: 'position', type: 'bigint' })
  position: string;

  @Column({ name: 'event_id', type: 'uuid', unique: true })
  eventId: string;

  @Column({ name: 'org_id', type: 'text' })
  orgId: string;

  @Column({ name: 'version', type: 'integer' })
  version: number;

  @Column({ name: 'type', type: 'text' })
  type: string;

  @Column({ name: 'schema_version', type: 'integer' })
  schemaVersion: number;

  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt: Date;

  @Column({ name: 'actor_user_id', type: 'text' })
  actorUserId: string;

  @Column({ name: 'command_id', type: 'text' })
  commandId: string;

  @Column({ name: 'batch_id', type: 'uuid', nullable: true })
  batchId: string | null;

  @Column({ name: 'batch_size', type: 'integer', nullable: true })
  batchSize: number | null;

  @Column({ name: 'data', type: 'jsonb' })
  data: object;
}
