import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** The first result of a write, replayed to a retry with the same Idempotency-Key. */
@Entity('idempotency_keys')
export class IdempotencyKeyEntity {
  @PrimaryColumn({ name: 'org_id', type: 'text' })
  orgId: string;

  @PrimaryColumn({ name: 'key', type: 'text' })
  key: string;

  /** SHA-256 of method, path and body: the same key with another request is refused. */
  @Column({ name: 'request_hash', type: 'text' })
  requestHash: string;

  @Column({ name: 'status', type: 'integer' })
  status: number;

  @Column({ name: 'body', type: 'jsonb' })
  body: object;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
