import { randomBytes } from 'node:crypto';
import { OrgNotFoundError, SealedSecret } from '@keystream/credentials';
import { DataKeyCache } from './data-key-cache';
import {
  DEK_KEY_ID,
  fingerprintWith,
  legacyKey,
  openLegacy,
  openWithDek,
  sealWithDek,
  SecretShreddedError,
} from './envelope';
import { KmsPort, WrappedKey } from './kms.port';
import { SecretContext, SecretDecryptError } from './secret-cipher';
import {
  DataKeyStore,
  dekContext,
  FINGERPRINT_KEYRING,
  KeyringMismatchError,
  keyringContext,
  LEGACY_KEYRING_PREFIX,
  ORG_FINGERPRINT_KEY,
} from './vault-keys';

export * from './vault-keys';

export interface SecretVaultOptions {
  /** Master keys whose pre-envelope secrets (legacy keyId) must stay readable: current first, then previous. */
  readonly legacyMasterKeys?: readonly Buffer[];
  readonly cacheSize?: number;
  readonly cacheTtlMs?: number;
}

/**
 * Envelope encryption: each credential has its own random 256-bit data key (DEK), wrapped by the KMS and
 * stored per org+credential; its secrets are sealed under it. Deleting the DEK row shreds the credential.
 * Fingerprints use a random key per org (ORG_FINGERPRINT_KEY), made on the org's first secret. The deployment's
 * keyring still holds its first fingerprint key: a process whose master key cannot unwrap it stops at start.
 */
export class SecretVault {
  readonly cache: DataKeyCache;
  private init?: Promise<void>;
  private readonly legacy = new Map<string, Buffer>();
  private readonly inflight = new Map<string, Promise<Buffer | undefined>>();
  private readonly orgKeys = new Map<string, Promise<Buffer>>();

  constructor(
    readonly kms: KmsPort,
    private readonly store: DataKeyStore,
    private readonly opts: SecretVaultOptions = {},
  ) {
    this.cache = new DataKeyCache(opts.cacheSize, opts.cacheTtlMs);
  }

  /** Loads (first use: creates) the keyring. Idempotent; every other method awaits it. */
  ready(): Promise<void> {
    this.init ??= this.load().catch((e) => {
      this.init = undefined;
      throw e;
    });
    return this.init;
  }

  /** A fresh DEK for a new credential, and its wrapped form to insert in the command's transaction. */
  async newDataKey(orgId: string, credentialId: string): Promise<{ dek: Buffer; wrapped: WrappedKey }> {
    const dek = randomBytes(32);
    return { dek, wrapped: await this.kms.wrap(dek, dekContext(orgId, credentialId)) };
  }

