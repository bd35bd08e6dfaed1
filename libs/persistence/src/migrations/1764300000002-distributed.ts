import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Distributed mode: the transactional outbox, consumer positions kept with the projection, and set-aside poison
 * messages.
 */
export class Distributed1764300000002 implements MigrationInterface {
  name = 'Distributed1764300000002';

  async up(q: QueryRunner): Promise<void> {
    // Rows are written in the command's transaction and deleted once Kafka acknowledged them.
    await q.query(`
      CREATE TABLE outbox (
        position bigserial PRIMARY KEY,
        org_id text NOT NULL,
        version integer NOT NULL,
        envelope jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE consumer_positions (
        consumer_group text NOT NULL,
        topic text NOT NULL,
        partition integer NOT NULL,
        next_offset bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer_group, topic, partition)
      )`);
    await q.query(`
      CREATE TABLE poison_messages (
        id bigserial PRIMARY KEY,
        consumer_group text NOT NULL,
        topic text NOT NULL,
        partition integer NOT NULL,
        "offset" bigint NOT NULL,
        key text,
        reason text NOT NULL,
        value_sha256 text NOT NULL,
        value_bytes integer NOT NULL,
        seen_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (consumer_group, topic, partition, "offset")
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['poison_messages', 'consumer_positions', 'outbox']) await q.query(`DROP TABLE IF EXISTS ${t}`);
  }
}
