import { createHash } from 'node:crypto';
import { io, Socket } from 'socket.io-client';

/**
 * A strict agent written from docs/agent-protocol.md alone (it imports nothing from libs/): it applies the
 * protocol by the letter and records every departure from it as a violation instead of papering over it.
 */
// Whatever JSON the server sends; the checks below read it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped wire JSON, checked field by field below
type Json = Record<string, any>;

export interface Held {
  epoch: number;
  version: number;
  creds: Map<string, Json>;
}

/** §5: SHA-256 of the canonical JSON text (rows by id; fields and secret fingerprints as sorted pairs). */
export function canonicalHash(creds: Iterable<Json>): string {
  const byKey = (a: unknown[], b: unknown[]) =>
    (a[0] as string) < (b[0] as string) ? -1 : (a[0] as string) > (b[0] as string) ? 1 : 0;
  const rows = [...creds]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((c) => [
      c.id,
      c.provider,
      c.label,
      Object.entries(c.fields ?? {}).sort(byKey),
      Object.entries(c.secrets ?? {})
        .map(([k, s]) => [k, (s as Json).fingerprint])
        .sort(byKey),
    ]);
  return createHash('sha256').update(JSON.stringify(rows), 'utf8').digest('hex');
}

const patch = (base: Json, delta: Json | undefined): Json => {
  const out = { ...base };
  for (const [k, v] of Object.entries(delta ?? {})) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
};

export class StrictAgent {
  readonly socket: Socket;
  readonly violations: string[] = [];
  readonly log: { event: string; body: Json }[] = [];
  held?: Held;
  private first = true;

  constructor(
    baseUrl: string,
    private readonly orgId: string,
    auth: Json,
    held?: Held,
    readonly name = 'agent',
  ) {
    this.held = held;
    this.socket = io(`${baseUrl}/agents`, { transports: ['websocket'], forceNew: true, reconnection: false, auth });
    this.socket.on('keys.snapshot', (m: Json) => this.onSnapshot(m));
    this.socket.on('keys.changes', (m: Json) => this.onChanges(m, !!auth.resume));
    this.socket.on('keys.insync', (m: Json) => this.onInSync(m));
    for (const e of ['session.revoked', 'session.closed'])
      this.socket.on(e, (m: Json) => this.log.push({ event: e, body: m }));
  }

  get hash(): string | undefined {
    return this.held && canonicalHash(this.held.creds.values());
  }

  violate(why: string): void {
    this.violations.push(`${this.name}: ${why}`);
  }

  close(): void {
    this.socket.disconnect();
  }

  async connected(ms = 5000): Promise<void> {
    if (this.socket.connected) return;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${this.name}: no connect`)), ms);
      this.socket.once('connect', () => (clearTimeout(t), resolve()));
      this.socket.once('connect_error', (e) => (clearTimeout(t), reject(e)));
    });
  }

  resync(): Promise<Json> {
    const h = this.held!;
    return this.socket
      .timeout(10_000)
      .emitWithAck('keys.resync', { epoch: h.epoch, version: h.version, hash: canonicalHash(h.creds.values()) });
  }

  private onSnapshot(m: Json): void {
    this.log.push({ event: 'keys.snapshot', body: m });
    this.first = false;
    if (m.orgId !== this.orgId) this.violate(`snapshot of another org ${m.orgId}`);
    const creds = new Map<string, Json>(m.credentials.map((c: Json) => [c.id, c]));
    if (canonicalHash(creds.values()) !== m.hash)
      this.violate(`snapshot at ${m.version}: its hash is not the hash of its credentials`);
    this.held = { epoch: m.epoch, version: m.version, creds };
    this.ack();
  }

  private onChanges(m: Json, resumed: boolean): void {
    this.log.push({ event: 'keys.changes', body: m });
    if (this.first && !resumed) this.violate(`keys.changes ${m.fromVersion}..${m.toVersion} before the first snapshot`);
    this.first = false;
    const h = this.held;
    if (m.orgId !== this.orgId) return this.violate(`changes of another org ${m.orgId}`);
    if (!h) return this.violate('changes with nothing held');
    if (m.epoch !== h.epoch) return this.violate(`changes of epoch ${m.epoch} while holding ${h.epoch}`);
    if (m.fromVersion !== h.version + 1)
      return this.violate(
        `changes from ${m.fromVersion} while holding ${h.version} (${m.fromVersion <= h.version ? 'repeat' : 'gap'})`,
      );
    const versions = m.changes.map((c: Json) => c.version);
    if (
      versions.some((v: number, i: number) => v !== m.fromVersion + i) ||
      versions[versions.length - 1] !== m.toVersion
    )
      this.violate(`changes ${m.fromVersion}..${m.toVersion} not contiguous: ${versions}`);
    for (const c of m.changes) this.apply(h.creds, c);
    h.version = m.toVersion;
    if (m.hash !== undefined && m.hash !== canonicalHash(h.creds.values()))
      this.violate(`hash differs after ${m.toVersion}`);
    this.ack();
  }

  private onInSync(m: Json): void {
    this.log.push({ event: 'keys.insync', body: m });
    this.first = false;
    const h = this.held;
    if (!h || m.epoch !== h.epoch || m.version !== h.version || m.hash !== canonicalHash(h.creds.values()))
      this.violate(`in-sync at ${m.epoch}/${m.version} while holding ${h?.epoch}/${h?.version}`);
  }

  private apply(creds: Map<string, Json>, c: Json): void {
    if (c.type === 'CredentialAdded')
      creds.set(c.credentialId, {
        id: c.credentialId,
        provider: c.provider,
        label: c.label,
        fields: c.fields ?? {},
        secrets: c.secrets ?? {},
      });
    else if (c.type === 'CredentialRemoved') creds.delete(c.credentialId);
    else if (c.type === 'CredentialEdited') {
      const cur = creds.get(c.credentialId);
      if (cur)
        creds.set(c.credentialId, {
          ...cur,
          label: c.label ?? cur.label,
          fields: patch(cur.fields, c.fields),
          secrets: patch(cur.secrets, c.secrets),
        });
    } // §7: an unknown type is skipped; the version still advances
  }

  private ack(): void {
    const h = this.held!;
    this.socket.emit('keys.ack', { epoch: h.epoch, version: h.version });
  }
}
