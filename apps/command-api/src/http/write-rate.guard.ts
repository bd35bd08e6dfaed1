import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { TokenRateLimiter } from '@keystream/auth';
import { DEFAULT_RATE_LIMITS, KeystreamConfig } from '@keystream/config';
import { DomainError } from '@keystream/credentials';
import { CONFIG } from '../tokens';

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Mapped to 429 with `Retry-After` by the problem-details filter. */
export class RateLimitedError extends DomainError {
  readonly code = 'rate_limited';
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many writes with this token; retry in ${retryAfterSeconds} s`);
  }
}

/**
 * Spends one point of the caller's write budget per write (KEYSTREAM_WRITE_RATE_PER_MIN, per token, per
 * process). Registered after AuthGuard, so only authenticated, authorized writes are counted, keyed by
 * a digest of their token.
 */
@Injectable()
export class WriteRateGuard implements CanActivate {
  private readonly limiter: TokenRateLimiter;

  constructor(@Inject(CONFIG) config: KeystreamConfig) {
    this.limiter = new TokenRateLimiter((config.rateLimits ?? DEFAULT_RATE_LIMITS).writesPerMinute);
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<Request & { principal?: unknown }>();
    const token = req.headers.authorization;
    if (!WRITES.has(req.method) || !req.principal || !token) return true;
    const decision = await this.limiter.consume(token);
    if (!decision.ok) throw new RateLimitedError(decision.retryAfterSeconds);
    return true;
  }
}
