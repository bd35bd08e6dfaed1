import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Revoked access (one row per org member, the latest revocation wins: tokens issued at or before
 * `revoked_at` are refused), and an index for the audit history of one credential.
 */
export class Revocations1764300000004 implements MigrationInterface {
  name = 'Revocations1764300000004';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE revocations (
        org_id text NOT NULL REFERENCES organizations(id),
        user_id text NOT NULL,
        revoked_at timestamptz NOT NULL,
        revoked_by text NOT NULL,
        PRIMARY KEY (org_id, user_id)
      )`);
    // GET …/credentials/{id}/history reads one credential's events; without this it scans the org's whole log.
    await q.query(`CREATE INDEX events_org_credential_idx ON events (org_id, (data->>'credentialId'), version)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX IF EXISTS events_org_credential_idx');
    await q.query('DROP TABLE IF EXISTS revocations');
  }
}
