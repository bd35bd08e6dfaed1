import type { Request, Response } from 'express';
import { CredentialNotFoundError } from '@keystream/credentials';
import { etag, parseIdempotencyKey, parseIfMatch } from '../http/preconditions';
import { WriteResponse } from './credential-command.service';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The preconditions every write carries. */
export function preconditions(req: Request) {
  return { expectedVersion: parseIfMatch(req.headers['if-match']), idempotency: parseIdempotencyKey(req) };
}

/** A path id that is not a UUID cannot name a credential. */
export function credentialIdParam(id: string): string {
  if (!UUID.test(id)) throw new CredentialNotFoundError(id);
  return id.toLowerCase();
}

export function send(res: Response, r: WriteResponse): object {
  res.status(r.status).setHeader('ETag', etag(r.body.version));
  return r.body;
}
