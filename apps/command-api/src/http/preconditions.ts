import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type { IdempotencyKey } from '../credentials/save-command';
import { badRequest } from './problem';

/** `If-Match: "<version>"` (a weak tag or a bare number is accepted too); `*` or absent means any version. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,10})"?\s*$/.exec(header);
  if (!m)
    throw badRequest('invalid_if_match', 'If-Match must be an ETag like "12"', [
      { field: 'If-Match', code: 'invalid_format', message: 'must be a version ETag like "12"' },
    ]);
  return Number(m[1]);
}

/** Idempotency-Key: 1-200 visible ASCII characters. The hash binds the key to this exact request. */
export function parseIdempotencyKey(req: Request): IdempotencyKey | undefined {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(key)) {
    throw badRequest('invalid_idempotency_key', 'Idempotency-Key must be 1-200 visible ASCII characters', [
      { field: 'Idempotency-Key', code: 'invalid_format', message: 'must be 1-200 visible ASCII characters' },
    ]);
  }
  const requestHash = createHash('sha256')
    .update(req.method)
    .update('\0')
    .update(req.path)
    .update('\0')
    .update(JSON.stringify(req.body ?? null))
    .digest('hex');
  return { key, requestHash };
}

export function etag(version: number): string {
  return `"${version}"`;
}
