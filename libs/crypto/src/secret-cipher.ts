import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import type { SealedSecret } from '@keystream/credentials';

/** Where a secret belongs. Bound into the ciphertext as AAD, so a ciphertext moved elsewhere fails to open. */
export interface SecretContext {
  readonly orgId: string;
  readonly credentialId: string;
  readonly field: string;
}

export class SecretDecryptError extends Error {
  readonly code = 'secret_decrypt_failed';
}

/**
 * AES-256-GCM sealing with keys derived (HKDF-SHA256) from the master key: one for encryption, one for
 * fingerprints, so a fingerprint never helps decrypt. A random 96-bit nonce per seal.
 */
export class SecretCipher {
  readonly keyId: string;
  private readonly encKey: Buffer;
  private readonly fpKey: Buffer;

  constructor(masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error('master key must be 32 bytes');
    this.encKey = derive(masterKey, 'keystream/secret-encryption/v1');
    this.fpKey = derive(masterKey, 'keystream/fingerprint/v1');
    this.keyId = createHash('sha256').update(this.encKey).digest('hex').slice(0, 16);
  }

  seal(plaintext: string, ctx: SecretContext): SealedSecret {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.encKey, iv);
    cipher.setAAD(aad(ctx));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return {
      alg: 'A256GCM',
      keyId: this.keyId,
      iv: iv.toString('base64url'),
      ciphertext: ciphertext.toString('base64url'),
      tag: cipher.getAuthTag().toString('base64url'),
      fingerprint: this.fingerprint(ctx.orgId, plaintext),
      last4: plaintext.length >= 12 ? plaintext.slice(-4) : '',
    };
  }

  open(sealed: SealedSecret, ctx: SecretContext): string {
    if (sealed.alg !== 'A256GCM' || sealed.keyId !== this.keyId) {
      throw new SecretDecryptError(`secret sealed with unknown key ${sealed.keyId}`);
    }
    try {
      const tag = Buffer.from(sealed.tag, 'base64url');
      const iv = Buffer.from(sealed.iv, 'base64url');
      // A short tag would authenticate with fewer bits: accept exactly 128-bit tags and 96-bit nonces.
      if (tag.length !== 16 || iv.length !== 12) throw new Error('bad tag or nonce length');
      const decipher = createDecipheriv('aes-256-gcm', this.encKey, iv, { authTagLength: 16 });
      decipher.setAAD(aad(ctx));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      // Never include the ciphertext or context values that could help an attacker.
      throw new SecretDecryptError(`secret for field ${ctx.field} failed authentication`);
    }
  }

  /** Keyed per org, so equal keys in two orgs cannot be correlated from fingerprints. */
  fingerprint(orgId: string, plaintext: string): string {
    return createHmac('sha256', this.fpKey)
      .update(orgId)
      .update('\0')
      .update(plaintext)
      .digest('base64url')
      .slice(0, 22);
  }

  matches(sealed: SealedSecret, orgId: string, plaintext: string): boolean {
    const a = Buffer.from(sealed.fingerprint);
    const b = Buffer.from(this.fingerprint(orgId, plaintext));
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

function derive(master: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, 32));
}

function aad(ctx: SecretContext): Buffer {
  return Buffer.from(JSON.stringify(['keystream/v1', ctx.orgId, ctx.credentialId, ctx.field]));
}
