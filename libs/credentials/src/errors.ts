/**
 * Domain errors carry a stable `code`; each edge (HTTP filter, socket ack, CLI exit code) maps them.
 * Nothing here knows about HTTP.
 */
export interface FieldError {
  /** Dotted path of the offending field, e.g. `apiKey` or `changes[2].region`. */
  field: string;
  /** Stable machine-readable reason, e.g. `wrong_provider`, `whitespace`. */
  code: string;
  /** Human-readable explanation; never contains a secret value. */
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly code: string;
  constructor(
    message: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationFailedError extends DomainError {
  readonly code = 'validation_failed';
  constructor(errors: FieldError[]) {
    super(
      `${errors.length} field(s) failed validation: ${errors.map((e) => `${e.field} (${e.code})`).join(', ')}`,
      errors,
    );
  }
}

export class LabelTakenError extends DomainError {
  readonly code = 'label_taken';
  constructor(field: string, label: string, section: string) {
    super(`The label "${label}" is already used in ${section}`, [
      { field, code: 'label_taken', message: `"${label}" is already used by another credential in ${section}` },
    ]);
  }
}

export class CredentialNotFoundError extends DomainError {
  readonly code = 'credential_not_found';
  constructor(
    readonly credentialId: string,
    field = 'id',
  ) {
    super(`No credential with id ${credentialId} in this organization`, [
      { field, code: 'credential_not_found', message: `no credential with id ${credentialId}` },
    ]);
  }
}

export class ProviderMismatchError extends DomainError {
  readonly code = 'provider_mismatch';
  constructor(field: string, expected: string, given: string) {
    super(`The credential belongs to provider ${expected}, not ${given}`, [
      {
        field,
        code: 'provider_mismatch',
        message: `credential is a ${expected} credential; provider cannot change (got ${given})`,
      },
    ]);
  }
}

export class TooManyCredentialsError extends DomainError {
  readonly code = 'too_many_credentials';
  constructor(field: string, section: string, limit: number) {
    super(`${section} already holds the maximum of ${limit} credentials`, [
      { field, code: 'too_many_credentials', message: `${section} holds at most ${limit} credentials` },
    ]);
  }
}

export class VersionConflictError extends DomainError {
  readonly code = 'version_conflict';
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`Expected version ${expected} but the key set is at version ${actual}`, [
      {
        field: 'If-Match',
        code: 'stale_version',
        message: `expected version ${expected}, current version is ${actual}`,
      },
    ]);
  }
}

export class OrgNotFoundError extends DomainError {
  readonly code = 'org_not_found';
  constructor(readonly orgId: string) {
    super(`Organization ${orgId} does not exist`, [
      { field: 'orgId', code: 'org_not_found', message: `no organization ${orgId}` },
    ]);
  }
}

/** Credential ids are made by the server; an add reusing one is a programming error surfaced as a conflict. */
export class CredentialExistsError extends DomainError {
  readonly code = 'credential_exists';
  constructor(
    readonly credentialId: string,
    field = 'id',
  ) {
    super(`A credential with id ${credentialId} already exists`, [
      { field, code: 'credential_exists', message: `id ${credentialId} is already used` },
    ]);
  }
}

/** The organization existed and was deleted (offboarded): its id is a tombstone, never reused. */
export class OrgDeletedError extends DomainError {
  readonly code = 'org_deleted';
  constructor(
    readonly orgId: string,
    readonly deletedAt?: string,
  ) {
    super(`Organization ${orgId} was deleted${deletedAt ? ` at ${deletedAt}` : ''}`, [
      { field: 'orgId', code: 'org_deleted', message: `organization ${orgId} was deleted` },
    ]);
  }
}

/** Restoring a member who is not revoked. */
export class RevocationNotFoundError extends DomainError {
  readonly code = 'revocation_not_found';
  constructor(readonly userId: string) {
    super(`Member ${userId} is not revoked in this organization`, [
      { field: 'userId', code: 'revocation_not_found', message: `${userId} has no revocation to lift` },
    ]);
  }
}
