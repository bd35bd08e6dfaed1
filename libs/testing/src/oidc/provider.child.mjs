// A real OpenID provider (npm `oidc-provider`, OpenID Certified) for the test helpers, run in its own
// process because the library is ESM-only and the specs run as CommonJS under jest. Driven by
// libs/testing/src/oidc-provider.ts over the IPC channel: the parent sends the whole state (keys,
// users, clients, clock offset) and this process rebuilds its Provider from it. The HTTP server and the
// in-memory adapter (module-level in oidc-provider) outlive each rebuild, so sessions and grants survive
// a key rotation exactly as they would at a real provider that reloads its keys.
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const realNow = Date.now.bind(Date);
let clockOffsetMs = 0;
// The provider's own clock (iat/nbf/exp it stamps): a test moves it ahead to play an IdP with a wrong clock.
Date.now = () => realNow() + clockOffsetMs;

let state;
let current;

const server = createServer((req, res) => {
  if (!current) return void res.writeHead(503).end();
  current.callback()(req, res);
});

function build(s) {
  const users = s.users;
  const provider = new Provider(s.issuer, {
    clients: s.clients,
    jwks: { keys: s.keys },
    cookies: { keys: ['keystream-test-cookie-signing-not-secret'] },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => s.audience,
        useGrantedResource: async () => true,
        getResourceServerInfo: async () => ({
          scope: 'keystream',
          audience: s.audience,
          accessTokenTTL: s.accessTokenTtl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: s.alg } },
        }),
      },
    },
    claims: { openid: ['sub'], profile: ['name', 'email'] },
    findAccount: async (_ctx, sub) =>
      users[sub] ? { accountId: sub, claims: async () => ({ sub, ...users[sub].profile }) } : undefined,
    // The organization and role claims travel in the access token Keystream verifies.
    extraTokenClaims: async (_ctx, token) =>
      token.accountId && users[token.accountId] ? users[token.accountId].claims : undefined,
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: {
      AccessToken: s.accessTokenTtl,
      IdToken: s.accessTokenTtl,
      Session: 3600,
      Interaction: 600,
      Grant: 3600,
      RefreshToken: 3600,
    },
    renderError: async (ctx, out) => {
      ctx.type = 'text/plain';
      ctx.body = `${out.error}: ${out.error_description ?? ''}`;
    },
  });
  provider.proxy = false;
  provider.on('server_error', (_ctx, err) => process.stderr.write(`oidc server_error ${err?.stack ?? err}\n`));
  provider.use(async (ctx, next) => {
    const m = /^\/interaction\/([^/]+)(\/login)?$/.exec(ctx.path);
    if (!m) return next();
    await interaction(provider, users, ctx, m[2] === '/login');
  });
  return provider;
}

/**
 * The login step. `login_hint=<user>` (programmatic flows) or the posted form's `user` signs in at
 * once; otherwise a one-field form is shown for the browser test to fill. Consent is granted for what
 * was asked: the OIDC scopes and the Keystream resource.
 */
async function interaction(provider, users, ctx, posted) {
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  let user = details.params.login_hint;
  if (posted) user = new URLSearchParams(await readBody(ctx.req)).get('user') ?? undefined;
  if (!user) {
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>Test IdP sign-in</title><form method="post" action="/interaction/${details.uid}/login">
<label>User <input name="user" autofocus></label><button type="submit">Sign in</button></form>`;
    return;
  }
  if (!users[user]) {
    ctx.status = 400;
    ctx.body = `unknown user ${user}`;
    return;
  }
  const grant = new provider.Grant({ accountId: user, clientId: details.params.client_id });
  grant.addOIDCScope(String(details.params.scope ?? 'openid'));
  grant.addResourceScope(state.audience, 'keystream');
  const grantId = await grant.save();
  const to = await provider.interactionResult(
    ctx.req,
    ctx.res,
    { login: { accountId: user }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
  ctx.redirect(to);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

process.on('message', (msg) => {
  try {
    if (msg.type === 'state') {
      state = msg.state;
      clockOffsetMs = (state.clockOffsetSeconds ?? 0) * 1000;
      current = build(state);
      if (!server.listening)
        server.listen(state.port, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));
      else process.send({ type: 'ready', port: server.address().port });
    }
  } catch (e) {
    process.send({ type: 'error', message: String(e?.stack ?? e) });
  }
});
process.on('disconnect', () => process.exit(0));
