import { Controller, Get, Inject } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Principal } from '@keystream/auth';
import type { KeystreamConfig } from '@keystream/config';
import { CurrentPrincipal, Public } from '../http/auth.guard';
import { CONFIG } from '../tokens';

/** How the admin UI signs in: at the OpenID issuer, with the one-click development sign-in, or by pasting a token. */
export type UiSignIn =
  | { readonly signIn: 'oidc'; readonly issuer: string; readonly clientId: string; readonly scopes: string }
  | { readonly signIn: 'development' }
  | { readonly signIn: 'token' };

/**
 * The development sign-in exists only in embedded mode with the data dir's own secret and no identity provider
 * configured.
 */
export function developmentSignIn(config: KeystreamConfig): boolean {
  return config.mode === 'embedded' && !!config.auth.jwtSecret && !config.auth.issuer && !config.auth.jwksUrl;
}

export function uiSignIn(config: KeystreamConfig): UiSignIn {
  const { ui, issuer } = config.auth;
  if (ui && issuer) return { signIn: 'oidc', issuer, clientId: ui.clientId, scopes: ui.scopes };
  return developmentSignIn(config) ? { signIn: 'development' } : { signIn: 'token' };
}

/**
 * The admin UI's own endpoints (not part of the public API, so not in the OpenAPI document): its sign-in
 * settings, and who the bearer is as the server sees it — the page never maps claims itself, since claim
 * names and role values are the deployment's choice (AUTH_CLAIM_*, AUTH_ROLE_MAP).
 */
@ApiExcludeController()
@Controller('ui')
export class UiSessionController {
  constructor(@Inject(CONFIG) private readonly config: KeystreamConfig) {}

  @Public()
  @Get('config')
  settings(): UiSignIn {
    return uiSignIn(this.config);
  }

  @Get('session')
  session(@CurrentPrincipal() p: Principal) {
    return { userId: p.userId, orgId: p.orgId, role: p.role, expiresAt: p.expiresAt };
  }
}
