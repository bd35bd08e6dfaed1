import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentCredential, AgentKeySet } from '@keystream/agent-protocol';
import { CachedKeySet, KeySetCache } from './key-set-cache';

const ORG = 'org-key-set-cache-spec';
const FAKE_KEY = 'sk-proj-FAKEcacheSpec0000000000000000000000';
const FAKE_AWS_SECRET = 'FAKEwJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLE';

const credential = (id: string, value: string): AgentCredential => ({
  id,
  provider: 'openai',
  label: `Cache spec ${id}`,
  fields: { organization: 'org-FAKE' },
  secrets: { apiKey: { value, fingerprint: `fp-${id}` } },
});

const entry = (
  version: number,
  creds: AgentCredential[] = [credential('a', FAKE_KEY), credential('b', FAKE_AWS_SECRET)],
): CachedKeySet => ({
  orgId: ORG,
  keySet: { epoch: 3, version, credentials: new Map(creds.map((c) => [c.id, c])) } satisfies AgentKeySet,
});

describe('KeySetCache', () => {
  let dir: string;
  let warnings: string[];
  const logger = { warn: (m: string) => warnings.push(m) };
  const cacheAt = (name: string, encryptionKey?: Buffer) =>
    new KeySetCache({ path: join(dir, name), encryptionKey }, logger);
  const mode = (name: string) => statSync(join(dir, name)).mode & 0o777;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'keystream-cache-spec-'));
    warnings = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips a plaintext key set in a file only its owner can read', async () => {
    await cacheAt('plain.json').save(entry(7));
    const loaded = await cacheAt('plain.json').load();
    expect(loaded).toEqual(entry(7));
    expect(mode('plain.json')).toBe(0o600);
    expect(warnings).toEqual([]);
  });

  it('round-trips an encrypted key set and keeps every secret and label out of the file', async () => {
    const key = randomBytes(32);
    await cacheAt('sealed.json', key).save(entry(9));
    const raw = readFileSync(join(dir, 'sealed.json'), 'utf8');
    for (const plaintext of [FAKE_KEY, FAKE_AWS_SECRET, 'sk-proj-FAKE', 'Cache spec', ORG])
      expect(raw).not.toContain(plaintext);
    expect(mode('sealed.json')).toBe(0o600);
    expect(await cacheAt('sealed.json', key).load()).toEqual(entry(9));
  });

  it('ignores a file sealed with another key, with a warning and without throwing', async () => {
    await cacheAt('sealed.json', randomBytes(32)).save(entry(1));
    await expect(cacheAt('sealed.json', randomBytes(32)).load()).resolves.toBeUndefined();
    expect(warnings.join('\n')).toMatch(/cannot decrypt/);
  });

  it.each([
    ['garbage', 'not json at all'],
    ['truncated JSON', '{"format":"keystream-agent-cache","v":1,"snapshot":{"orgId"'],
    ['another document', '{"hello":"world"}'],
    ['empty', ''],
  ])('ignores a corrupt file (%s)', async (_name, content) => {
    writeFileSync(join(dir, 'corrupt.json'), content);
    await expect(cacheAt('corrupt.json').load()).resolves.toBeUndefined();
    await expect(cacheAt('corrupt.json', randomBytes(32)).load()).resolves.toBeUndefined();
    expect(warnings).toHaveLength(2);
  });

  it('ignores a tampered ciphertext', async () => {
    const key = randomBytes(32);
    await cacheAt('sealed.json', key).save(entry(2));
    const doc = JSON.parse(readFileSync(join(dir, 'sealed.json'), 'utf8'));
    const bytes = Buffer.from(doc.ciphertext, 'base64');
    bytes[5] ^= 0x01;
    writeFileSync(join(dir, 'sealed.json'), JSON.stringify({ ...doc, ciphertext: bytes.toString('base64') }));
    await expect(cacheAt('sealed.json', key).load()).resolves.toBeUndefined();
  });

  it('ignores a plaintext file whose content no longer matches its hash', async () => {
    await cacheAt('plain.json').save(entry(4));
    const path = join(dir, 'plain.json');
    writeFileSync(path, readFileSync(path, 'utf8').replace('"label":"Cache spec a"', '"label":"edited by hand"'));
    await expect(cacheAt('plain.json').load()).resolves.toBeUndefined();
    expect(warnings.join('\n')).toMatch(/hash/);
  });

  it('refuses a plaintext file when a key is configured, and an encrypted one without a key', async () => {
    await cacheAt('plain.json').save(entry(1));
    await cacheAt('sealed.json', randomBytes(32)).save(entry(1));
    await expect(cacheAt('plain.json', randomBytes(32)).load()).resolves.toBeUndefined();
    await expect(cacheAt('sealed.json').load()).resolves.toBeUndefined();
    expect(warnings).toHaveLength(2);
  });

  it('treats a missing file as no cache, silently', async () => {
    await expect(cacheAt('absent.json').load()).resolves.toBeUndefined();
    expect(warnings).toEqual([]);
  });

  it('coalesces rapid saves: the newest state wins and no temp file is left behind', async () => {
    const cache = cacheAt('nested/dir/cache.json');
    await Promise.all([1, 2, 3, 4].map((v) => cache.save(entry(v))));
    await cache.flush();
    expect((await cacheAt('nested/dir/cache.json').load())?.keySet.version).toBe(4);
    expect(readdirSync(join(dir, 'nested/dir'))).toEqual(['cache.json']);
  });

  it('rejects an encryption key that is not 32 bytes', () => {
    expect(() => cacheAt('x.json', randomBytes(16))).toThrow(/32 bytes/);
  });
});
