import { Body, Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request } from 'express';
import { AuthError, issueDevToken, isValidOrgId } from '@keystream/auth';
import type { KeystreamConfig } from '@keystream/config';
import { DataSource, orgStreams } from '@keystream/persistence';
import { Public } from '../http/auth.guard';
import { badRequest } from '../http/problem';
import { CONFIG, DATA_SOURCE } from '../tokens';
import { developmentSignIn } from './ui-session.controller';

const TTL_SECONDS = 3600;
const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export interface Caller {
  /** The TCP peer (never a header a remote caller could write). */
  readonly remoteAddress?: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * A person at this machine: the connection comes from loopback, no proxy forwarded it (a reverse proxy on the
 * same host would make every caller look local), and the Host is a loopback name (a DNS-rebound hostname would
 * let a web page read the answer as same-origin).
 */
export function fromThisMachine(c: Caller): boolean {
  if (!LOOPBACK.has(c.remoteAddress ?? '')) return false;
  if (c.headers['x-forwarded-for'] !== undefined || c.headers.forwarded !== undefined || c.headers.via !== undefined)
    return false;
  const host = typeof c.headers.host === 'string' ? c.headers.host.toLowerCase().replace(/:\d+$/, '') : '';
  return LOCAL_HOSTS.has(host);
}

/**
 * The admin UI's one-click development sign-in: what `keystream token --org <org> --role admin` does (register
 * the organization, issue an admin token), for the browser. Registered only when `developmentSignIn(config)`
 * holds — never in distributed mode nor beside an identity provider — and it re-checks that on every call.
 * Only for a person at this machine (`fromThisMachine`): an embedded server bound to another interface or behind
 * a proxy must not hand admin tokens to its network. The JSON body makes a cross-site form post impossible (it
 * would need a CORS preflight nobody answers).
 */
@ApiExcludeController()
@Controller('ui')
export class DevSignInController {
  constructor(
    @Inject(CONFIG) private readonly config: KeystreamConfig,
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
  ) {}

  @Public()
  @Post('dev-sign-in')
  @HttpCode(200)
  async signIn(@Req() req: Request, @Body() body: unknown) {
    if (!developmentSignIn(this.config))
      throw new AuthError(
        'forbidden',
        'the development sign-in exists in embedded mode without an identity provider only',
      );
    if (!fromThisMachine({ remoteAddress: req.socket.remoteAddress, headers: req.headers })) {
      throw new AuthError(
        'forbidden',
        'the development sign-in answers requests from this machine only (http://127.0.0.1 or http://localhost, no proxy)',
      );
    }
    if (!req.is('application/json'))
      throw badRequest('unsupported_body', 'Send a JSON body', [
        { field: 'body', code: 'invalid_type', message: 'must be application/json' },
      ]);
    const orgId = (body as { orgId?: unknown } | undefined)?.orgId;
    if (typeof orgId !== 'string' || !isValidOrgId(orgId)) {
      throw badRequest('validation_failed', 'The organization id is not valid', [
        { field: 'orgId', code: 'invalid_format', message: 'must be 2-63 lowercase letters, digits or dashes' },
      ]);
    }
    await this.ds.transaction((m) => orgStreams.ensureOrg(m, orgId));
    const { issuer, audience } = this.config.auth;
    const token = await issueDevToken(this.config.auth.jwtSecret!, {
      userId: 'dev-admin',
      orgId,
      role: 'admin',
      ttlSeconds: TTL_SECONDS,
      issuer,
      audience,
      rules: this.config.auth,
    });
    return { token, orgId, expiresIn: TTL_SECONDS };
  }
}
