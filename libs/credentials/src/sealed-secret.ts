/**
 * A secret as it travels in events and rests in tables: ciphertext plus the two things the admin UI may show.
 * Produced by libs/crypto; the domain only moves it around and compares fingerprints.
 */
export interface SealedSecret {
  readonly alg: 'A256GCM';
  readonly keyId: string;
  readonly iv: string;
  readonly ciphertext: string;
  readonly tag: string;
  /** Keyed HMAC of the plaintext: equal secrets have equal fingerprints, without revealing them. */
  readonly fingerprint: string;
  readonly last4: string;
}

/** What the admin API returns in place of a secret. */
export interface MaskedSecret {
  readonly last4: string;
  readonly fingerprint: string;
}

export function mask(secret: SealedSecret): MaskedSecret {
  return { last4: secret.last4, fingerprint: secret.fingerprint };
}
