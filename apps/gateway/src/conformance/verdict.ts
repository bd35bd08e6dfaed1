import { AgentView } from './agent-fleet';
import { KeySet } from './key-set';
import { RestCredential } from './rest-writer';

/** The end-of-run comparisons, each a list of problems (empty = conformant), so a failure shows all of them at once. */
export interface OrgTruth {
  orgId: string;
  devices: string[];
  createdIds: Set<string>;
  epoch: number;
  version: number;
  credentials: RestCredential[];
}

/**
 * Every agent holds exactly the REST key set at the org's head: same credentials, fields, fingerprints, last4 and hash.
 */
export function keySetMismatches(orgs: OrgTruth[], views: Map<string, AgentView>): unknown[] {
  const problems: unknown[] = [];
  for (const o of orgs) {
    const hash = KeySet.of(o.credentials).hash();
    const expected = comparable(o.credentials);
    for (const name of o.devices) {
      const v = views.get(name);
      if (!v) {
        problems.push({ name, problem: 'no view of this agent' });
        continue;
      }
      const foreign = v.seenIds.filter((id) => orgs.some((other) => other !== o && other.createdIds.has(id)));
      const held = comparable(v.credentials);
      const got = { epoch: v.epoch, version: v.version, hash: v.hash, foreign: foreign.length };
      const want = { epoch: o.epoch, version: o.version, hash, foreign: 0 };
      if (JSON.stringify(got) !== JSON.stringify(want) || JSON.stringify(held) !== JSON.stringify(expected)) {
        problems.push({
          name,
          got,
          want,
          onlyAgent: held.filter((c) => !expected.some((e) => JSON.stringify(e) === JSON.stringify(c))),
          onlyRest: expected.filter((e) => !held.some((c) => JSON.stringify(e) === JSON.stringify(c))),
        });
      }
    }
  }
  return problems;
}

/**
 * Positions (org, version) that two agents held with different content: a snapshot not exactly the key set at its
 * version.
 */
export function ledgerSplits(ledger: Map<string, Set<string>>): unknown[] {
  return [...ledger].filter(([, hashes]) => hashes.size > 1).map(([at, hashes]) => ({ at, hashes: [...hashes] }));
}

/**
 * What REST shows of a credential (secrets as last4 + fingerprint), from either side: the agent holds plaintext values.
 */
function comparable(
  list: {
    id: string;
    provider: string;
    label: string;
    fields: Record<string, string>;
    secrets: Record<string, { value?: string; last4?: string; fingerprint: string }>;
  }[],
) {
  return list
    .map((c) => ({
      id: c.id,
      provider: c.provider,
      label: c.label,
      fields: Object.fromEntries(Object.entries(c.fields).sort(([a], [b]) => (a < b ? -1 : 1))),
      secrets: Object.fromEntries(
        Object.entries(c.secrets)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([n, s]) => [n, { last4: s.last4 ?? (s.value ?? '').slice(-4), fingerprint: s.fingerprint }]),
      ),
    }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
