/**
 * The key-encryption-key boundary. Data keys (DEKs) never leave a process unwrapped except to this port;
 * a cloud KMS (AWS KMS, GCP KMS, Vault transit) can implement it. `ctx` is bound to the wrapped key (an
 * encryption context, like AWS KMS's): a wrapped key copied to another org or credential fails to unwrap.
 */
export interface KmsPort {
  /** The KEK new wraps use; a wrapped key under another id is due for rotation. */
  readonly currentKeyId: string;
  wrap(dek: Buffer, ctx: KmsContext): Promise<WrappedKey>;
  unwrap(wrapped: WrappedKey, ctx: KmsContext): Promise<Buffer>;
}

export type KmsContext = Readonly<Record<string, string>>;

/** A DEK (or keyring key) sealed under a KEK; stored as jsonb. */
export interface WrappedKey {
  readonly kekId: string;
  readonly alg: 'A256GCM';
  readonly iv: string;
  readonly ciphertext: string;
  readonly tag: string;
}

export class KeyUnwrapError extends Error {
  readonly code = 'key_unwrap_failed';
}
