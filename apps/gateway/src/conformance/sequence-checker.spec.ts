import { createHash } from 'node:crypto';
import { KeySet } from './key-set';
import { RESUME_SLACK, SequenceChecker } from './sequence-checker';

/** The conformance agent's checks must be able to fail: each rule is shown breaking on a crafted sequence. */
const EMPTY = '4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945';
const added = (version: number, id: string) => ({
  version,
  type: 'CredentialAdded',
  credentialId: id,
  provider: 'gemini',
  label: `k${version}`,
  fields: {},
  secrets: { apiKey: { value: 'AIzaFAKE', fingerprint: `fp${version}` } },
});
const changes = (from: number, to: number, epoch = 1, orgId = 'acme') => ({
  orgId,
  epoch,
  fromVersion: from,
  toVersion: to,
  changes: Array.from({ length: to - from + 1 }, (_, i) => added(from + i, `id-${from + i}`)),
});

function started(): SequenceChecker {
  const c = new SequenceChecker('acme');
  c.connected();
  expect(c.snapshot({ orgId: 'acme', epoch: 1, version: 0, hash: EMPTY, credentials: [] })).toEqual({
    epoch: 1,
    version: 0,
  });
  return c;
}

describe('conformance SequenceChecker (docs/agent-protocol.md §3-§5)', () => {
  it('computes the worked example of §5 byte for byte', () => {
    const ks = KeySet.of([
      {
        id: 'f0e1d2c3-0000-4000-8000-000000000002',
        provider: 'gemini',
        label: 'Équipe Zürich 東京',
        fields: {},
        secrets: { apiKey: { fingerprint: 'Zm9vYmFyYmF6cXV4MDAwMQ' } },
      },
      {
        id: '0a1b2c3d-0000-4000-8000-000000000001',
        provider: 'openai',
        label: 'Prod "main"',
        fields: { project: 'proj_FAKE', baseUrl: 'https://api.openai.com/v1' },
        secrets: { apiKey: { fingerprint: 'c2stcHJvai1GQUtFMDAwMQ' } },
      },
    ]);
    expect(Buffer.byteLength(ks.canonicalText(), 'utf8')).toBe(287);
    expect(ks.hash()).toBe('b6022f18ff34a78b82d763c3d00210ecbf7faf8f5af36e4367278ce9dc3e7a89');
    expect(new KeySet().hash()).toBe(createHash('sha256').update('[]').digest('hex'));
  });

  it('accepts an ordered sequence and flags a repeat, a gap, another org and changes before the snapshot', () => {
    const c = started();
    expect(c.changes(changes(1, 3))).toEqual({ epoch: 1, version: 3 });
    expect(c.violations).toEqual([]);
    expect(c.changes(changes(3, 3))).toBeUndefined();
    expect(c.changes(changes(5, 5))).toBeUndefined();
    expect(c.changes(changes(4, 4, 1, 'other'))).toBeUndefined();
    const fresh = new SequenceChecker('acme');
    fresh.connected();
    fresh.changes(changes(1, 1));
    expect([...c.violations, ...fresh.violations].map((v) => v.replace(/^\[[^\]]+\] /, ''))).toEqual([
      'keys.changes v3-3 after v3: repeat',
      'keys.changes v5-5 after v3: gap',
      'keys.changes of another organization: other',
      'keys.changes v1-1 before the first snapshot of a session without resume',
    ]);
  });

  it('flags a wrong server hash, a snapshot whose hash is not its content, and an unsolicited snapshot', () => {
    const c = started();
    c.changes({ ...changes(1, 1), hash: EMPTY });
    c.snapshot({
      orgId: 'acme',
      epoch: 1,
      version: 1,
      hash: EMPTY,
      credentials: [{ id: 'x', provider: 'gemini', label: 'x', fields: {}, secrets: {} }],
    });
    expect(c.violations).toHaveLength(3);
    expect(c.violations[0]).toMatch(/server hash .* ≠ the applied key set's/);
    expect(c.violations[1]).toMatch(/unsolicited snapshot/);
    expect(c.violations[2]).toMatch(/is not the canonical hash of its credentials/);
  });

  it('lets a resync continue the sequence or restart it with a snapshot, and checks the answer against what arrived', () => {
    const c = started();
    c.changes(changes(1, 2));
    c.resyncSent();
    c.changes(changes(3, 3)); // sent before the server read the resync: the agent's position was not the socket's
    c.snapshot({
      orgId: 'acme',
      epoch: 1,
      version: 3,
      hash: c.keySet.hash(),
      credentials: [...c.keySet.credentials.values()],
    });
    c.resyncAnswered({ ok: true, result: 'snapshot' });
    c.resyncSent();
    c.changes(changes(4, 4));
    c.resyncAnswered({ ok: true, result: 'changes' });
    expect(c.violations).toEqual([]);
    c.resyncSent();
    c.changes(changes(4, 5)); // a "restart" that repeats v4 is a repeat, resync or not
    c.resyncAnswered({ ok: true, result: 'in-sync' });
    expect(c.violations.map((v) => v.replace(/^\[[^\]]+\] /, ''))).toEqual([
      'keys.changes v4-5 after v4: repeat',
      'resync from v4 answered "in-sync" but no such message arrived before the answer',
    ]);
  });

  it('speaks protocol 1 (§7): an in-sync resume is idle without a message; keys.insync is a breach', () => {
    const c = new SequenceChecker('acme', undefined, 1);
    c.connected();
    c.snapshot({ orgId: 'acme', epoch: 1, version: 0, hash: EMPTY, credentials: [] });
    c.connected(c.position);
    expect(c.idle).toBe(true);
    c.resyncSent();
    c.resyncAnswered({ ok: true, result: 'in-sync' });
    c.inSync({ orgId: 'acme', epoch: 1, version: 0, hash: EMPTY });
    expect(c.violations.map((v) => v.replace(/^\[[^\]]+\] /, ''))).toEqual(['keys.insync sent to a protocol 1 agent']);
  });

  it('answers a resume: changes from resume + 1, keys.insync at the position, never a snapshot within the window', () => {
    const c = started();
    c.changes(changes(1, 2));
    c.connected(c.position);
    c.inSync({ orgId: 'acme', epoch: 1, version: 2, hash: c.keySet.hash() });
    c.connected(c.position);
    c.snapshot({ orgId: 'acme', epoch: 1, version: 2 + RESUME_SLACK + 1, hash: EMPTY, credentials: [] });
    expect(c.violations.map((v) => v.replace(/^\[[^\]]+\] /, ''))).toEqual([
      `resume at e1/v2 (within the resume window) got a snapshot v${2 + RESUME_SLACK + 1} instead of changes (§3)`,
    ]);
  });

  it('accepts a snapshot answering a resume that may have been at the head, past it by saves landing meanwhile (§3)', () => {
    const c = started();
    c.changes(changes(1, 2));
    c.connected(c.position);
    c.snapshot({ orgId: 'acme', epoch: 1, version: 2 + RESUME_SLACK, hash: EMPTY, credentials: [] });
    expect(c.violations).toEqual([]);
  });
});
