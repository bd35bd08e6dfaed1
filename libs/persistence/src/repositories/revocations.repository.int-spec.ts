import { DataSource } from 'typeorm';
import { newOrgId } from '@keystream/testing';
import { openDatabase } from '../data-source';
import { orgStreams } from './org-streams.repository';
import { CoalescedRevocationLookup, revocations } from './revocations.repository';

describe('CoalescedRevocationLookup (real Postgres)', () => {
  let ds: DataSource;
  beforeAll(async () => (ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 4 })));
  afterAll(() => ds.destroy());

  it('answers lookups asked in one turn with one statement, each with its own row', async () => {
    const orgId = newOrgId('rev');
    await ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
    const revoked = await ds.transaction((m) => revocations.revoke(m, orgId, 'gone', 'admin'));
    const lookup = new CoalescedRevocationLookup(ds);
    const users = ['gone', 'stays', 'gone', 'other', 'stays'];
    const answers = await Promise.all(users.map((u) => lookup.revokedAt(orgId, u)));
    expect(lookup.statements).toBe(1);
    expect(answers.map((a) => a?.toISOString())).toEqual([
      revoked.revokedAt.replace(/(\.\d{3})\d*Z$/, '$1Z'),
      undefined,
      expect.any(String),
      undefined,
      undefined,
    ]);
    expect(answers[2]).toEqual(answers[0]);
    // Another org's user of the same name is not revoked.
    await expect(lookup.revokedAt(newOrgId('rev'), 'gone')).resolves.toBeUndefined();
    expect(lookup.statements).toBe(2);
  });

  it('never answers from an earlier read: a revocation committed before the lookup is asked is seen', async () => {
    const orgId = newOrgId('rev');
    await ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
    const lookup = new CoalescedRevocationLookup(ds);
    await expect(lookup.revokedAt(orgId, 'u1')).resolves.toBeUndefined();
    await ds.transaction((m) => revocations.revoke(m, orgId, 'u1', 'admin'));
    await expect(lookup.revokedAt(orgId, 'u1')).resolves.toBeInstanceOf(Date);
  });

  it('splits a turn with more lookups than one statement takes, and fails every waiter of a failed statement', async () => {
    const lookup = new CoalescedRevocationLookup(ds, 3);
    await Promise.all(Array.from({ length: 7 }, (_, i) => lookup.revokedAt(newOrgId('rev'), `u${i}`)));
    expect(lookup.statements).toBe(3);
    const broken = new CoalescedRevocationLookup({ query: () => Promise.reject(new Error('connection lost')) });
    await expect(Promise.all([broken.revokedAt('a', 'b'), broken.revokedAt('c', 'd')])).rejects.toThrow(
      'connection lost',
    );
  });
});
