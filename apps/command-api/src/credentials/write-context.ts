import type { Request, Response } from 'express';
import { CredentialNotFoundError } from '@keystream/credentials';
import { requestId } from '@keystream/observability';
import { etag, parseIdempotencyKey, parseIfMatch } from '../http/preconditions';
import type { Principal } from '@keystream/auth';
import type { CredentialView } from './credential.view';
import type { SaveOutcome } from './save-command';

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

/** The command's actor: only the user id travels into events, never the rest of the token's claims. */
export function actorOf(principal: Principal): { userId: string } {
  return { userId: principal.userId };
}

/** The credential an add or edit left (its single change's result). */
export function writtenCredential(o: SaveOutcome): CredentialView {
  const r = o.results[0];
  if (!r || !('credential' in r)) throw new Error('a single add or edit has no credential in its outcome');
  return r.credential;
}

/** A write's response, built from its outcome after the commit: status, ETag of the new version, body. */
export function send<B extends { version: number }>(res: Response, status: number, body: B): B {
  res.status(status).setHeader('ETag', etag(body.version));
  return body;
}
