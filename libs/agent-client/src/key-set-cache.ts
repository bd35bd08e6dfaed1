import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { AgentKeySet, agentKeySetHash, SnapshotMessage } from '@keystream/agent-protocol';
import { isSnapshotMessage } from './server-message-guards';

export interface KeySetCacheOptions {
  readonly path: string;
  /** 32 bytes: the file is sealed with AES-256-GCM. Without it the file holds plaintext, mode 0600. */
  readonly encryptionKey?: Buffer;
}

export interface CachedKeySet {
  readonly orgId: string;
  readonly keySet: AgentKeySet;
}

const FORMAT = 'keystream-agent-cache';
const AAD = Buffer.from(`${FORMAT}/v1`);

/**
 * The agent's last verified key set on disk, so it has keys while the server is unreachable.
 * Writes are atomic (temp file + rename) and coalesced: only the newest state is written.
 * Anything unreadable is ignored with a warning; the server's snapshot replaces it.
 */
export class KeySetCache {
  private latest?: CachedKeySet;
  private writing?: Promise<void>;

  constructor(
    private readonly options: KeySetCacheOptions,
    private readonly logger: { warn(message: string): void },
  ) {
    if (options.encryptionKey && options.encryptionKey.length !== 32)
      throw new Error('cache.encryptionKey must be 32 bytes (AES-256-GCM)');
  }

  async load(): Promise<CachedKeySet | undefined> {
    let raw: string;
    try {
      raw = await fs.readFile(this.options.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.logger.warn(`cache ${this.options.path} unreadable (${(e as NodeJS.ErrnoException).code}); ignored`);
      return undefined;
    }
    try {
      const snapshot = this.decode(raw);
      if (!isSnapshotMessage(snapshot)) throw new Error('unexpected content');
      if (agentKeySetHash(snapshot.credentials) !== snapshot.hash) throw new Error('content does not match its hash');
      const credentials = new Map(snapshot.credentials.map((c) => [c.id, c]));
      return { orgId: snapshot.orgId, keySet: { epoch: snapshot.epoch, version: snapshot.version, credentials } };
    } catch (e) {
      this.logger.warn(`cache ${this.options.path} ignored: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** Resolves once `entry` (or a newer one) is on disk; never rejects — a failed write is a warning. */
  save(entry: CachedKeySet): Promise<void> {
    this.latest = entry;
    this.writing ??= this.writeLoop();
    return this.writing;
  }

  async flush(): Promise<void> {
    await this.writing;
  }

  private async writeLoop(): Promise<void> {
    for (let entry = this.latest; entry; entry = this.latest) {
      this.latest = undefined;
      try {
        await this.writeAtomic(this.encode(entry));
      } catch (e) {
        this.logger.warn(`cache ${this.options.path} not written: ${(e as Error).message}`);
      }
    }
    // Cleared in the same tick as the last check of `latest`, so a save() never lands on a finished loop.
    this.writing = undefined;
  }

  private encode({ orgId, keySet }: CachedKeySet): string {
    const credentials = [...keySet.credentials.values()];
    const snapshot: SnapshotMessage = {
      orgId,
      epoch: keySet.epoch,
      version: keySet.version,
      hash: agentKeySetHash(credentials),
      credentials,
    };
    const key = this.options.encryptionKey;
    if (!key) return JSON.stringify({ format: FORMAT, v: 1, snapshot });
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(AAD);
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(snapshot), 'utf8'), cipher.final()]);
    const b64 = (b: Buffer) => b.toString('base64');
    return JSON.stringify({
      format: FORMAT,
      v: 1,
      alg: 'aes-256-gcm',
      iv: b64(iv),
      tag: b64(cipher.getAuthTag()),
      ciphertext: b64(ciphertext),
    });
  }

  private decode(raw: string): unknown {
    const doc = JSON.parse(raw) as Record<string, unknown>;
    if (doc?.format !== FORMAT || doc.v !== 1) throw new Error('not a keystream agent cache');
    const key = this.options.encryptionKey;
    // A configured key means plaintext is never trusted: the file is rewritten sealed on the next save.
    if (!key) {
      if (doc.alg !== undefined) throw new Error('file is encrypted and no encryptionKey was given');
      return doc.snapshot;
    }
    if (
      doc.alg !== 'aes-256-gcm' ||
      typeof doc.iv !== 'string' ||
      typeof doc.tag !== 'string' ||
      typeof doc.ciphertext !== 'string'
    ) {
      throw new Error('file is not encrypted but an encryptionKey was given');
    }
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(doc.iv, 'base64')).setAAD(AAD);
    decipher.setAuthTag(Buffer.from(doc.tag, 'base64'));
    try {
      const plain = Buffer.concat([decipher.update(Buffer.from(doc.ciphertext, 'base64')), decipher.final()]);
      return JSON.parse(plain.toString('utf8'));
    } catch {
      throw new Error('cannot decrypt (wrong key or tampered file)');
    }
  }

  private async writeAtomic(content: string): Promise<void> {
    const { path } = this.options;
    await fs.mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await fs.open(tmp, 'wx', 0o600);
    try {
      try {
        await handle.writeFile(content, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(tmp, path);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
  }
}
