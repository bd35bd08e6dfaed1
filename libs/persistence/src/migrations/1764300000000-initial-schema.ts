import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764300000000 implements MigrationInterface {
  name = 'InitialSchema1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE organizations (
        id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
        name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE org_streams (
        org_id text PRIMARY KEY REFERENCES organizations(id),
        version integer NOT NULL DEFAULT 0 CHECK (version >= 0),
        epoch integer NOT NULL DEFAULT 1 CHECK (epoch >= 1)
      )`);
    await q.query(`
      CREATE TABLE events (
        position bigserial PRIMARY KEY,
        event_id uuid NOT NULL UNIQUE,
        org_id text NOT NULL REFERENCES organizations(id),
        version integer NOT NULL CHECK (version >= 1),
        type text NOT NULL,
        schema_version integer NOT NULL,
        occurred_at timestamptz NOT NULL,
        actor_user_id text NOT NULL,
        command_id text NOT NULL,
        batch_id uuid,
        batch_size integer,
        data jsonb NOT NULL,
        CONSTRAINT events_org_version_uq UNIQUE (org_id, version)
      )`);
    // The log is append-only: no UPDATE or DELETE, whoever connects.
    await q.query(`
      CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'events is append-only'; END $$`);
    await q.query(
      `CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION events_append_only()`,
    );
    for (const table of ['credential_state', 'key_set_credentials']) {
      await q.query(`
        CREATE TABLE ${table} (
          org_id text NOT NULL REFERENCES organizations(id),
          credential_id uuid NOT NULL,
          provider text NOT NULL,
          label text NOT NULL,
          fields jsonb NOT NULL,
          secrets jsonb NOT NULL,
          version integer NOT NULL,
          PRIMARY KEY (org_id, credential_id)
        )`);
    }
    // Backstop for the decider's rule: a label is unique within its section, case-insensitively.
    await q.query(`CREATE UNIQUE INDEX credential_state_label_uq ON credential_state (org_id, provider, lower(label))`);
    await q.query(`
      CREATE TABLE key_sets (
        org_id text PRIMARY KEY REFERENCES organizations(id),
        epoch integer NOT NULL DEFAULT 1,
        version integer NOT NULL DEFAULT 0,
        hash text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE idempotency_keys (
        org_id text NOT NULL REFERENCES organizations(id),
        key text NOT NULL,
        request_hash text NOT NULL,
        status integer NOT NULL,
        body jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (org_id, key)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'idempotency_keys',
      'key_sets',
      'key_set_credentials',
      'credential_state',
      'events',
      'org_streams',
      'organizations',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
    await q.query(`DROP FUNCTION IF EXISTS events_append_only()`);
  }
}
