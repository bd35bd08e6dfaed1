import { MigrationInterface, QueryRunner } from 'typeorm';
// Relative: the migrations also load in jest's global setup, outside the path mapper.
import { labelKey } from '../../../credentials/src/label';

/**
 * Label uniqueness by the domain's one folding rule (`labelKey`, computed in code and stored), instead of
 * `lower(label)`, whose result depends on the database collation: "İrepro" and "irepro" were distinct to the
 * decider but equal to the index, so the second one failed with 409 forever.
 */
export class LabelKey1764300000030 implements MigrationInterface {
  name = 'LabelKey1764300000030';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE credential_state ADD COLUMN label_key text`);
    const rows = (await q.query(`SELECT org_id, credential_id, label FROM credential_state`)) as {
      org_id: string;
      credential_id: string;
      label: string;
    }[];
    if (rows.length > 0) {
      await q.query(
        `UPDATE credential_state s SET label_key = k.label_key
           FROM unnest($1::text[], $2::uuid[], $3::text[]) AS k(org_id, credential_id, label_key)
          WHERE s.org_id = k.org_id AND s.credential_id = k.credential_id`,
        [rows.map((r) => r.org_id), rows.map((r) => r.credential_id), rows.map((r) => labelKey(r.label))],
      );
    }
    await q.query(`ALTER TABLE credential_state ALTER COLUMN label_key SET NOT NULL`);
    await q.query(`DROP INDEX credential_state_label_uq`);
    await q.query(
      `CREATE UNIQUE INDEX credential_state_label_key_uq ON credential_state (org_id, provider, label_key)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS credential_state_label_key_uq`);
    await q.query(`CREATE UNIQUE INDEX credential_state_label_uq ON credential_state (org_id, provider, lower(label))`);
    await q.query(`ALTER TABLE credential_state DROP COLUMN label_key`);
  }
}
