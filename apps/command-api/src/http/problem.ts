import type { FieldError } from '@keystream/credentials';

/** RFC 9457 problem details, with the per-field `errors` every client relies on. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly errors: readonly FieldError[];
  readonly instance?: string;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problem(
  status: number,
  code: string,
  title: string,
  detail: string,
  errors: readonly FieldError[] = [],
): Problem {
  return { type: `https://keystream.dev/problems/${code.replace(/_/g, '-')}`, title, status, code, detail, errors };
}

/** Thrown at the HTTP edge only (body parsing, headers); libs throw DomainError instead. */
export class ProblemException extends Error {
  constructor(
    readonly problem: Problem,
    readonly headers: Record<string, string> = {},
  ) {
    super(problem.detail);
  }
}

export function badRequest(code: string, detail: string, errors: readonly FieldError[] = []): ProblemException {
  return new ProblemException(problem(400, code, 'Bad request', detail, errors));
}
