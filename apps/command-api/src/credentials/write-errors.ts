import { DomainError } from '@keystream/credentials';

/** Two writers collided on a uniqueness backstop (the row lock normally prevents it): retry with a fresh version. */
export class ConcurrentWriteError extends DomainError {
  readonly code = 'concurrent_write';
  constructor() {
    super('Another write to this organization committed first; reload and retry', [
      { field: 'If-Match', code: 'concurrent_write', message: 'another write committed first' },
    ]);
  }
}

export class IdempotencyKeyReusedError extends DomainError {
  readonly code = 'idempotency_key_reused';
  constructor() {
    super('This Idempotency-Key was already used with a different request', [
      { field: 'Idempotency-Key', code: 'reused', message: 'was already used with a different request' },
    ]);
  }
}

/** The org's head stayed locked by another writer for longer than a command waits (GroupCommitter.retryForMs). */
export class OrgBusyError extends DomainError {
  readonly code = 'org_busy';
  readonly retryAfterSeconds = 1;
  constructor(orgId: string) {
    super(
      `Organization ${orgId} is being written by another transaction that has not finished; nothing was changed, retry`,
      [{ field: 'orgId', code: 'org_busy', message: 'another write to this organization has not finished' }],
    );
  }
}

/**
 * The connection failed while the transaction's COMMIT was on its way: the database may or may not have committed.
 * Nothing is retried blindly; a client retries with the same Idempotency-Key (which answers the first result if it
 * did commit), or reloads and looks.
 */
export class CommitOutcomeUnknownError extends DomainError {
  readonly code = 'commit_outcome_unknown';
  readonly retryAfterSeconds = 1;
  constructor() {
    super(
      'The database connection failed while this change was being committed: it may or may not be saved. Retry with the same Idempotency-Key, or reload and check',
      [],
    );
  }
}

/**
 * Postgres could not be reached, went away, or did not answer before the transaction's COMMIT was sent: nothing was
 * saved. The process reconnects by itself; the client retries (with the same Idempotency-Key, to be safe).
 */
export class DatabaseUnavailableError extends DomainError {
  readonly code = 'database_unavailable';
  readonly retryAfterSeconds = 1;
  constructor() {
    super('The database is unavailable; nothing was changed. Retry shortly', []);
  }
}
