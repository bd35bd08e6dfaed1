import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { AuthError } from './principal';
import { issueDevToken } from './dev-token';
import { TokenVerifier } from './token-verifier';

const secret = randomBytes(32);
const now = () => Math.floor(Date.now() / 1000);
const sign = (claims: Record<string, unknown>, alg = 'HS256') =>
  new SignJWT({ org: 'acme', role: 'admin', ...claims })
    .setProtectedHeader({ alg })
    .setSubject('u-1')
    .setExpirationTime(now() + 600)
    .sign(new Uint8Array(secret));

describe('TokenVerifier (HS256 secret)', () => {
  const verifier = new TokenVerifier({ jwtSecret: secret, clockToleranceSeconds: 30 });

  it('accepts iat and nbf within the clock tolerance', async () => {
    await expect(verifier.verify(await sign({ iat: now() + 25, nbf: now() + 25 }))).resolves.toMatchObject({
      orgId: 'acme',
      role: 'admin',
    });
  });

  it('refuses a token issued in the future (iat) or not valid yet (nbf) beyond the tolerance', async () => {
    await expect(verifier.verify(await sign({ iat: now() + 120 }))).rejects.toEqual(
      new AuthError('unauthorized', 'the token is issued in the future (iat)'),
    );
    await expect(verifier.verify(await sign({ iat: now(), nbf: now() + 120 }))).rejects.toEqual(
      new AuthError('unauthorized', 'the token is not valid yet (nbf is in the future)'),
    );
  });

  it('holds exp exactly (the tolerance is for clocks running ahead), and refuses another algorithm than HS256', async () => {
    await expect(verifier.verify(await sign({}, 'HS512'))).rejects.toMatchObject({ code: 'unauthorized' });
    const expired = await new SignJWT({ org: 'acme', role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u')
      .setExpirationTime(now() - 2)
      .sign(new Uint8Array(secret));
    await expect(verifier.verify(expired)).rejects.toMatchObject({ code: 'token_expired' });
  });
});

describe("development tokens under the deployment's claim names and role map", () => {
  it('verify with the same rules they were issued under', async () => {
    const rules = {
      claims: { org: 'org_id', role: 'groups', device: 'dev' },
      roleMap: [
        { value: 'ks-admins', role: 'admin' as const },
        { value: 'ks-users', role: 'member' as const },
      ],
    };
    const verifier = new TokenVerifier({ jwtSecret: secret, ...rules });
    const token = await issueDevToken(secret, {
      userId: 'u',
      orgId: 'acme',
      role: 'member',
      deviceId: 'laptop',
      ttlSeconds: 60,
      rules,
    });
    expect(JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())).toMatchObject({
      org_id: 'acme',
      groups: ['ks-users'],
      dev: 'laptop',
    });
    await expect(verifier.verify(token)).resolves.toMatchObject({ orgId: 'acme', role: 'member', deviceId: 'laptop' });
  });
});
