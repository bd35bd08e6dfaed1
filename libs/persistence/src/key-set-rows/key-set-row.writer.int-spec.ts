import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { keySetHash, SealedSecret, StoredCredential } from '@keystream/credentials';
import { newOrgId } from '@keystream/testing';
import { openDatabase } from '../data-source';
import { orgStreams } from '../repositories/org-streams.repository';
import { lockKeySetHeads, loadKeySetCredentials } from './key-set-heads';
import { keySetRowStatements, writeKeySetRows } from './key-set-row.writer';

const sealed = (n: number): SealedSecret => ({
  alg: 'A256GCM',
  keyId: 'k',
  iv: 'iv',
  ciphertext: `ct${n}`,
  tag: 't',
  fingerprint: `fp${n}`,
  last4: `000${n}`,
});
const cred = (id: string, label: string, version: number): StoredCredential => ({
  id,
  provider: 'gemini',
  label,
  fields: { note: `n${version}` },
  secrets: { apiKey: sealed(version) },
  version,
});

/** The one writer of the key-set projection (inline commit, projector, cutover), against real Postgres. */
describe('key-set row writer (real Postgres)', () => {
  let ds: DataSource;
  beforeAll(async () => (ds = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 2 })));
  afterAll(() => ds.destroy());

  async function org(): Promise<string> {
    const id = newOrgId('ksrw');
    await ds.transaction((m) => orgStreams.ensureOrg(m, id));
    await ds.transaction((m) => lockKeySetHeads(m, [id]));
    return id;
  }
  const head = async (orgId: string) =>
    (await ds.query(`SELECT epoch, version, hash FROM key_sets WHERE org_id = $1`, [orgId]))[0];
  const rows = async (orgId: string) =>
    [...(await loadKeySetCredentials(ds.manager, [orgId])).get(orgId)!.values()].sort((x, y) =>
      x.label.localeCompare(y.label),
    );

  it('swaps two labels within one write (old rows deleted first) and moves the head', async () => {
    const orgId = await org();
    const [a, b] = [randomUUID(), randomUUID()];
    const v1 = [cred(a, 'A', 1), cred(b, 'B', 2)];
    await ds.transaction((m) =>
      writeKeySetRows(m, {
        rows: v1.map((c) => ({ orgId, credential: c })),
        heads: [{ orgId, version: 2, hash: keySetHash(v1) }],
      }),
    );
    const v2 = [cred(a, 'B', 3), cred(b, 'A', 3)];
    const replaced = [a, b].map((credentialId) => ({ orgId, credentialId }));
    await ds.transaction((m) =>
      writeKeySetRows(m, {
        replaced,
        rows: v2.map((c) => ({ orgId, credential: c })),
        heads: [{ orgId, version: 3, hash: keySetHash(v2) }],
      }),
    );
    expect(await rows(orgId)).toEqual([cred(b, 'A', 3), cred(a, 'B', 3)]);
    expect(await head(orgId)).toEqual({ epoch: 1, version: 3, hash: keySetHash(v2) });
  });

  it('a cutover clears the org, writes its whole key set and moves it to a new epoch; other orgs are untouched', async () => {
    const [orgId, other] = [await org(), await org()];
    const old = [cred(randomUUID(), 'Old', 1)];
    for (const o of [orgId, other]) {
      await ds.transaction((m) =>
        writeKeySetRows(m, {
          rows: old.map((c) => ({ orgId: o, credential: c })),
          heads: [{ orgId: o, version: 1, hash: keySetHash(old) }],
        }),
      );
    }
    const rebuilt = [cred(randomUUID(), 'New', 1)];
    await ds.transaction((m) =>
      writeKeySetRows(m, {
        clearedOrgs: [orgId],
        rows: rebuilt.map((c) => ({ orgId, credential: c })),
        heads: [{ orgId, version: 1, hash: keySetHash(rebuilt) }],
        newEpoch: true,
      }),
    );
    expect(await rows(orgId)).toEqual(rebuilt);
    expect(await head(orgId)).toEqual({ epoch: 2, version: 1, hash: keySetHash(rebuilt) });
    expect(await rows(other)).toEqual(old);
    expect(await head(other)).toEqual({ epoch: 1, version: 1, hash: keySetHash(old) });
  });

  it('carries any text as a literal (the group commit sends it without parameters), and nothing for an empty write', async () => {
    const orgId = await org();
    const odd = {
      ...cred(randomUUID(), `it's $ks$ "quoted" \\ ${'\u00e9'}`, 1),
      fields: { note: "'); DROP TABLE key_sets; --" },
    };
    await ds.transaction((m) =>
      writeKeySetRows(m, {
        rows: [{ orgId, credential: odd }],
        heads: [{ orgId, version: 1, hash: keySetHash([odd]) }],
      }),
    );
    expect(await rows(orgId)).toEqual([odd]);
    expect(keySetRowStatements({ rows: [], heads: [] })).toEqual([]);
  });
});
