import { json } from 'express';
import type { NextFunction, Request, Response } from 'express';
import { problem, PROBLEM_CONTENT_TYPE } from './problem';

export const MAX_BODY_BYTES = 64 * 1024;

const parse = json({
  limit: MAX_BODY_BYTES,
  strict: true,
  type: ['application/json', 'application/*+json', 'application/merge-patch+json'],
});

/** body-parser's errors never reach Nest's filters, so they become problem documents here. */
export function jsonBody(req: Request, res: Response, next: NextFunction): void {
  parse(req, res, (err?: { type?: string; status?: number; message?: string }) => {
    if (!err) return next();
    const p =
      err.type === 'entity.too.large'
        ? problem(413, 'body_too_large', 'Payload too large', `The request body exceeds ${MAX_BODY_BYTES} bytes`, [
            { field: 'body', code: 'too_large', message: `must be at most ${MAX_BODY_BYTES} bytes` },
          ])
        : err.type === 'entity.parse.failed'
          ? problem(400, 'malformed_json', 'Malformed JSON', 'The request body is not valid JSON', [
              { field: 'body', code: 'malformed_json', message: 'is not valid JSON' },
            ])
          : problem(
              err.status && err.status < 500 ? err.status : 400,
              'unreadable_body',
              'Unreadable body',
              'The request body could not be read',
            );
    res
      .status(p.status)
      .type(PROBLEM_CONTENT_TYPE)
      .send(JSON.stringify({ ...p, instance: req.originalUrl.split('?')[0] }));
  });
}
