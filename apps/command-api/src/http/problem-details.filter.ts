import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response, Request } from 'express';
import { AuthError } from '@keystream/auth';
import { DomainError } from '@keystream/credentials';
import { Problem, problem, PROBLEM_CONTENT_TYPE, ProblemException } from './problem';
import { RateLimitedError } from './write-rate.guard';
import { isDatabaseUnavailable } from '@keystream/persistence';
import { CommitOutcomeUnknownError, DatabaseUnavailableError, OrgBusyError } from '../credentials/write-errors';

const DOMAIN_STATUS: Record<string, [number, string]> = {
  validation_failed: [422, 'Validation failed'],
  label_taken: [409, 'Label already used'],
  credential_not_found: [404, 'Credential not found'],
  credential_exists: [409, 'Credential exists'],
  org_not_found: [404, 'Organization not found'],
  org_deleted: [410, 'Organization deleted'],
  revocation_not_found: [404, 'Member not revoked'],
  version_conflict: [412, 'Precondition failed'],
  provider_mismatch: [422, 'Provider mismatch'],
  too_many_credentials: [422, 'Too many credentials'],
  concurrent_write: [409, 'Concurrent write'],
  idempotency_key_reused: [422, 'Idempotency key reused'],
  rate_limited: [429, 'Too many requests'],
  org_busy: [503, 'Organization busy'],
  commit_outcome_unknown: [503, 'Commit outcome unknown'],
  database_unavailable: [503, 'Database unavailable'],
};

const AUTH_STATUS: Record<AuthError['code'], number> = { unauthorized: 401, token_expired: 401, forbidden: 403 };

/** The one place where errors become HTTP: domain codes, auth codes, edge problems, and Nest's own exceptions. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    this.respond(ctx.getRequest<Request>(), ctx.getResponse<Response>(), exception);
  }

  /** Also used by the edge middlewares that answer before Nest routes a request (405), so the table stays one. */
  respond(req: Request, res: Response, exception: unknown): void {
    const { body, headers } = this.toProblem(exception);
    if (res.headersSent) return;
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res
      .status(body.status)
      .type(PROBLEM_CONTENT_TYPE)
      .send(JSON.stringify({ ...body, instance: req.originalUrl.split('?')[0] }));
  }

  private toProblem(e: unknown): { body: Problem; headers: Record<string, string> } {
    if (e instanceof ProblemException) return { body: e.problem, headers: e.headers };
    if (e instanceof DomainError) {
      const [status, title] = DOMAIN_STATUS[e.code] ?? [422, 'Rejected'];
      const headers: Record<string, string> =
        e instanceof RateLimitedError ||
        e instanceof OrgBusyError ||
        e instanceof CommitOutcomeUnknownError ||
        e instanceof DatabaseUnavailableError
          ? { 'Retry-After': String(e.retryAfterSeconds) }
          : {};
      return { body: problem(status, e.code, title, e.message, e.errors), headers };
    }
    if (e instanceof AuthError) {
      const status = AUTH_STATUS[e.code];
      const headers: Record<string, string> =
        status === 401 ? { 'WWW-Authenticate': `Bearer error="invalid_token"` } : {};
      return { body: problem(status, e.code, status === 401 ? 'Unauthorized' : 'Forbidden', e.message), headers };
    }
    if (e instanceof MethodNotAllowedError) {
      return {
        body: problem(405, 'method_not_allowed', 'Method not allowed', e.message),
        headers: { Allow: e.allow.join(', ') },
      };
    }
    if (e instanceof HttpException) {
      const status = e.getStatus();
      const code = status === 404 ? 'not_found' : status === 405 ? 'method_not_allowed' : 'http_error';
      return { body: problem(status, code, e.name.replace(/Exception$/, ''), e.message), headers: {} };
    }
    // A read (or anything outside the write path) that met a database outage: retryable, never a 500.
    if (isDatabaseUnavailable(e)) return this.toProblem(new DatabaseUnavailableError());
    // Log the type and stack only: messages of driver errors can contain query parameters.
    const err = e as Error;
    this.logger.error(`unhandled ${err?.name ?? typeof e}: ${err?.stack?.split('\n').slice(1, 4).join(' | ') ?? ''}`);
    return {
      body: problem(500, 'internal_error', 'Internal error', 'An unexpected error occurred; nothing was changed.'),
      headers: {},
    };
  }
}

/** A known path asked with a method it does not declare; `allow` lists the ones it does. */
export class MethodNotAllowedError extends Error {
  constructor(
    readonly method: string,
    readonly allow: readonly string[],
  ) {
    super(`${method} is not allowed here; allowed: ${allow.join(', ')}`);
  }
}

const edge = new ProblemDetailsFilter();
export function sendProblem(req: Request, res: Response, exception: unknown): void {
  edge.respond(req, res, exception);
}
