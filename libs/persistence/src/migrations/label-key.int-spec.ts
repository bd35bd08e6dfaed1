import { DataSource } from 'typeorm';
import { labelKey } from '@keystream/credentials';
import { scratchDatabase } from '@keystream/testing';
import { MIGRATIONS } from './index';
import { LabelKey1764300000030 } from './1764300000030-label-key';

const ORG = 'label-key-org';
const row = (id: number, provider: string, label: string) => [
  ORG,
  `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`,
  provider,
  label,
];

/** Rows written before the migration get the decider's folded key, and the new index enforces exactly that rule. */
describe('migration 1764300000030 label_key (real Postgres)', () => {
  let db: { url: string; drop(): Promise<void> };
  let ds: DataSource;
  const open = (migrations: unknown[]) =>
    new DataSource({
      type: 'postgres',
      url: db.url,
      migrations: migrations as never,
      migrationsTableName: 'schema_migrations',
      extra: { max: 2 },
    }).initialize();

  beforeAll(async () => {
    db = await scratchDatabase('labelkey');
    const before = MIGRATIONS.slice(0, MIGRATIONS.indexOf(LabelKey1764300000030));
    const old = await open(before);
    await old.runMigrations({ transaction: 'each' });
    await old.query(`INSERT INTO organizations (id, name) VALUES ($1, $1)`, [ORG]);
    for (const r of [row(1, 'gemini', 'İrepro'), row(2, 'gemini', 'Prod'), row(3, 'openai', 'ＢＥＴＡ')]) {
      await old.query(
        `INSERT INTO credential_state (org_id, credential_id, provider, label, fields, secrets, version) VALUES ($1, $2, $3, $4, '{}', '{}', 1)`,
        r,
      );
    }
    await old.destroy();
    ds = await open(MIGRATIONS);
    await ds.runMigrations({ transaction: 'each' });
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('backfills label_key with labelKey(label)', async () => {
    const rows: { label: string; label_key: string }[] = await ds.query(
      `SELECT label, label_key FROM credential_state WHERE org_id = $1 ORDER BY credential_id`,
      [ORG],
    );
    expect(rows).toEqual(['İrepro', 'Prod', 'ＢＥＴＡ'].map((label) => ({ label, label_key: labelKey(label) })));
    expect(rows[2].label_key).toBe('beta');
  });

  it('lets "irepro" live beside "İrepro" and refuses "prod" beside "Prod" in one section', async () => {
    const insert = (id: number, provider: string, label: string) =>
      ds.query(
        `INSERT INTO credential_state (org_id, credential_id, provider, label, label_key, fields, secrets, version) VALUES ($1, $2, $3, $4, $5, '{}', '{}', 1)`,
        [...row(id, provider, label), labelKey(label)],
      );
    await expect(insert(4, 'gemini', 'irepro')).resolves.toBeDefined();
    await expect(insert(5, 'gemini', 'prod')).rejects.toMatchObject({
      code: '23505',
      constraint: 'credential_state_label_key_uq',
    });
    await expect(insert(6, 'openai', 'prod')).resolves.toBeDefined();
  });
});
