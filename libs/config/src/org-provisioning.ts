/**
 * How an organization comes to exist (`KEYSTREAM_ORG_PROVISIONING`):
 * - `manual` (default): only an operator creates it (`keystream orgs create`, `POST /v1/orgs`);
 * - `on-first-admin`: also the first write of a verified admin token whose `org` is unknown.
 * A deleted organization is never created again either way (its id stays a tombstone).
 */
export type OrgProvisioning = 'manual' | 'on-first-admin';

export const ORG_PROVISIONING_MODES: readonly OrgProvisioning[] = ['manual', 'on-first-admin'];

/** Reads the mode; a bad value names its variable (the caller turns it into a ConfigError). */
export function readOrgProvisioning(
  env: Readonly<Record<string, string | undefined>>,
  fail: (name: string, reason: string) => Error,
): OrgProvisioning {
  const raw = env.KEYSTREAM_ORG_PROVISIONING;
  if (raw === undefined || raw === '') return 'manual';
  if ((ORG_PROVISIONING_MODES as readonly string[]).includes(raw)) return raw as OrgProvisioning;
  throw fail('KEYSTREAM_ORG_PROVISIONING', `must be ${ORG_PROVISIONING_MODES.join(' or ')}, got "${raw}"`);
}
