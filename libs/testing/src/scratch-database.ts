import { randomUUID } from 'node:crypto';
import { Client } from 'pg';

/**
 * A fresh database on the integration Postgres (DATABASE_URL), for a spec whose subject is database-wide (a KEK
 * rotation, a first start with an empty keyring). `drop()` removes it, connections and all.
 */
export async function scratchDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const base = process.env.DATABASE_URL;
  if (!base) throw new Error('DATABASE_URL is not set: the integration global setup provides it');
  const name = `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const admin = async (sql: string) => {
    const c = new Client({ connectionString: base });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const u = new URL(base);
  u.pathname = `/${name}`;
  // WITH (FORCE) may not end a backend of another role, e.g. an autovacuum worker that just started on the scratch
  // database (42501 for a non-superuser): it finishes in moments, so the drop is tried again.
  const drop = async (): Promise<void> => {
    for (let i = 1; ; i++) {
      try {
        return await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } catch (e) {
        if ((e as { code?: string }).code !== '42501' || i >= 20) throw e;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };
  return { url: u.toString(), drop };
}
