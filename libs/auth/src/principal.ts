/** `operator` runs the deployment (organizations), never an organization's data. */
export type Role = 'admin' | 'member' | 'operator';

/** The verified caller. Built only from a verified token. */
export interface Principal {
  readonly userId: string;
  /** The token's organization; empty for an operator (deployment-wide). */
  readonly orgId: string;
  readonly role: Role;
  readonly deviceId?: string;
  /** Seconds since epoch. */
  readonly expiresAt: number;
  /** The token's `iat` (seconds since epoch), when it has one: a revocation rejects tokens issued before it. */
  readonly issuedAt?: number;
}

export type AuthErrorCode = 'unauthorized' | 'forbidden' | 'token_expired';

/** Mapped at each edge: 401/403 over HTTP, connect_error codes on sockets, exit codes in the CLI. */
export class AuthError extends Error {
  constructor(
    readonly code: AuthErrorCode,
    message: string,
  ) {
    super(message);
  }
}
