import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Organization lifecycle. A deleted organization keeps its row as a tombstone (`deleted_at`): its id is never
 * reused, and the append-only `events` rows that reference it stay (as ciphertext whose keys are gone).
 * `org_audit` is the append-only record of lifecycle and membership actions (created, deleted with what was
 * shredded, member revoked/restored): who, when, what; never secret material.
 */
export class OrgLifecycle1764300000020 implements MigrationInterface {
  name = 'OrgLifecycle1764300000020';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE organizations ADD COLUMN deleted_at timestamptz, ADD COLUMN deleted_by text`);
    await q.query(`
      CREATE TABLE org_audit (
        id bigserial PRIMARY KEY,
        org_id text NOT NULL REFERENCES organizations(id),
        type text NOT NULL,
        actor text NOT NULL,
        subject text,
        occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        data jsonb NOT NULL DEFAULT '{}'::jsonb
      )`);
    await q.query(`CREATE INDEX org_audit_org_idx ON org_audit (org_id, id)`);
    await q.query(
      `CREATE TRIGGER org_audit_no_update BEFORE UPDATE OR DELETE ON org_audit FOR EACH ROW EXECUTE FUNCTION events_append_only()`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS org_audit');
    await q.query('ALTER TABLE organizations DROP COLUMN IF EXISTS deleted_at, DROP COLUMN IF EXISTS deleted_by');
  }
}
