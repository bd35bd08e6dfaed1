import type { SealedSecret } from '@keystream/credentials';
import { SecretCipher, SecretContext, SecretDecryptError } from './secret-cipher';

const MASTER_KEY = Buffer.alloc(32, 0x11);
const OTHER_MASTER_KEY = Buffer.alloc(32, 0x22);
const PLAINTEXT = 'sk-proj-FAKEFAKEFAKEFAKEFAKE-last';
const CTX: SecretContext = { orgId: 'org-cipher-spec', credentialId: 'cred-1', field: 'apiKey' };

const cipher = new SecretCipher(MASTER_KEY);

/** Flips one bit of a base64url field, keeping its length. */
function flipBit(value: string): string {
  const bytes = Buffer.from(value, 'base64url');
  bytes[0] ^= 0x01;
  return bytes.toString('base64url');
}

function openError(sealed: SealedSecret, ctx: SecretContext = CTX, by: SecretCipher = cipher): unknown {
  try {
    by.open(sealed, ctx);
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('SecretCipher', () => {
  it('opens what it sealed', () => {
    expect(cipher.open(cipher.seal(PLAINTEXT, CTX), CTX)).toBe(PLAINTEXT);
  });

  it('round-trips non-ASCII and long values', () => {
    const long = `FAKE-${'ü€'.repeat(2000)}`;
    expect(cipher.open(cipher.seal(long, CTX), CTX)).toBe(long);
  });

  it('opens with a second instance built from the same master key', () => {
    expect(new SecretCipher(Buffer.alloc(32, 0x11)).open(cipher.seal(PLAINTEXT, CTX), CTX)).toBe(PLAINTEXT);
  });

  it.each<[string, SecretContext]>([
    ['another org', { ...CTX, orgId: 'org-cipher-spec-other' }],
    ['another credential', { ...CTX, credentialId: 'cred-2' }],
    ['another field', { ...CTX, field: 'sessionToken' }],
  ])('refuses to open a ciphertext moved to %s', (_, elsewhere) => {
    expect(openError(cipher.seal(PLAINTEXT, CTX), elsewhere)).toBeInstanceOf(SecretDecryptError);
  });

  it.each<[string, keyof SealedSecret]>([
    ['ciphertext', 'ciphertext'],
    ['tag', 'tag'],
    ['iv', 'iv'],
  ])('refuses to open after one bit of the %s is flipped', (_, part) => {
    const sealed = cipher.seal(PLAINTEXT, CTX);
    expect(openError({ ...sealed, [part]: flipBit(sealed[part]) })).toBeInstanceOf(SecretDecryptError);
  });

  it('refuses to open with the ciphertext of another seal', () => {
    const a = cipher.seal(PLAINTEXT, CTX);
    const b = cipher.seal('sk-proj-FAKEFAKEFAKEFAKEFAKE-othr', CTX);
    expect(openError({ ...a, ciphertext: b.ciphertext })).toBeInstanceOf(SecretDecryptError);
  });

  // GCM tags must be checked at full length: with a 4-byte tag a forgery needs only ~2^32 tries.
  it('refuses to open with a truncated authentication tag', () => {
    const sealed = cipher.seal(PLAINTEXT, CTX);
    const truncated = Buffer.from(sealed.tag, 'base64url').subarray(0, 4).toString('base64url');
    expect(openError({ ...sealed, tag: truncated })).toBeInstanceOf(SecretDecryptError);
  });

  it('refuses to open a secret sealed under another master key', () => {
    const other = new SecretCipher(OTHER_MASTER_KEY);
    const sealed = other.seal(PLAINTEXT, CTX);
    expect(openError(sealed)).toBeInstanceOf(SecretDecryptError);
    // Even when the key id is forged to look like ours, authentication fails.
    expect(openError({ ...sealed, keyId: cipher.keyId })).toBeInstanceOf(SecretDecryptError);
  });

  it('never puts the plaintext or the context values in a decrypt error', () => {
    const sealed = cipher.seal(PLAINTEXT, CTX);
    const error = openError(
      { ...sealed, tag: flipBit(sealed.tag) },
      { ...CTX, orgId: 'org-cipher-spec-other' },
    ) as Error;
    expect(error.message).not.toContain(PLAINTEXT);
    expect(error.message).not.toContain(sealed.ciphertext);
    expect(error.message).not.toContain('org-cipher-spec-other');
  });

  it('gives equal fingerprints for the same org and plaintext', () => {
    const a = cipher.seal(PLAINTEXT, CTX);
    const b = cipher.seal(PLAINTEXT, { ...CTX, credentialId: 'cred-2', field: 'secretAccessKey' });
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.fingerprint).toBe(cipher.fingerprint(CTX.orgId, PLAINTEXT));
    expect(cipher.matches(a, CTX.orgId, PLAINTEXT)).toBe(true);
  });

  it('gives different fingerprints across orgs, plaintexts and master keys', () => {
    const fp = cipher.fingerprint(CTX.orgId, PLAINTEXT);
    expect(cipher.fingerprint('org-cipher-spec-other', PLAINTEXT)).not.toBe(fp);
    expect(cipher.fingerprint(CTX.orgId, `${PLAINTEXT}x`)).not.toBe(fp);
    expect(new SecretCipher(OTHER_MASTER_KEY).fingerprint(CTX.orgId, PLAINTEXT)).not.toBe(fp);
    expect(cipher.matches(cipher.seal(PLAINTEXT, CTX), 'org-cipher-spec-other', PLAINTEXT)).toBe(false);
  });

  it('never puts the plaintext in the sealed JSON', () => {
    const json = JSON.stringify(cipher.seal(PLAINTEXT, CTX));
    expect(json).not.toContain(PLAINTEXT);
    expect(json).not.toContain(PLAINTEXT.slice(0, -4));
    expect(json).not.toContain(Buffer.from(PLAINTEXT).toString('base64url').slice(0, 16));
  });

  it('keeps the last 4 characters for display', () => {
    expect(cipher.seal(PLAINTEXT, CTX).last4).toBe('last');
  });

  it('shows nothing of a secret too short to mask safely', () => {
    expect(cipher.seal('FAKE-short', CTX).last4).toBe('');
  });

  it('uses a fresh iv, so two seals of one plaintext differ', () => {
    const a = cipher.seal(PLAINTEXT, CTX);
    const b = cipher.seal(PLAINTEXT, CTX);
    expect(a.iv).not.toBe(b.iv);
    expect(a.ciphertext).not.toBe(b.ciphertext);
    expect([cipher.open(a, CTX), cipher.open(b, CTX)]).toEqual([PLAINTEXT, PLAINTEXT]);
  });

  it('labels each seal with its algorithm and a key id that depends on the master key', () => {
    const sealed = cipher.seal(PLAINTEXT, CTX);
    expect(sealed).toMatchObject({ alg: 'A256GCM', keyId: cipher.keyId });
    expect(Buffer.from(sealed.iv, 'base64url')).toHaveLength(12);
    expect(Buffer.from(sealed.tag, 'base64url')).toHaveLength(16);
    expect(new SecretCipher(OTHER_MASTER_KEY).keyId).not.toBe(cipher.keyId);
  });

  it('rejects a master key that is not 32 bytes', () => {
    expect(() => new SecretCipher(Buffer.alloc(16, 0x11))).toThrow('master key must be 32 bytes');
  });
});
