import { randomBytes } from 'node:crypto';
import { OrgNotFoundError, SealedSecret } from '@keystream/credentials';
import { DataKeyCache } from './data-key-cache';
import { DEK_KEY_ID, legacyKey, openWithDek, sealWithDek, SecretShreddedError } from './envelope';
import { KeyUnwrapError, WrappedKey } from './kms.port';
import { LocalKmsAdapter } from './local-kms.adapter';
import { SecretCipher, SecretContext, SecretDecryptError } from './secret-cipher';
import { DataKeyStore, dekContext, KeyringMismatchError, ORG_FINGERPRINT_KEY, SecretVault } from './secret-vault';

// Fake keys only.
const OLD_MASTER = Buffer.alloc(32, 0x31);
const NEW_MASTER = Buffer.alloc(32, 0x32);
const CTX: SecretContext = { orgId: 'org-a', credentialId: 'cred-1', field: 'apiKey' };
const PLAINTEXT = 'sk-proj-FAKEFAKEFAKEFAKEFAKE-envl';

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}
async function rejected(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

class MemoryStore implements DataKeyStore {
  readonly keys = new Map<string, WrappedKey>();
  readonly ring = new Map<string, WrappedKey>(); // one lineage is enough here
  loads = 0;
  async load(orgId: string, ids: readonly string[]) {
    this.loads++;
    return new Map(
      ids.flatMap((id) => (this.keys.has(`${orgId}/${id}`) ? [[id, this.keys.get(`${orgId}/${id}`)!] as const] : [])),
    );
  }
  async keyring() {
    return [...this.ring].map(([name, wrapped]) => ({ name, wrapped }));
  }
  async createKeyring(name: string, w: WrappedKey) {
    if (!this.ring.has(name)) this.ring.set(name, w);
  }
  readonly deletedOrgs = new Set<string>();
  async createOrgKey(orgId: string, name: string, w: WrappedKey) {
    if (!this.deletedOrgs.has(orgId) && !this.keys.has(`${orgId}/${name}`)) this.keys.set(`${orgId}/${name}`, w);
  }
}

describe('LocalKmsAdapter', () => {
  const dek = randomBytes(32);
  const ctx = dekContext('org-a', 'cred-1');

  it('unwraps what it wrapped, under its current KEK id', async () => {
    const kms = new LocalKmsAdapter(OLD_MASTER);
    const w = await kms.wrap(dek, ctx);
    expect(w.kekId).toBe(kms.currentKeyId);
    expect(w.kekId).toMatch(/^local:[0-9a-f]{16}$/);
    expect(Buffer.from(w.ciphertext, 'base64url').equals(dek)).toBe(false);
    expect((await kms.unwrap(w, ctx)).equals(dek)).toBe(true);
  });

  it('a wrong KEK cannot unwrap (unknown key id, or a forged id)', async () => {
    const w = await new LocalKmsAdapter(OLD_MASTER).wrap(dek, ctx);
    const other = new LocalKmsAdapter(NEW_MASTER);
    expect(await rejected(other.unwrap(w, ctx))).toBeInstanceOf(KeyUnwrapError);
    expect(await rejected(other.unwrap({ ...w, kekId: other.currentKeyId }, ctx))).toBeInstanceOf(KeyUnwrapError);
  });

  it('previous keys unwrap but never wrap', async () => {
    const old = new LocalKmsAdapter(OLD_MASTER);
    const w = await old.wrap(dek, ctx);
    const rotated = new LocalKmsAdapter(NEW_MASTER, [OLD_MASTER]);
    expect(rotated.currentKeyId).not.toBe(old.currentKeyId);
    expect((await rotated.unwrap(w, ctx)).equals(dek)).toBe(true);
    expect((await rotated.wrap(dek, ctx)).kekId).toBe(rotated.currentKeyId);
  });

  it('binds the context: a wrapped key moved to another credential or org fails', async () => {
    const kms = new LocalKmsAdapter(OLD_MASTER);
    const w = await kms.wrap(dek, ctx);
    expect(await rejected(kms.unwrap(w, dekContext('org-a', 'cred-2')))).toBeInstanceOf(KeyUnwrapError);
    expect(await rejected(kms.unwrap(w, dekContext('org-b', 'cred-1')))).toBeInstanceOf(KeyUnwrapError);
  });
});

describe('envelope sealing', () => {
  const dek = randomBytes(32);
  const sealed = sealWithDek(dek, PLAINTEXT, CTX, 'fp');

  it('round-trips, with a fresh 96-bit nonce, a 128-bit tag and the dek keyId', () => {
    expect(openWithDek(dek, sealed, CTX)).toBe(PLAINTEXT);
    expect(sealed.keyId).toBe(DEK_KEY_ID);
    expect(Buffer.from(sealed.iv, 'base64url')).toHaveLength(12);
    expect(Buffer.from(sealed.tag, 'base64url')).toHaveLength(16);
    expect(sealWithDek(dek, PLAINTEXT, CTX, 'fp').iv).not.toBe(sealed.iv);
    expect(sealed.last4).toBe('envl');
  });

  it.each([
    ['another org', { ...CTX, orgId: 'org-b' }],
    ['another credential', { ...CTX, credentialId: 'cred-2' }],
    ['another field', { ...CTX, field: 'secretAccessKey' }],
  ])('a ciphertext moved to %s fails to decrypt', (_, ctx) => {
    expect(thrown(() => openWithDek(dek, sealed, ctx))).toBeInstanceOf(SecretDecryptError);
  });

  it('another DEK, a truncated tag or a flipped bit fail', () => {
    expect(thrown(() => openWithDek(randomBytes(32), sealed, CTX))).toBeInstanceOf(SecretDecryptError);
    const shortTag: SealedSecret = {
      ...sealed,
      tag: Buffer.from(sealed.tag, 'base64url').subarray(0, 12).toString('base64url'),
    };
    expect(thrown(() => openWithDek(dek, shortTag, CTX))).toBeInstanceOf(SecretDecryptError);
    const ct = Buffer.from(sealed.ciphertext, 'base64url');
    ct[0] ^= 1;
    expect(thrown(() => openWithDek(dek, { ...sealed, ciphertext: ct.toString('base64url') }, CTX))).toBeInstanceOf(
      SecretDecryptError,
    );
  });
});

describe('SecretVault', () => {
  it('seals under a per-credential DEK and opens after a KEK rotation; a deleted DEK shreds the secret', async () => {
    const store = new MemoryStore();
    const vault = new SecretVault(new LocalKmsAdapter(OLD_MASTER), store);
    const { dek, wrapped } = await vault.newDataKey(CTX.orgId, CTX.credentialId);
    store.keys.set(`${CTX.orgId}/${CTX.credentialId}`, wrapped);
    const sealed = await vault.seal(PLAINTEXT, CTX, dek);
    expect(await vault.openSecret(sealed, CTX)).toBe(PLAINTEXT);

    // A new process with the new KEK and the old one as previous: the same secret and the same fingerprint.
    const rotated = new SecretVault(new LocalKmsAdapter(NEW_MASTER, [OLD_MASTER]), store);
    expect(await rotated.openSecret(sealed, CTX)).toBe(PLAINTEXT);
    expect(await rotated.fingerprint(CTX.orgId, PLAINTEXT)).toBe(sealed.fingerprint);

    store.keys.clear();
    const fresh = new SecretVault(new LocalKmsAdapter(OLD_MASTER), store);
    expect(await rejected(fresh.openSecret(sealed, CTX))).toBeInstanceOf(SecretShreddedError);
    vault.forget(CTX.orgId, [CTX.credentialId]);
    expect(await rejected(vault.openSecret(sealed, CTX))).toBeInstanceOf(SecretShreddedError);
  });

  it('unwraps once per credential, however many opens', async () => {
    const store = new MemoryStore();
    const kms = new LocalKmsAdapter(OLD_MASTER);
    const unwrap = jest.spyOn(kms, 'unwrap');
    const vault = new SecretVault(kms, store);
    const { dek, wrapped } = await vault.newDataKey('o', 'c');
    store.keys.set('o/c', wrapped);
    const sealed = await vault.seal(PLAINTEXT, { orgId: 'o', credentialId: 'c', field: 'apiKey' }, dek);
    await vault.ready();
    unwrap.mockClear();
    await Promise.all(
      Array.from({ length: 50 }, () => vault.openSecret(sealed, { orgId: 'o', credentialId: 'c', field: 'apiKey' })),
    );
    expect(unwrap).toHaveBeenCalledTimes(1);
  });

  it('keeps pre-envelope secrets (legacy keyId) readable, also after their master key left the config', async () => {
    const store = new MemoryStore();
    const legacy = new SecretCipher(OLD_MASTER).seal(PLAINTEXT, CTX);
    expect(legacy.keyId).toBe(legacyKey(OLD_MASTER).keyId);
    const before = new SecretVault(new LocalKmsAdapter(OLD_MASTER), store, { legacyMasterKeys: [OLD_MASTER] });
    expect(await before.openSecret(legacy, CTX)).toBe(PLAINTEXT);
    // After rotation the keyring is rewrapped under the new KEK (simulated here); the old master key is gone.
    const oldKms = new LocalKmsAdapter(OLD_MASTER);
    const newKms = new LocalKmsAdapter(NEW_MASTER);
    for (const [name, w] of store.ring)
      store.ring.set(
        name,
        await newKms.wrap(await oldKms.unwrap(w, { purpose: 'keyring', name }), { purpose: 'keyring', name }),
      );
    const after = new SecretVault(newKms, store, { legacyMasterKeys: [NEW_MASTER] });
    expect(await after.openSecret(legacy, CTX)).toBe(PLAINTEXT);
  });

  it('refuses to start with a master key that cannot unwrap the existing fingerprint key, instead of making a second one', async () => {
    const store = new MemoryStore();
    await new SecretVault(new LocalKmsAdapter(OLD_MASTER), store).ready();
    const before = [...store.ring.keys()];
    const wrongKms = new LocalKmsAdapter(NEW_MASTER); // and not OLD_MASTER as a previous key
    const err = await rejected(new SecretVault(wrongKms, store).ready());
    expect(err).toBeInstanceOf(KeyringMismatchError);
    expect((err as Error).message).toContain(new LocalKmsAdapter(OLD_MASTER).currentKeyId);
    expect((err as Error).message).toContain(wrongKms.currentKeyId);
    expect((err as Error).message).toContain('KEYSTREAM_PREVIOUS_MASTER_KEYS');
    expect([...store.ring.keys()]).toEqual(before);
    // With the old key as a previous key the same process starts (a rotation in progress).
    await expect(
      new SecretVault(new LocalKmsAdapter(NEW_MASTER, [OLD_MASTER]), store).ready(),
    ).resolves.toBeUndefined();
  });
});

describe('per-org fingerprint key', () => {
  it('is made once per org, shared by every process, and gone with the org: no process can check a guess afterwards', async () => {
    const store = new MemoryStore();
    const a = new SecretVault(new LocalKmsAdapter(OLD_MASTER), store);
    const b = new SecretVault(new LocalKmsAdapter(OLD_MASTER), store);
    const fp = await a.fingerprint('org-a', PLAINTEXT);
    expect(await b.fingerprint('org-a', PLAINTEXT)).toBe(fp);
    expect(store.keys.has(`org-a/${ORG_FINGERPRINT_KEY}`)).toBe(true);
    // Another org: another key, so equal secrets do not correlate across orgs.
    expect(await a.fingerprint('org-b', PLAINTEXT)).not.toBe(fp);
    // The org is deleted: its keys are shredded and it may not get new ones.
    store.keys.delete(`org-a/${ORG_FINGERPRINT_KEY}`);
    store.deletedOrgs.add('org-a');
    a.forgetOrg('org-a');
    b.forgetOrg('org-a');
    const fresh = new SecretVault(new LocalKmsAdapter(OLD_MASTER), store);
    for (const v of [a, b, fresh])
      expect(await rejected(v.fingerprint('org-a', PLAINTEXT))).toBeInstanceOf(OrgNotFoundError);
  });
});

describe('DataKeyCache', () => {
  it('is bounded (least recently used goes first) and expires', () => {
    let now = 0;
    const c = new DataKeyCache(2, 1000, () => now);
    const k = () => randomBytes(32);
    c.set('o', 'a', k());
    c.set('o', 'b', k());
    c.get('o', 'a');
    c.set('o', 'c', k());
    expect(c.size).toBe(2);
    expect(c.get('o', 'b')).toBeUndefined();
    expect(c.get('o', 'a')).toBeDefined();
    now = 2000;
    expect(c.get('o', 'a')).toBeUndefined();
  });
  it('forgets every key of one org, and only of that org', () => {
    const c = new DataKeyCache();
    c.set('o', 'a', randomBytes(32));
    c.set('o', 'b', randomBytes(32));
    c.set('o2', 'a', randomBytes(32));
    c.deleteOrg('o');
    expect([c.get('o', 'a'), c.get('o', 'b')]).toEqual([undefined, undefined]);
    expect(c.get('o2', 'a')).toBeDefined();
  });
});
