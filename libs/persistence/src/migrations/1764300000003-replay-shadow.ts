import { MigrationInterface, QueryRunner } from 'typeorm';

/** Staging for `keystream replay`: a rebuilt key set is written here, compared, and cut over only on request. */
export class ReplayShadow1764300000003 implements MigrationInterface {
  name = 'ReplayShadow1764300000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE key_set_credentials_shadow (LIKE key_set_credentials INCLUDING ALL)`);
    await q.query(`CREATE TABLE key_sets_shadow (LIKE key_sets INCLUDING ALL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS key_set_credentials_shadow');
    await q.query('DROP TABLE IF EXISTS key_sets_shadow');
  }
}
