import { DataSource } from 'typeorm';
import { openDatabase } from '../data-source';
import { DOLLAR_TAG, jsonb, sqlArray, sqlText } from './sql-literals';

/** The literals the group commit sends in its multi-statement round trips, read back by a real Postgres. */
describe('SQL literals (real Postgres)', () => {
  let ds: DataSource;
  beforeAll(async () => (ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 2 })));
  afterAll(() => ds.destroy());

  const nasty = [
    "it's",
    "'; DROP TABLE events; --",
    "back\\slash \\' and \\\\",
    '$$ dollar $$ $tag$ $ks$',
    `closes the quote: ${DOLLAR_TAG}); DROP TABLE events; --`,
    'ünïcødé ✓ 🔑',
    '',
  ];

  it('reads every text back exactly, including one that contains the dollar tag itself', async () => {
    for (const s of nasty) {
      const [{ v }] = await ds.query(`SELECT ${sqlText(s)}::text AS v`);
      expect(v).toBe(s);
    }
    expect(sqlText(`x${DOLLAR_TAG}y`).startsWith(DOLLAR_TAG)).toBe(false);
    // A text ending in the tag minus its last '$' would close the quote early: escaped instead, read back exactly.
    const almost = `tail ${DOLLAR_TAG.slice(0, -1)}`;
    expect(sqlText(almost).startsWith(DOLLAR_TAG)).toBe(false);
    const [{ v: back }] = await ds.query(`SELECT ${sqlText(almost)}::text AS v`);
    expect(back).toBe(almost);
  });

  it('reads JSON and arrays back exactly', async () => {
    const value = { labels: nasty, n: 42, nested: { q: "'" } };
    const [{ v }] = await ds.query(`SELECT ${jsonb(value)} AS v`);
    expect(v).toEqual(value);
    const [{ a, n, e }] = await ds.query(
      `SELECT ${sqlArray(nasty, 'text')} AS a, ${sqlArray([1, 2, 3], 'integer')} AS n, ${sqlArray([], 'text')} AS e`,
    );
    expect(a).toEqual(nasty);
    expect(n).toEqual([1, 2, 3]);
    expect(e).toEqual([]);
    expect(() => sqlArray([1.5], 'integer')).toThrow('not an integer');
  });
});
