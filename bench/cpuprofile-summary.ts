/**
 * Summarises a V8 .cpuprofile (e.g. the server child's, from BENCH_CPU_PROF=1 node dist/bench/agents-fanout.bench.js):
 * self time by package / area, the top functions by self time, and the top functions by inclusive time.
 *
 *   node dist/bench/cpuprofile-summary.js bench/results/prof/<file>.cpuprofile [top=30]
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: number[];
}
interface Profile {
  readonly nodes: ProfileNode[];
  readonly samples: number[];
  readonly timeDeltas: number[];
  readonly startTime: number;
  readonly endTime: number;
}

function area(cf: CallFrame): string {
  const u = cf.url;
  if (!u) return `(${cf.functionName || 'native'})`;
  if (u.startsWith('node:')) return u.split('/').slice(0, 2).join('/');
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = u.slice(nm + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const m = /\/(apps|libs|bench)\/([^/]+)/.exec(u);
  return m ? `keystream ${m[1]}/${m[2]}` : u;
}

const short = (u: string) => {
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) return u.slice(nm + 'node_modules/'.length);
  const m = /\/(apps|libs|bench)\/.*/.exec(u);
  return m ? m[0].slice(1) : u;
};
const fnKey = (cf: CallFrame) => `${cf.functionName || '(anonymous)'}  ${short(cf.url)}:${cf.lineNumber + 1}`;

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: cpuprofile-summary <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  const top = Number(topArg ?? 30);
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i += 1) {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000; // ms until the next sample
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self.entries()]
    .filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)')
    .reduce((a, [, v]) => a + v, 0);
  const busy = total - idle;

  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const [id, ms] of self) {
    const cf = byId.get(id)!.callFrame;
    if (cf.functionName === '(idle)') continue;
    add(areas, area(cf), ms);
    add(fns, fnKey(cf), ms);
  }

  // Inclusive time per function, each function counted once per stack (recursion safe).
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  for (const [id, ms] of self) {
    if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = fnKey(byId.get(cur)!.callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      add(inclusive, k, ms);
    }
  }

  const pct = (v: number) => `${((100 * v) / busy).toFixed(1).padStart(5)}%`;
  const print = (title: string, m: Map<string, number>, n: number) => {
    process.stdout.write(`\n${title}\n`);
    for (const [k, v] of [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n))
      process.stdout.write(`${v.toFixed(0).padStart(8)} ms ${pct(v)}  ${k}\n`);
  };
  process.stdout.write(
    `${file}\nprofile ${((p.endTime - p.startTime) / 1e6).toFixed(1)} s, busy ${(busy / 1000).toFixed(1)} s, idle ${(idle / 1000).toFixed(1)} s (percentages are of busy time)\n`,
  );
  print('self time by area', areas, top);
  print('top functions by self time', fns, top);
  inclusive.delete(fnKey({ functionName: '(root)', url: '', lineNumber: -1 }));
  print('top functions by inclusive time', inclusive, top);
}

main();
