import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { SealedSecret } from '@keystream/credentials';
import { SecretContext, SecretDecryptError } from './secret-cipher';

/** The keyId of secrets sealed under their credential's own data key (found by org + credential). */
export const DEK_KEY_ID = 'dek:v1';

export class SecretShreddedError extends Error {
  readonly code = 'secret_shredded';
}

/** AES-256-GCM under a credential's DEK; AAD binds format version, org, credential and field. 128-bit tags only. */
export function sealWithDek(dek: Buffer, plaintext: string, ctx: SecretContext, fingerprint: string): SealedSecret {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', dek, iv, { authTagLength: 16 });
  c.setAAD(dekAad(ctx));
  const ciphertext = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  return {
    alg: 'A256GCM',
    keyId: DEK_KEY_ID,
    iv: iv.toString('base64url'),
    ciphertext: ciphertext.toString('base64url'),
    tag: c.getAuthTag().toString('base64url'),
    fingerprint,
    last4: plaintext.length >= 12 ? plaintext.slice(-4) : '',
  };
}

export function openWithDek(dek: Buffer, sealed: SealedSecret, ctx: SecretContext): string {
  return gcmOpen(dek, dekAad(ctx), sealed, ctx);
}

/** Opens the pre-envelope format (a key derived straight from a master key); `encKey` is that derived key. */
export function openLegacy(encKey: Buffer, sealed: SealedSecret, ctx: SecretContext): string {
  return gcmOpen(
    encKey,
    Buffer.from(JSON.stringify(['keystream/v1', ctx.orgId, ctx.credentialId, ctx.field])),
    sealed,
    ctx,
  );
}

/** The legacy format's encryption key and keyId for a master key (what SecretCipher derives). */
export function legacyKey(masterKey: Buffer): { keyId: string; key: Buffer } {
  const key = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'keystream/secret-encryption/v1', 32));
  return { keyId: legacyKeyId(key), key };
}

export function legacyKeyId(encKey: Buffer): string {
  return createHash('sha256').update(encKey).digest('hex').slice(0, 16);
}

/** Keyed per org, so equal keys in two orgs cannot be correlated from fingerprints. */
export function fingerprintWith(fpKey: Buffer, orgId: string, plaintext: string): string {
  return createHmac('sha256', fpKey).update(orgId).update('\0').update(plaintext).digest('base64url').slice(0, 22);
}

function gcmOpen(key: Buffer, aad: Buffer, sealed: SealedSecret, ctx: SecretContext): string {
  if (sealed.alg !== 'A256GCM') throw new SecretDecryptError(`secret sealed with unknown algorithm`);
  try {
    const tag = Buffer.from(sealed.tag, 'base64url');
    const iv = Buffer.from(sealed.iv, 'base64url');
    // A short tag would authenticate with fewer bits: accept exactly 128-bit tags and 96-bit nonces.
    if (tag.length !== 16 || iv.length !== 12) throw new Error('bad tag or nonce length');
    const d = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
    d.setAAD(aad);
    d.setAuthTag(tag);
    return Buffer.concat([d.update(Buffer.from(sealed.ciphertext, 'base64url')), d.final()]).toString('utf8');
  } catch {
    throw new SecretDecryptError(`secret for field ${ctx.field} failed authentication`);
  }
}

function dekAad(ctx: SecretContext): Buffer {
  return Buffer.from(JSON.stringify(['keystream/dek/v1', ctx.orgId, ctx.credentialId, ctx.field]));
}
