import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { KeyUnwrapError, KmsContext, KmsPort, WrappedKey } from './kms.port';

interface Kek {
  readonly id: string;
  readonly key: Buffer;
}

/**
 * The KMS port on local keys: the KEK is derived (HKDF-SHA256) from KEYSTREAM_MASTER_KEY; previous master
 * keys (KEYSTREAM_PREVIOUS_MASTER_KEYS) can still unwrap, never wrap. Wrapping is AES-256-GCM with the
 * context as AAD.
 */
export class LocalKmsAdapter implements KmsPort {
  readonly currentKeyId: string;
  private readonly current: Kek;
  private readonly byId = new Map<string, Kek>();

  constructor(masterKey: Buffer, previousMasterKeys: readonly Buffer[] = []) {
    this.current = kek(masterKey);
    this.currentKeyId = this.current.id;
    for (const k of [this.current, ...previousMasterKeys.map(kek)]) if (!this.byId.has(k.id)) this.byId.set(k.id, k);
  }

  /** Ids of every KEK this adapter can unwrap with (current first). */
  get keyIds(): string[] {
    return [...this.byId.keys()];
  }

  async wrap(dek: Buffer, ctx: KmsContext): Promise<WrappedKey> {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.current.key, iv);
    c.setAAD(contextAad(this.current.id, ctx));
    const ciphertext = Buffer.concat([c.update(dek), c.final()]);
    return {
      kekId: this.current.id,
      alg: 'A256GCM',
      iv: iv.toString('base64url'),
      ciphertext: ciphertext.toString('base64url'),
      tag: c.getAuthTag().toString('base64url'),
    };
  }

  async unwrap(wrapped: WrappedKey, ctx: KmsContext): Promise<Buffer> {
    const k = this.byId.get(wrapped.kekId);
    if (!k || wrapped.alg !== 'A256GCM')
      throw new KeyUnwrapError(`data key wrapped under unknown key-encryption key ${wrapped.kekId}`);
    try {
      const iv = Buffer.from(wrapped.iv, 'base64url');
      const tag = Buffer.from(wrapped.tag, 'base64url');
      if (iv.length !== 12 || tag.length !== 16) throw new Error('bad nonce or tag length');
      const d = createDecipheriv('aes-256-gcm', k.key, iv, { authTagLength: 16 });
      d.setAAD(contextAad(k.id, ctx));
      d.setAuthTag(tag);
      return Buffer.concat([d.update(Buffer.from(wrapped.ciphertext, 'base64url')), d.final()]);
    } catch {
      throw new KeyUnwrapError(`data key under ${wrapped.kekId} failed authentication`);
    }
  }
}

function kek(master: Buffer): Kek {
  if (master.length !== 32) throw new Error('master key must be 32 bytes');
  const key = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'keystream/key-encryption-key/v1', 32));
  // The id is derived separately, so publishing it says nothing about the key.
  const id = `local:${createHash('sha256')
    .update(Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'keystream/key-encryption-key-id/v1', 32)))
    .digest('hex')
    .slice(0, 16)}`;
  return { id, key };
}

function contextAad(kekId: string, ctx: KmsContext): Buffer {
  const entries = Object.entries(ctx).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(JSON.stringify(['keystream/wrap/v1', kekId, entries]));
}
