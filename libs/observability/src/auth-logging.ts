import { Logger } from '@nestjs/common';

/**
 * The process's log line for a failed fetch of the identity provider's discovery document or JWKS (the
 * verifier counts it in keystream_auth_key_fetch_failures_total). Only the URL and the error: never a token.
 */
export function keyFetchWarning(context = 'auth'): (source: string, url: string, error: Error) => void {
  const log = new Logger(context);
  return (source, url, error) =>
    log.warn(
      `identity provider ${source} fetch failed (${url}): ${error.message}; tokens are refused until it succeeds`,
    );
}
