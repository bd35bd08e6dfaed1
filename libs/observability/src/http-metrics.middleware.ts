import type { IncomingMessage, ServerResponse } from 'node:http';
import { exportMetrics, metrics } from './metrics';

/** The label of requests no route took: 404s, and bodies refused before routing (400 malformed, 413). */
export const UNMATCHED_ROUTE = 'unmatched';

/** A catch-all at the root (`{/*splat}`, `/*path`): Nest's not-found route, not a route of the application. */
const ROOT_CATCH_ALL = /^\{?\/\*[A-Za-z0-9_]*\}?$/;

type RoutedRequest = IncomingMessage & { route?: { path?: unknown }; baseUrl?: string };

/**
 * The route template that answered (`/v1/orgs/:orgId/credentials`), never the raw path: ids in label values
 * would make one series per org. Express sets `req.route` when a route matches; path escapes (`\\:batch`) dropped.
 */
export function routeTemplate(req: RoutedRequest): string {
  const path = req.route?.path;
  if (typeof path !== 'string' || (!req.baseUrl && ROOT_CATCH_ALL.test(path))) return UNMATCHED_ROUTE;
  return `${req.baseUrl ?? ''}${path}`.replace(/\\/g, '') || '/';
}

/** The status label of a request whose client went away before its response was sent (a client-side timeout). */
export const ABORTED_STATUS = 'aborted';

/**
 * Express middleware counting and timing every request (RED: rate, errors by status, duration) by method, route
 * template and status. Installed first, so requests refused by later middleware (body parsing, guards) count too.
 * Counted at 'close' (which follows 'finish'), so the slowest requests, those the client gave up on, count too.
 */
export function httpMetrics(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  const end = metrics.httpSeconds.startTimer();
  res.once('close', () => {
    const status = res.writableFinished ? String(res.statusCode) : ABORTED_STATUS;
    const labels = { method: req.method ?? 'UNKNOWN', route: routeTemplate(req), status };
    metrics.httpRequests.inc(labels);
    end(labels);
  });
  next();
}

/** Counts this app's requests from here on and exports the HTTP families: call before any other `app.use`. */
export function installHttpMetrics(app: { use(handler: typeof httpMetrics): unknown }): void {
  exportMetrics('http');
  app.use(httpMetrics);
}
