import type { NextFunction, Request, Response } from 'express';
import { MethodNotAllowedError, sendProblem } from './problem-details.filter';

type Paths = Readonly<Record<string, object>>;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/**
 * 405 (with `Allow`) for a method a known path does not declare, instead of Express's 404. The table is the
 * OpenAPI document itself — every route is in it — plus the document and docs routes, so it cannot drift.
 */
export function methodNotAllowed(paths: Paths, extra: Readonly<Record<string, readonly string[]>> = {}) {
  const table = [
    ...Object.entries(paths).map(([template, ops]) => ({
      pattern: toPattern(template),
      allow: METHODS.filter((m) => m in ops).map((m) => m.toUpperCase()),
    })),
    ...Object.entries(extra).map(([path, allow]) => ({ pattern: toPattern(path), allow: [...allow] })),
  ];
  return (req: Request, res: Response, next: NextFunction): void => {
    const route = table.find((r) => r.pattern.test(req.path));
    if (!route) return next();
    const allow = route.allow.includes('GET') ? [...route.allow, 'HEAD'] : route.allow;
    if (allow.includes(req.method)) return next();
    if (req.method === 'OPTIONS') {
      res.setHeader('Allow', [...allow, 'OPTIONS'].join(', '));
      res.status(204).end();
      return;
    }
    sendProblem(req, res, new MethodNotAllowedError(req.method, allow));
  };
}

/** `/v1/orgs/{orgId}/credentials:batch` → a regex where each `{param}` is one path segment. */
function toPattern(template: string): RegExp {
  const escaped = template.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('[^/]+')}/?$`);
}
