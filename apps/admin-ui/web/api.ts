import { BatchRequest, DevicesResponse, KeySet, keySetOf, ListResponse, Problem } from './model';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

/** The command API, called with the admin's token (held by the caller, in memory). No cookies, no caching. */
export class Api {
  private readonly base: string;

  constructor(
    orgId: string,
    private readonly token: () => string | undefined,
  ) {
    this.base = `/v1/orgs/${encodeURIComponent(orgId)}`;
  }

  /** The key set; with `known`, `not-modified` while the server is still at that version (If-None-Match → 304). */
  async list(known?: number): Promise<KeySet | 'not-modified'> {
    const res = await this.request('/credentials', {
      headers: known === undefined ? {} : { 'If-None-Match': `"${known}"` },
    });
    if (res.status === 304) return 'not-modified';
    if (!res.ok) return fail(res);
    return keySetOf((await res.json()) as ListResponse);
  }

  async devices(): Promise<DevicesResponse> {
    const res = await this.request('/devices');
    if (!res.ok) return fail(res);
    return (await res.json()) as DevicesResponse;
  }

  /** All or nothing, guarded by the version the changes were made against; safe to retry with the same key. */
  async saveBatch(version: number, body: BatchRequest, idempotencyKey: string): Promise<{ version: number }> {
    const res = await this.request('/credentials:batch', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'If-Match': `"${version}"`, 'Idempotency-Key': idempotencyKey },
      body: JSON.stringify(body),
    });
    if (!res.ok) return fail(res);
    return (await res.json()) as { version: number };
  }

  private request(
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ): Promise<Response> {
    const token = this.token();
    if (!token) return Promise.reject(new HttpError(401, { status: 401, code: 'unauthorized', detail: 'Signed out' }));
    return fetch(this.base + path, {
      method: init.method ?? 'GET',
      body: init.body,
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
      headers: {
        Accept: 'application/json, application/problem+json',
        Authorization: `Bearer ${token}`,
        ...init.headers,
      },
    });
  }
}

async function fail(res: Response): Promise<never> {
  let problem: Problem = { status: res.status };
  try {
    problem = { ...((await res.json()) as Problem), status: res.status };
  } catch {
    // not a problem document
  }
  throw new HttpError(res.status, problem);
}
