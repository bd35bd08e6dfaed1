import { PythonAgents, PythonAgentStatus } from './python-agents';
import { SeededRandom } from './seeded-random';
import { StrictAgent } from './strict-agent';

/** What the scenario needs of any agent, whichever language it is written in. */
export interface FleetAgent {
  name: string;
  orgId: string;
  lang: 'js' | 'python';
}
export type AgentView = Pick<
  PythonAgentStatus,
  'connected' | 'settled' | 'epoch' | 'version' | 'hash' | 'violations' | 'seenIds' | 'credentials'
>;

/** The JS and Python strict agents of a run, spread over the gateways, driven by one seeded script. */
export class AgentFleet {
  readonly agents: FleetAgent[] = [];
  private readonly js = new Map<string, StrictAgent>();
  private readonly lastResync = new Map<string, number>();
  /** Orgs whose agents are left alone for a moment (the epoch change). */
  readonly quiet = new Set<string>();

  constructor(
    private readonly py: PythonAgents,
    private readonly rng: SeededRandom,
  ) {}

  addJs(name: string, orgId: string, agent: StrictAgent): void {
    this.agents.push({ name, orgId, lang: 'js' });
    this.js.set(name, agent);
    agent.connect(false);
  }

  addPython(name: string, orgId: string, token: string): void {
    this.agents.push({ name, orgId, lang: 'python' });
    this.py.add(name, orgId, token);
    this.py.connect(name);
  }

  /** One step of the fault script: a dropped connection (sometimes a reinstall) or a resync, on a random agent. */
  chaosStep(): string | undefined {
    const a = this.rng.pick(this.agents);
    if (this.quiet.has(a.orgId)) return undefined;
    const roll = this.rng.next();
    if (roll < 0.45) {
      const pause = this.rng.int(0, 2000);
      const fresh = this.rng.chance(0.1);
      if (a.lang === 'js') this.js.get(a.name)!.drop(pause, fresh);
      else this.py.drop(a.name, pause, fresh);
      return `${a.name} drop ${pause} ms${fresh ? ' (reinstall)' : ''}`;
    }
    // §6: keys.resync is budgeted at 1 per 2 s per socket; a well-behaved agent stays below it.
    if (roll < 0.8 && Date.now() - (this.lastResync.get(a.name) ?? 0) > 2500) {
      this.lastResync.set(a.name, Date.now());
      if (a.lang === 'js') void this.js.get(a.name)!.resync();
      else this.py.resync(a.name);
      return `${a.name} resync`;
    }
    return undefined;
  }

  async views(): Promise<Map<string, AgentView>> {
    const py = await this.py.status();
    const out = new Map<string, AgentView>(Object.entries(py));
    for (const [name, a] of this.js) {
      const c = a.check;
      out.set(name, {
        connected: a.connected,
        settled: a.settled,
        epoch: c.epoch,
        version: c.version,
        hash: c.keySet.hash(),
        violations: a.violations,
        seenIds: [...c.seenIds],
        credentials: [...c.keySet.credentials.values()],
      });
    }
    return out;
  }

  /** One line per agent (and the recent trace of JS agents not at `target`), for a failure message. */
  async summary(target: (name: string) => number): Promise<string> {
    const lines = [...(await this.views())].map(([n, v]) => {
      const at = v.version === target(n) ? '' : ` NOT AT HEAD ${target(n)}`;
      const trace = at && this.js.has(n) ? `\n    ${this.js.get(n)!.trace.slice(-12).join('\n    ')}` : '';
      return `${n}: ${v.connected ? 'connected' : 'disconnected'} ${v.settled ? 'settled' : 'unsettled'} e${v.epoch}/v${v.version}${at} violations=${v.violations.length} ${v.violations.slice(0, 3).join(' | ')}${trace}`;
    });
    return lines.join('\n');
  }

  async close(): Promise<void> {
    this.js.forEach((a) => a.close());
    await this.py.close();
  }
}
