import { isValidOrgId } from '@keystream/auth';
import { ValidationFailedError } from '@keystream/credentials';

const ORG_ID_RULE = '2-63 characters: lowercase letters, digits and dashes, starting with a letter or digit';

/** An org id from a path or a body, or 422 naming the field. */
export function checkOrgId(value: unknown, field = 'orgId'): string {
  if (typeof value !== 'string')
    throw new ValidationFailedError([
      { field, code: value === undefined ? 'required' : 'invalid_type', message: `must be a string of ${ORG_ID_RULE}` },
    ]);
  if (!isValidOrgId(value))
    throw new ValidationFailedError([{ field, code: 'invalid_format', message: `must be ${ORG_ID_RULE}` }]);
  return value;
}

/** `{ "orgId": "…" }` and nothing else. */
export function parseCreateOrg(body: unknown): string {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new ValidationFailedError([
      { field: '(body)', code: 'invalid_type', message: 'must be a JSON object { "orgId": "…" }' },
    ]);
  const unknown = Object.keys(body).filter((k) => k !== 'orgId');
  if (unknown.length > 0)
    throw new ValidationFailedError(
      unknown.map((k) => ({ field: k.slice(0, 64), code: 'unknown_field', message: 'not a field of this request' })),
    );
  return checkOrgId((body as { orgId?: unknown }).orgId);
}

/** `limit` 1-1000 (default 100), `after` an org id. */
export function parsePage(limit: unknown, after: unknown): { limit: number; after?: string } {
  const errors = [];
  let n = 100;
  if (limit !== undefined) {
    n = typeof limit === 'string' && /^\d{1,4}$/.test(limit) ? Number(limit) : NaN;
    if (!(n >= 1 && n <= 1000))
      errors.push({ field: 'limit', code: 'out_of_range', message: 'must be an integer 1-1000' });
  }
  if (after !== undefined && (typeof after !== 'string' || !isValidOrgId(after)))
    errors.push({ field: 'after', code: 'invalid_format', message: `must be an organization id (${ORG_ID_RULE})` });
  if (errors.length > 0) throw new ValidationFailedError(errors);
  return { limit: n, ...(after !== undefined ? { after: after as string } : {}) };
}