  /** The DEKs of these credentials that still exist (cache, else one load and one unwrap per credential). */
  async dataKeys(orgId: string, credentialIds: Iterable<string>): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    const missing: string[] = [];
    for (const id of new Set(credentialIds)) {
      const k = this.cache.get(orgId, id);
      if (k) out.set(id, k);
      else missing.push(id);
    }
    if (missing.length === 0) return out;
    const waits: Promise<void>[] = [];
    const toLoad: string[] = [];
    for (const id of missing) {
      const p = this.inflight.get(`${orgId}\0${id}`);
      if (p) waits.push(p.then((k) => void (k && out.set(id, k))));
      else toLoad.push(id);
    }
    if (toLoad.length > 0) {
      const loading = this.store.load(orgId, toLoad);
      for (const id of toLoad) {
        const key = `${orgId}\0${id}`;
        const p = loading
          .then(async (rows) => {
            const w = rows.get(id);
            if (!w) return undefined;
            const dek = await this.kms.unwrap(w, dekContext(orgId, id));
            this.cache.set(orgId, id, dek);
            return dek;
          })
          .finally(() => this.inflight.delete(key));
        this.inflight.set(key, p);
        waits.push(p.then((k) => void (k && out.set(id, k))));
      }
    }
    await Promise.all(waits);
    return out;
  }

  /** After the DEK's row committed. */
  remember(orgId: string, credentialId: string, dek: Buffer): void {
    this.cache.set(orgId, credentialId, dek);
  }

  /** After a removal committed (crypto-shredding): this process forgets the key too. */
  forget(orgId: string, credentialIds: Iterable<string>): void {
    for (const id of credentialIds) this.cache.delete(orgId, id);
  }

  /** After an org was deleted (its keys shredded): this process forgets every key of it it holds. */
  forgetOrg(orgId: string): void {
    this.cache.deleteOrg(orgId);
  }

  async fingerprint(orgId: string, plaintext: string): Promise<string> {
    await this.ready();
    return fingerprintWith(await this.orgFingerprintKey(orgId), orgId, plaintext);
  }

  /**
   * The org's fingerprint key: cached, else loaded, else created (first writer wins); an unknown or deleted org has
   * none. Concurrent callers share one lookup and resume in call order, so commands keep their arrival order.
   */
  private orgFingerprintKey(orgId: string): Promise<Buffer> {
    const cached = this.cache.get(orgId, ORG_FINGERPRINT_KEY);
    if (cached) return Promise.resolve(cached);
    let pending = this.orgKeys.get(orgId);
    if (!pending) {
      pending = this.loadOrCreateOrgKey(orgId).finally(() => this.orgKeys.delete(orgId));
      this.orgKeys.set(orgId, pending);
    }
    return pending;
  }

  private async loadOrCreateOrgKey(orgId: string): Promise<Buffer> {
    const existing = (await this.dataKeys(orgId, [ORG_FINGERPRINT_KEY])).get(ORG_FINGERPRINT_KEY);
    if (existing) return existing;
    await this.store.createOrgKey(
      orgId,
      ORG_FINGERPRINT_KEY,
      await this.kms.wrap(randomBytes(32), dekContext(orgId, ORG_FINGERPRINT_KEY)),
    );
    const made = (await this.dataKeys(orgId, [ORG_FINGERPRINT_KEY])).get(ORG_FINGERPRINT_KEY);
    if (!made) throw new OrgNotFoundError(orgId);
    return made;
  }

  async seal(plaintext: string, ctx: SecretContext, dek: Buffer): Promise<SealedSecret> {
    return sealWithDek(dek, plaintext, ctx, await this.fingerprint(ctx.orgId, plaintext));
  }

  /**
   * Synchronous open once `ready()` resolved and the credential's DEK was fetched (`dataKeys`).
   * DEK format without its key → SecretShreddedError; anything else that fails → SecretDecryptError.
   */
  open(sealed: SealedSecret, ctx: SecretContext, dek: Buffer | undefined): string {
    if (sealed.keyId === DEK_KEY_ID) {
      if (!dek) throw new SecretShreddedError(`the data key of this credential was destroyed (field ${ctx.field})`);
      return openWithDek(dek, sealed, ctx);
    }
    const legacy = this.legacy.get(sealed.keyId);
    if (!legacy) throw new SecretDecryptError(`secret sealed with unknown key ${sealed.keyId}`);
    return openLegacy(legacy, sealed, ctx);
  }

  /** One secret, from nothing (CLI, tests). */
  async openSecret(sealed: SealedSecret, ctx: SecretContext): Promise<string> {
    await this.ready();
    const deks =
      sealed.keyId === DEK_KEY_ID ? await this.dataKeys(ctx.orgId, [ctx.credentialId]) : new Map<string, Buffer>();
    return this.open(sealed, ctx, deks.get(ctx.credentialId));
  }

  private async load(): Promise<void> {
    // Each name is looked up among the entries this process can unwrap, preferring the current KEK's.
    const usable = async (): Promise<Map<string, Buffer>> => {
      const out = new Map<string, Buffer>();
      const entries = (await this.store.keyring()).sort(
        (a, b) => Number(b.wrapped.kekId === this.kms.currentKeyId) - Number(a.wrapped.kekId === this.kms.currentKeyId),
      );
      for (const { name, wrapped } of entries) {
        if (out.has(name)) continue;
        const key = await this.kms.unwrap(wrapped, keyringContext(name)).catch(() => undefined);
        if (key) out.set(name, key);
      }
      return out;
    };
    let ring = await usable();
    let created = false;
    if (!ring.has(FINGERPRINT_KEYRING)) {
      // One fingerprint key per deployment: one that exists but does not unwrap here means a wrong master key, and
      // making another would silently give every new secret fingerprints that match nothing before it.
      const theirs = (await this.store.keyring())
        .filter((e) => e.name === FINGERPRINT_KEYRING)
        .map((e) => e.wrapped.kekId);
      if (theirs.length > 0) throw new KeyringMismatchError(theirs, this.kms.currentKeyId);
      await this.store.createKeyring(
        FINGERPRINT_KEYRING,
        await this.kms.wrap(randomBytes(32), keyringContext(FINGERPRINT_KEYRING)),
      );
      created = true;
    }
    // Pre-envelope secrets stay readable after their master key leaves the config: their key joins the keyring.
    for (const master of this.opts.legacyMasterKeys ?? []) {
      const { keyId, key } = legacyKey(master);
      this.legacy.set(keyId, key);
      const name = LEGACY_KEYRING_PREFIX + keyId;
      if (!ring.has(name)) {
        await this.store.createKeyring(name, await this.kms.wrap(key, keyringContext(name)));
        created = true;
      }
    }
    if (created) ring = await usable();
    const fpKey = ring.get(FINGERPRINT_KEYRING);
    if (!fpKey) {
      // Another process created the deployment's fingerprint key first, under a KEK this one does not have.
      const theirs = (await this.store.keyring())
        .filter((e) => e.name === FINGERPRINT_KEYRING)
        .map((e) => e.wrapped.kekId);
      throw new KeyringMismatchError(theirs, this.kms.currentKeyId);
    }
    for (const [name, key] of ring) {
      if (name.startsWith(LEGACY_KEYRING_PREFIX) && !this.legacy.has(name.slice(LEGACY_KEYRING_PREFIX.length)))
        this.legacy.set(name.slice(LEGACY_KEYRING_PREFIX.length), key);
    }
  }
}
