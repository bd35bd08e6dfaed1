import type { Request, Response } from 'express';
import { CredentialNotFoundError } from '@keystream/credentials';
import { requestId } from '@keystream/observability';
import { etag, parseIdempotencyKey, parseIfMatch } from '../http/preconditions';
import { WriteResponse } from './credential-command.service';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The preconditions every write carries, and its correlation id (the request id becomes the command id). */
export function preconditions(req: Request) {
  const commandId = (req as Request & { id?: unknown }).id;
  return {
    expectedVersion: parseIfMatch(req.headers['if-match']),
    idempotency: parseIdempotencyKey(req),
    commandId: typeof commandId === 'string' ? commandId : requestId(req),
  };
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
