import { MigrationInterface, QueryRunner } from 'typeorm';

/** Each agent device's applied position, for the rollout view. */
export class Devices1764300000001 implements MigrationInterface {
  name = 'Devices1764300000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE devices (
        org_id text NOT NULL REFERENCES organizations(id),
        device_id text NOT NULL,
        user_id text NOT NULL,
        epoch integer NOT NULL DEFAULT 0,
        applied_version integer NOT NULL DEFAULT 0,
        connected boolean NOT NULL DEFAULT false,
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, device_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS devices');
  }
}
