import type { NextFunction, Request, Response } from 'express';

/**
 * Swagger UI's page: its scripts are files of our own origin, its styles partly inline. Nothing else loads (the
 * online validator badge is turned off), nothing may frame it.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * On every response: no MIME sniffing, and no caching — API answers carry org data and ETags are for
 * conditional requests, not for shared caches. Routes that can be cached (the admin UI's hashed assets) set
 * their own Cache-Control after this.
 */
export function edgeHeaders(req: Request, res: Response, next: NextFunction): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Cache-Control', 'no-store');
  if (req.path === '/docs' || req.path.startsWith('/docs/')) {
    res.setHeader('Content-Security-Policy', DOCS_CSP);
    res.setHeader('X-Frame-Options', 'DENY');
  }
  next();
}
