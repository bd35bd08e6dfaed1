import { DatabaseError } from 'pg';
import { QueryFailedError } from 'typeorm';

/** SQLSTATEs that say the server (not the statement) is the problem: shutting down, starting up, full, cancelled. */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '57014', '55P03']);
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
/** What pg and pg-pool say when a connection broke or never came (they carry no code). */
const LOST =
  /Connection terminated|timeout expired|timeout exceeded|Query read timeout|not queryable|Client was closed|Connection ended|Cannot use a pool after calling end/i;

/**
 * Whether an error means Postgres was unreachable, went away or did not answer (a 503 for the caller, retryable),
 * as opposed to a statement's own failure. TypeORM wraps driver errors; the original is looked at.
 */
export function isDatabaseUnavailable(e: unknown): boolean {
  const err = e instanceof QueryFailedError ? (e.driverError as unknown) : e;
  if (err instanceof DatabaseError)
    return err.code !== undefined && (err.code.startsWith('08') || UNAVAILABLE_STATES.has(err.code));
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (code && SOCKET_CODES.has(code)) return true;
  return LOST.test(err.message) || (err.cause instanceof Error && isDatabaseUnavailable(err.cause));
}

/**
 * The server ended the session under a statement (terminated backend, shutdown): like a lost connection, the
 * statement's effect is unknown.
 */
export function isSessionEnded(e: unknown): boolean {
  return e instanceof DatabaseError && (e.code?.startsWith('08') === true || e.code === '57P01' || e.code === '57P02');
}
