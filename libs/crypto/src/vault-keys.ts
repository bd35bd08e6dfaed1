import { KmsContext, WrappedKey } from './kms.port';

/**
 * Where wrapped keys live (libs/persistence implements it on Postgres). In-transaction inserts/deletes go through the
 * repository.
 */
export interface DataKeyStore {
  /** The wrapped DEKs of those credentials that still have one (a shredded credential has none). */
  load(orgId: string, credentialIds: readonly string[]): Promise<Map<string, WrappedKey>>;
  /** Every keyring entry (a handful of rows; a name may have one entry per KEK lineage). */
  keyring(): Promise<KeyringEntry[]>;
  /** Inserts unless an entry of that name exists under any KEK: the first writer wins, even between processes. */
  createKeyring(name: string, wrapped: WrappedKey): Promise<void>;
  /**
   * Inserts an org-wide key (stored with the org's data keys, under a name no credential id can take) unless one
   * exists; never for an unknown or deleted org, whose keys must stay gone.
   */
  createOrgKey(orgId: string, name: string, wrapped: WrappedKey): Promise<void>;
}

export interface KeyringEntry {
  readonly name: string;
  readonly wrapped: WrappedKey;
}

export const FINGERPRINT_KEYRING = 'fingerprint';
export const LEGACY_KEYRING_PREFIX = 'legacy-secret-key:';
/**
 * Each org's fingerprint (HMAC) key lives among the org's data keys under this name (credential ids are UUIDs): it
 * is rotated with them by `keys rotate-kek` and shredded with them when the org is deleted, after which no
 * fingerprint of the org can be checked against a guess.
 */
export const ORG_FINGERPRINT_KEY = 'org-fingerprint';

export const dekContext = (orgId: string, credentialId: string): KmsContext => ({
  purpose: 'dek',
  orgId,
  credentialId,
});
export const keyringContext = (name: string): KmsContext => ({ purpose: 'keyring', name });

/** The deployment's keyring was made under key-encryption keys this process does not have. */
export class KeyringMismatchError extends Error {
  readonly code = 'keyring_mismatch';
  constructor(
    readonly keyringKekIds: readonly string[],
    readonly currentKekId: string,
  ) {
    super(
      `does not unwrap this deployment's fingerprint key (wrapped under key-encryption key ${[...new Set(keyringKekIds)].join(', ')}; ` +
        `this master key's is ${currentKekId}): start with the master key that created it, or list that key in KEYSTREAM_PREVIOUS_MASTER_KEYS while rotating`,
    );
  }
}
