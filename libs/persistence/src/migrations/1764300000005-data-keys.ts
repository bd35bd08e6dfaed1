import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Envelope encryption: one wrapped data key per credential (deleting the row shreds the credential's
 * secrets wherever their ciphertext lives), and a small keyring of deployment-wide keys (the fingerprint
 * key; keys of the pre-envelope format), all wrapped under a KEK named by `kek_id`. A keyring entry is
 * looked up by name among the KEKs a process holds, so a database shared by deployments with unrelated
 * master keys (test suites) keeps one entry per lineage; rotation moves an entry to the new KEK.
 */
export class DataKeys1764300000005 implements MigrationInterface {
  name = 'DataKeys1764300000005';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE data_keys (
        org_id text NOT NULL,
        credential_id text NOT NULL,
        kek_id text NOT NULL,
        wrapped jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, credential_id)
      )`);
    // rotate-kek finds the keys not under the current KEK.
    await q.query(`CREATE INDEX data_keys_kek_idx ON data_keys (kek_id)`);
    await q.query(`
      CREATE TABLE keyring (
        name text NOT NULL,
        kek_id text NOT NULL,
        wrapped jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (name, kek_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS keyring');
    await q.query('DROP TABLE IF EXISTS data_keys');
  }
}
