import { applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiParam, ApiResponse } from '@nestjs/swagger';

/**
 * How every route documents itself, so /openapi.json stays valid and generates working clients:
 *
 *   @ApiOperation / @ApiRoute('operationId', 'summary')   a stable operationId (client method names)
 *   @ApiJson(200, 'KeySet', { etag: true })                the success response; the schema is a component
 *                                                          registered in openapi-schemas.ts
 *   @ApiProblems(401, 403, 404, 503)                       every error status the route can answer, each an
 *                                                          application/problem+json Problem (429/503 carry Retry-After)
 *   @ApiWrite()                                            If-Match, Idempotency-Key, and the write errors
 *                                                          (400, 409, 412, 413, 422, 429)
 *   @ApiOrgParam() / @ApiCredentialIdParam()               path parameters with their formats
 *
 * A status the route can answer but does not declare fails the contract spec (Schemathesis), as does a body
 * that does not match its schema.
 */
const schemaRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 0 } },
};
const ETAG = {
  ETag: { description: 'The key set version this answer reflects, e.g. "12"', schema: { type: 'string' } },
};

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed JSON, a body that is not an object, or a malformed header (If-Match, Idempotency-Key)',
  401: 'Missing, invalid, expired or revoked token',
  403: 'The token is for another organization, or lacks the role',
  404: 'Unknown organization or credential',
  410: 'The organization was deleted (org_deleted); its id is never reused',
  409: 'Label already used in the section (label_taken), or a write that lost a race (concurrent_write)',
  412: 'If-Match names a version that is no longer current',
  413: 'Body larger than 64 KiB',
  422: 'Field errors (validation_failed, provider_mismatch, too_many_credentials, idempotency_key_reused)',
  429: 'Rate limited; see Retry-After',
  503: 'Not ready, or the organization is busy / the commit outcome is unknown; see Retry-After',
};

export const ApiRoute = (operationId: string, summary: string) => ApiOperation({ operationId, summary });

export function ApiJson(status: number, schema: string, opts: { etag?: boolean; description?: string } = {}) {
  return ApiResponse({
    status,
    description: opts.description ?? 'OK',
    content: { 'application/json': { schema: schemaRef(schema) } },
    ...(opts.etag ? { headers: ETAG } : {}),
  });
}

export function ApiProblems(...statuses: number[]) {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: PROBLEM_DESCRIPTIONS[status] ?? 'Error',
        content: { 'application/problem+json': { schema: schemaRef('Problem') } },
        ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}),
      }),
    ),
  );
}

export function ApiWrite() {
  return applyDecorators(
    ApiHeader({
      name: 'If-Match',
      required: false,
      description: 'Apply only if the key set is still at this version (an ETag like "12"); else 412',
      schema: { type: 'string', pattern: '^(\\*|(W/)?"?[0-9]{1,10}"?)$', example: '"12"' },
    }),
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Client-chosen key (1-200 visible ASCII characters): a retry with the same key and body returns the first result',
      schema: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$' },
    }),
    ApiProblems(400, 409, 412, 413, 422, 429),
  );
}

/** Every route under an organization can also answer 410 once the organization was deleted. */
export const ApiOrgParam = () =>
  applyDecorators(
    ApiParam({
      name: 'orgId',
      description: 'Organization id',
      schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{1,62}$' },
    }),
    ApiProblems(410),
  );
export const ApiCredentialIdParam = () =>
  ApiParam({ name: 'id', description: 'Credential id', schema: { type: 'string', format: 'uuid' } });
