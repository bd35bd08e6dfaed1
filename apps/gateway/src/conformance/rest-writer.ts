import { SeededRandom } from './seeded-random';

/**
 * An admin's writes over REST, written from DESIGN.md ("REST API — contract"): add, edit, remove and
 * all-or-nothing batches. One writer lane owns its credentials, so two lanes of one org save concurrently
 * without racing on the same credential.
 */
interface Owned {
  id: string;
  provider: Provider;
  label: string;
}
type Provider = 'openai' | 'gemini' | 'anthropic' | 'bedrock-access' | 'azure-openai';
type Change = Record<string, unknown> & { op: 'add' | 'edit' | 'remove' };

const PROVIDERS: readonly Provider[] = ['openai', 'gemini', 'anthropic', 'bedrock-access', 'azure-openai'];
/** Labels reach the hash's canonical form: some carry non-ASCII text on purpose. */
const FLAVOURS = ['', ' prod', ' Ünïcødé', ' 日本', ' Ωmega', ' café'];
const digits = (n: number, width: number) => String(n % 10 ** width).padStart(width, '0');

/** Obviously fake secrets in each provider's accepted format, numbered so a leak across orgs is traceable. */
function secretFields(p: Provider, n: number): Record<string, string> {
  const d = digits(n, 6);
  switch (p) {
    case 'openai':
      return { apiKey: `sk-proj-FAKEFAKEFAKEFAKEFAKE${d}` };
    case 'gemini':
      return { apiKey: `AIzaFAKEFAKEFAKEFAKEFAKEFAKEFAK${d}FA` };
    case 'anthropic':
      return { apiKey: `sk-ant-api03-FAKEFAKEFAKEFAKEFAKE${d}` };
    case 'bedrock-access':
      return { secretAccessKey: `FAKEfakeFAKEfakeFAKEfakeFAKEfakeFA${d}` };
    case 'azure-openai':
      return { apiKey: `00000000000000000000000000${d}` };
  }
}

function addBody(p: Provider, label: string, n: number): Record<string, unknown> {
  const base = { provider: p, label, ...secretFields(p, n) };
  if (p === 'openai') return n % 2 ? { ...base, organization: 'org-FAKE000000' } : base;
  if (p === 'bedrock-access') return { ...base, accessKeyId: `AKIAFAKEFAKEFA${digits(n, 6)}`, region: 'us-east-1' };
  if (p === 'azure-openai')
    return {
      ...base,
      endpoint: 'https://fake-resource.openai.azure.com',
      deployment: 'gpt-4o',
      apiVersion: '2024-10-21',
    };
  return base;
}

export class RestWriter {
  private readonly owned: Owned[] = [];
  private counter = 0;
  saves = 0;
  /** Every credential id this lane ever created: an agent of another org must never see one. */
  readonly createdIds = new Set<string>();

  constructor(
    readonly orgId: string,
    private readonly adminToken: string,
    private readonly baseUrl: () => string,
    private readonly lane: string,
    private readonly rng: SeededRandom,
    private readonly secretBase: number,
  ) {}

  /** One save: a single add/edit/remove, or a batch of 2-5 changes. Returns the version the write committed. */
  async save(): Promise<number> {
    this.saves += 1;
    if (this.rng.chance(0.35)) return this.batch(this.rng.int(2, 5));
    const change = this.nextChange(new Set());
    if (change.op === 'add') {
      const { op: _op, ...body } = change;
      const r = await this.call('POST', '', body, 201);
      this.owned.push({ id: r.credential.id, provider: change.provider as Provider, label: change.label as string });
      this.createdIds.add(r.credential.id);
      return r.version;
    }
    if (change.op === 'edit') {
      const { op: _op, id, ...body } = change;
      return (await this.call('PATCH', `/${String(id)}`, body, 200)).version;
    }
    this.forget(change.id as string);
    return (await this.call('DELETE', `/${String(change.id)}`, undefined, 200)).version;
  }

  private async batch(n: number): Promise<number> {
    const touched = new Set<string>();
    const changes = Array.from({ length: n }, () => this.nextChange(touched));
    const r = await this.call('POST', ':batch', { changes }, 200);
    for (const c of changes) if (c.op === 'remove') this.forget(c.id as string);
    // The batch answer lists the key set's credentials: the added ones are found by section and label.
    const all = collectCredentials(r.credentials);
    for (const c of changes.filter((x) => x.op === 'add')) {
      const made = all.find((x) => x.provider === c.provider && x.label === c.label);
      if (!made)
        throw new Error(
          `batch answer lacks the added ${String(c.provider)} "${String(c.label)}": ${JSON.stringify(r).slice(0, 400)}`,
        );
      this.owned.push({ id: made.id, provider: c.provider as Provider, label: c.label as string });
      this.createdIds.add(made.id);
    }
    return r.version;
  }

  /** A change on a credential not yet touched in this batch (an edit after a remove of the same id is refused). */
  private nextChange(touched: Set<string>): Change {
    const free = this.owned.filter((o) => !touched.has(o.id));
    const roll = this.rng.next();
    const n = this.secretBase + ++this.counter;
    if (free.length < 3 || roll < 0.4) {
      const provider = this.rng.pick(PROVIDERS);
      const label = `${this.lane}-${this.counter}${this.rng.pick(FLAVOURS)}`;
      return { op: 'add', ...addBody(provider, label, n) };
    }
    const target = this.rng.pick(free);
    touched.add(target.id);
    if (roll < 0.75) {
      const rename = this.rng.chance(0.5);
      if (rename) target.label = `${this.lane}-${this.counter}${this.rng.pick(FLAVOURS)}`;
      return { op: 'edit', id: target.id, ...(rename ? { label: target.label } : secretFields(target.provider, n)) };
    }
    return { op: 'remove', id: target.id };
  }

  private forget(id: string): void {
    this.owned.splice(
      this.owned.findIndex((o) => o.id === id),
      1,
    );
  }

  private async call(
    method: string,
    path: string,
    body: unknown,
    expected: number,
  ): Promise<{ version: number; credential: { id: string }; credentials: unknown }> {
    const send = () =>
      fetch(`${this.baseUrl()}/v1/orgs/${this.orgId}/credentials${path}`, {
        method,
        headers: { Authorization: `Bearer ${this.adminToken}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    let res = await send();
    // A well-behaved client waits as long as 429's Retry-After says (nothing was written).
    for (let i = 0; res.status === 429 && i < 10; i++) {
      await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? 1)));
      res = await send();
    }
    const text = await res.text();
    if (res.status !== expected)
      throw new Error(`${method} ${this.orgId}${path} → ${res.status} (expected ${expected}): ${text.slice(0, 600)}`);
    return JSON.parse(text);
  }
}

/** The REST key set is grouped by section; this flattens whatever grouping it uses into its credentials. */
export interface RestCredential {
  id: string;
  provider: string;
  label: string;
  fields: Record<string, string>;
  secrets: Record<string, { last4: string; fingerprint: string }>;
}
export function collectCredentials(node: unknown): RestCredential[] {
  if (Array.isArray(node)) return node.flatMap(collectCredentials);
  if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (typeof o.id === 'string' && typeof o.label === 'string' && typeof o.provider === 'string') return [o as never];
    return Object.values(o).flatMap(collectCredentials);
  }
  return [];
}
