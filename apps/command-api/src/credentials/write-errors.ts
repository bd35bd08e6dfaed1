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
