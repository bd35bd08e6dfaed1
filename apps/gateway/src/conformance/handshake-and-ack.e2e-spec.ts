import { randomBytes, randomUUID } from 'node:crypto';
import { io, Socket } from 'socket.io-client';
import { issueDevToken } from '@keystream/auth';
import { AppProcess, ENTRY, newOrgId, runCli, TEST_MASTER_KEY_BASE64 } from '@keystream/testing';

/**
 * docs/agent-protocol.md §1 refusals and §2 keys.ack, outside in (plain socket.io-client against the built
 * processes): each row of the document's tables gets the answer the document names.
 */
describe('agent handshake refusals and ack validation (docs/agent-protocol.md §1, §2)', () => {
  const jwtSecret = randomBytes(32).toString('hex');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_TOPIC: `keystream.conformance-ack.${randomUUID()}`,
    KEYSTREAM_MASTER_KEY: TEST_MASTER_KEY_BASE64,
    AUTH_JWT_SECRET: jwtSecret,
    KEYSTREAM_ALLOW_DEV_TOKENS: '1',
  };
  const procs: AppProcess[] = [];
  const sockets: Socket[] = [];
  let api: AppProcess;
  let gateway: AppProcess;

  beforeAll(async () => {
    procs.push(
      ...(await Promise.all([
        AppProcess.start('command-api', ENTRY.commandApi, env),
        AppProcess.start('projector', ENTRY.projector, env),
        AppProcess.start('gateway', ENTRY.gateway, env),
      ])),
    );
    [api, , gateway] = procs;
  }, 180_000);
  afterEach(() => sockets.splice(0).forEach((s) => s.close()));
  afterAll(() => Promise.all(procs.map((p) => p.kill('SIGKILL'))));

  async function org() {
    const orgId = newOrgId('ack');
    const cli = await runCli(env, 'token', '--org', orgId, '--role', 'admin');
    expect(cli.code).toBe(0);
    const member = (device: string) =>
      issueDevToken(Buffer.from(jwtSecret, 'utf8'), {
        userId: device,
        orgId,
        role: 'member',
        deviceId: device,
        ttlSeconds: 600,
      });
    return { orgId, admin: cli.out.trim(), member };
  }
  const open = (auth: object) => {
    const s = io(`${gateway.url}/agents`, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(s);
    return s;
  };
  const refusal = (s: Socket) =>
    new Promise<{ message: string; data: Record<string, unknown> }>((resolve) =>
      s.once('connect_error', (e: Error & { data?: Record<string, unknown> }) =>
        resolve({ message: e.message, data: e.data ?? {} }),
      ),
    );
  const next = <T>(s: Socket, event: string) => new Promise<T>((resolve) => s.once(event, resolve));

  it('refuses a handshake as §1 says: unsupported protocol (with the supported list), another org, no token', async () => {
    const a = await org();
    const b = await org();
    const unsupported = await refusal(open({ token: await a.member('d1'), protocol: 3 }));
    expect(unsupported).toMatchObject({
      message: 'unsupported_protocol',
      data: { code: 'unsupported_protocol', supported: [1, 2] },
    });
    expect(await refusal(open({ token: await a.member('d1'), protocol: 2, orgId: b.orgId }))).toMatchObject({
      message: 'forbidden',
      data: { code: 'forbidden' },
    });
    expect(await refusal(open({ protocol: 2 }))).toMatchObject({
      message: 'unauthorized',
      data: { code: 'unauthorized' },
    });
  });

  it('records an ack of what was sent, refuses one ahead of it or out of range, and a refused ack leaves every device as it was', async () => {
    const a = await org();
    const b = await org();
    const sa = open({ token: await a.member('a-dev'), protocol: 2 });
    const sb = open({ token: await b.member('b-dev'), protocol: 2 });
    const [snapA, snapB] = await Promise.all([
      next<{ epoch: number; version: number }>(sa, 'keys.snapshot'),
      next<{ epoch: number; version: number }>(sb, 'keys.snapshot'),
    ]);
    const changes = next<{ toVersion: number }>(sa, 'keys.changes');
    const added = await fetch(`${api.url}/v1/orgs/${a.orgId}/credentials`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${a.admin}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ provider: 'gemini', label: 'ack', apiKey: 'AIzaFAKEFAKEFAKEFAKEFAKEFAKEFAK000001FA' }),
    });
    expect(added.status).toBe(201);
    const v = (await changes).toVersion;
    const ack = (s: Socket, body: unknown) => s.timeout(10_000).emitWithAck('keys.ack', body);
    expect(await ack(sb, { epoch: snapB.epoch, version: snapB.version })).toEqual({ ok: true });
    for (const bad of [
      { epoch: snapA.epoch, version: v + 1 },
      { epoch: snapA.epoch, version: 2 ** 31 },
      { epoch: snapA.epoch, version: 'one' },
      { epoch: snapA.epoch + 1, version: v },
    ]) {
      expect(await ack(sa, bad)).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    }
    expect(await ack(sa, { epoch: snapA.epoch, version: v })).toEqual({ ok: true });
    const devices = async (o: { orgId: string; admin: string }) =>
      (await (
        await fetch(`${api.url}/v1/orgs/${o.orgId}/devices`, { headers: { Authorization: `Bearer ${o.admin}` } })
      ).json()) as { devices: { deviceId: string; appliedVersion: number; connected: boolean }[] };
    const end = Date.now() + 10_000;
    let seen: unknown;
    while (Date.now() < end) {
      seen = [(await devices(a)).devices, (await devices(b)).devices].map((ds) =>
        ds.map(({ deviceId, appliedVersion, connected }) => ({ deviceId, appliedVersion, connected })),
      );
      if (
        JSON.stringify(seen) ===
        JSON.stringify([
          [{ deviceId: 'a-dev', appliedVersion: v, connected: true }],
          [{ deviceId: 'b-dev', appliedVersion: snapB.version, connected: true }],
        ])
      )
        break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(seen).toEqual([
      [{ deviceId: 'a-dev', appliedVersion: v, connected: true }],
      [{ deviceId: 'b-dev', appliedVersion: snapB.version, connected: true }],
    ]);
    sa.close();
    // §2: a device keeps its last recorded position while offline.
    const off = Date.now() + 10_000;
    while (Date.now() < off && (await devices(a)).devices[0]?.connected !== false)
      await new Promise((r) => setTimeout(r, 200));
    expect((await devices(a)).devices.map(({ appliedVersion, connected }) => ({ appliedVersion, connected }))).toEqual([
      { appliedVersion: v, connected: false },
    ]);
  });

  it('accepts an ack of what was sent while a resync of the same socket runs (§2 lists no such refusal)', async () => {
    const a = await org();
    const s = open({ token: await a.member('busy'), protocol: 2 });
    const snap = await next<{ epoch: number; version: number; hash: string }>(s, 'keys.snapshot');
    const at = { epoch: snap.epoch, version: snap.version };
    // Both leave in one tick: the ack reaches the server while the resync it just read is being served.
    const inSync = await Promise.all([
      s.timeout(10_000).emitWithAck('keys.resync', { ...at, hash: snap.hash }),
      s.timeout(10_000).emitWithAck('keys.ack', at),
    ]);
    const changes = next<{ toVersion: number }>(s, 'keys.changes');
    const added = await fetch(`${api.url}/v1/orgs/${a.orgId}/credentials`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${a.admin}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ provider: 'gemini', label: 'busy', apiKey: 'AIzaFAKEFAKEFAKEFAKEFAKEFAKEFAK000002FA' }),
    });
    expect(added.status).toBe(201);
    const v = (await changes).toVersion;
    // A resync from an older position (a state the agent threw away) restarts with a snapshot; v was sent all the same.
    const fromOlder = await Promise.all([
      s.timeout(10_000).emitWithAck('keys.resync', { ...at, hash: snap.hash }),
      s.timeout(10_000).emitWithAck('keys.ack', { epoch: at.epoch, version: v }),
    ]);
    expect({ inSync, fromOlder }).toEqual({
      inSync: [{ ok: true, result: 'in-sync' }, { ok: true }],
      fromOlder: [{ ok: true, result: 'snapshot' }, { ok: true }],
    });
  });
  it('keys.insync may be acked; a resync without hash is answered by a snapshot at the head, a malformed hash is invalid_payload (§2)', async () => {
    const a = await org();
    const first = open({ token: await a.member('insync'), protocol: 2 });
    const snap = await next<{ epoch: number; version: number; hash: string }>(first, 'keys.snapshot');
    first.close();
    const s = open({
      token: await a.member('insync'),
      protocol: 2,
      resume: { epoch: snap.epoch, version: snap.version },
      hash: snap.hash,
    });
    const insync = await next<{ epoch: number; version: number }>(s, 'keys.insync');
    expect(await s.timeout(10_000).emitWithAck('keys.ack', { epoch: insync.epoch, version: insync.version })).toEqual({
      ok: true,
    });
    const snapshot = next<{ version: number }>(s, 'keys.snapshot');
    expect(await s.timeout(10_000).emitWithAck('keys.resync', { epoch: snap.epoch, version: snap.version })).toEqual({
      ok: true,
      result: 'snapshot',
    });
    expect((await snapshot).version).toBe(snap.version);
    expect(
      await s.timeout(10_000).emitWithAck('keys.resync', { epoch: snap.epoch, version: snap.version, hash: 'ABC' }),
    ).toMatchObject({ ok: false, error: { code: 'invalid_payload', message: expect.stringContaining('hash') } });
  });

  it('marks a change whose secrets were withheld (credential removed later) with secretsWithheld, unlike a label-only edit; its message has no hash (§2)', async () => {
    const a = await org();
    const rest = async (path: string, body: object) =>
      fetch(`${api.url}/v1/orgs/${a.orgId}/credentials${path}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${a.admin}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const added = await rest('', {
      provider: 'gemini',
      label: 'doomed',
      apiKey: 'AIzaFAKEFAKEFAKEFAKEFAKEFAKEFAK000003FA',
    });
    expect(added.status).toBe(201);
    const { credential, version } = (await added.json()) as { credential: { id: string }; version: number };
    expect(
      (
        await rest(':batch', {
          changes: [{ op: 'edit', id: credential.id, apiKey: 'AIzaFAKEFAKEFAKEFAKEFAKEFAKEFAK000004FA' }],
        })
      ).status,
    ).toBe(200);
    expect((await rest(':batch', { changes: [{ op: 'edit', id: credential.id, label: 'renamed' }] })).status).toBe(200);
    expect((await rest(':batch', { changes: [{ op: 'remove', id: credential.id }] })).status).toBe(200);
    const first = open({ token: await a.member('withheld'), protocol: 2 });
    const snap = await next<{ epoch: number; hash: string }>(first, 'keys.snapshot');
    first.close();
    // Resume right after the add: the edit, the rename and the removal follow.
    const s = open({ token: await a.member('withheld'), protocol: 2, resume: { epoch: snap.epoch, version } });
    type Msg = {
      toVersion: number;
      hash?: string;
      changes: { version: number; type: string; secretsWithheld?: boolean; secrets?: unknown; label?: string }[];
    };
    const got: Msg[] = [];
    await new Promise<void>((resolve) =>
      s.on('keys.changes', (m: Msg) => (got.push(m), m.toVersion === version + 3 && resolve())),
    );
    const changes = got.flatMap((m) => m.changes.map((c) => ({ ...c, messageHash: m.hash !== undefined })));
    expect(
      changes.map(({ version: v, type, secretsWithheld, secrets, label, messageHash }) => ({
        v,
        type,
        secretsWithheld,
        secrets,
        label,
        messageHash: v === version + 1 ? messageHash : undefined,
      })),
    ).toEqual([
      {
        v: version + 1,
        type: 'CredentialEdited',
        secretsWithheld: true,
        secrets: undefined,
        label: undefined,
        messageHash: false,
      },
      {
        v: version + 2,
        type: 'CredentialEdited',
        secretsWithheld: undefined,
        secrets: undefined,
        label: 'renamed',
        messageHash: undefined,
      },
      {
        v: version + 3,
        type: 'CredentialRemoved',
        secretsWithheld: undefined,
        secrets: undefined,
        label: undefined,
        messageHash: undefined,
      },
    ]);
  });

  it('a rate_limited refusal carries data.retryAfterMs (§1)', async () => {
    const a = await org();
    const token = await a.member('storm');
    let refused: { message: string; data: Record<string, unknown> } | undefined;
    for (let i = 0; i < 40 && !refused; i++) {
      const s = open({ token, protocol: 2 });
      refused = await Promise.race([refusal(s), next(s, 'connect').then(() => undefined)]);
      s.close();
    }
    expect(refused).toMatchObject({
      message: 'rate_limited',
      data: { code: 'rate_limited', retryAfterMs: expect.any(Number) },
    });
    const ms = refused!.data.retryAfterMs as number;
    expect(Number.isInteger(ms) && ms >= 1000 && ms <= 60_000).toBe(true);
  });
});
