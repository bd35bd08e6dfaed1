import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { FieldError, LONE_SURROGATE, ValidationFailedError } from '@keystream/credentials';

/** Deeper than any request of this API needs (a batch change is 3 levels); recursion over client JSON stays bounded. */
export const MAX_BODY_DEPTH = 16;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Every JSON body, on every route, before any handler sees it: bounded nesting (a deep body would overflow the
 * stack of recursive code after us), no prototype-pollution keys, and no string Postgres cannot store (NUL,
 * unpaired surrogates — refused by text and jsonb alike), in keys or values. Iterative: the check itself
 * cannot overflow. Errors name the first offending place.
 */
export function bodyErrors(body: unknown): FieldError[] {
  const stack: [unknown, string, number][] = [[body, '', 0]];
  while (stack.length > 0) {
    const [value, path, depth] = stack.pop()!;
    const where = path || 'body';
    if (typeof value === 'string') {
      if (value.includes('\u0000') || LONE_SURROGATE.test(value))
        return [
          { field: where, code: 'invalid_characters', message: 'must be valid Unicode text without NUL characters' },
        ];
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_BODY_DEPTH)
      return [{ field: where, code: 'too_deep', message: `nests deeper than ${MAX_BODY_DEPTH} levels` }];
    for (const key of Object.keys(value)) {
      const here = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      if (FORBIDDEN_KEYS.has(key))
        return [{ field: here, code: 'forbidden_key', message: `"${key}" is not allowed as a key` }];
      if (key.includes('\u0000') || LONE_SURROGATE.test(key))
        return [
          { field: path || 'body', code: 'invalid_characters', message: 'has a key that is not valid Unicode text' },
        ];
      stack.push([(value as Record<string, unknown>)[key], here, depth + 1]);
    }
  }
  return [];
}

@Injectable()
export class SafeBodyInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const errors = bodyErrors(context.switchToHttp().getRequest<Request>().body);
      if (errors.length > 0) throw new ValidationFailedError(errors);
    }
    return next.handle();
  }
}
