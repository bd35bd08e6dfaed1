import { AgentCredential, AgentKeySet } from '@keystream/agent-protocol';
import { isProviderId, PROVIDER_IDS, PROVIDERS } from '@keystream/credentials';

/**
 * The only form a secret is ever printed in: its last 4 characters, and only when the value is long enough to spare
 * them.
 */
export function maskSecret(value: string): string {
  return value.length >= 12 ? `…${value.slice(-4)}` : '…';
}

/** The demo agent's printout of a key set, secrets masked. */
export function keySetLines(
  keySet: AgentKeySet,
  orgId: string | undefined,
  hash: string | undefined,
  source?: string,
): string[] {
  const lines: string[] = [];
  const out = (line = '') => lines.push(line);
  const creds = [...keySet.credentials.values()];
  out(
    `org ${orgId ?? '?'} · epoch ${keySet.epoch} · v${keySet.version} · ${creds.length} credential${creds.length === 1 ? '' : 's'}` +
      `${hash ? ` · hash ${hash.slice(0, 12)}` : ''}${source ? ` (from ${source})` : ''}`,
  );
  if (creds.length === 0) out('  (no credentials)');
  // Known sections in the UI's order, then any provider this build does not know (a newer server), kept and shown.
  const unknown = [...new Set(creds.map((c) => c.provider).filter((p) => !isProviderId(p)))].sort();
  for (const provider of [...PROVIDER_IDS, ...unknown]) {
    const section = creds.filter((c) => c.provider === provider).sort((a, b) => a.label.localeCompare(b.label));
    if (section.length === 0) continue;
    out(`  ${isProviderId(provider) ? PROVIDERS[provider].section : `Other provider: ${provider}`}`);
    for (const c of section) lines.push(...credentialLines(c));
  }
  out();
  return lines;
}

/**
 * Fields in the provider's table order; a field the table calls secret is masked even if it arrived as a plain field.
 */
function credentialLines(c: AgentCredential): string[] {
  const lines: string[] = [];
  const out = (line: string) => lines.push(line);
  out(`    ${c.label || '(no label)'}  [${c.id}]`);
  const spec = isProviderId(c.provider) ? PROVIDERS[c.provider].fields : [];
  const names = [
    ...new Set([...spec.map((f) => f.name), ...Object.keys(c.fields).sort(), ...Object.keys(c.secrets).sort()]),
  ];
  const width = Math.max(...names.map((n) => n.length));
  for (const name of names) {
    const secret = c.secrets[name]?.value ?? (spec.find((f) => f.name === name)?.secret ? c.fields[name] : undefined);
    const shown = secret !== undefined ? maskSecret(secret) : c.fields[name];
    if (shown !== undefined) out(`      ${name.padEnd(width)}  ${shown}`);
  }
  return lines;
}
