/**
 * Diffs two V8 heap snapshots by (node type, constructor/name): count and self size, largest growth first.
 * Used with BENCH_HEAP_SNAPSHOTS=dir to see what an idle connected agent costs on the server.
 *
 *   node dist/bench/heapsnapshot-diff.js before.heapsnapshot after.heapsnapshot [per=1000] [top=40]
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  readonly snapshot: {
    readonly meta: { readonly node_fields: string[]; readonly node_types: [string[], ...unknown[]] };
  };
  readonly nodes: number[];
  readonly strings: string[];
}

function histogram(file: string): Map<string, { count: number; size: number }> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const types = s.snapshot.meta.node_types[0];
  const h = new Map<string, { count: number; size: number }>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType]];
    let name =
      type === 'string' || type === 'concatenated string' || type === 'sliced string'
        ? '(string)'
        : s.strings[s.nodes[i + iName]];
    if (type === 'code') name = '(code)';
    if (name.length > 80) name = `${name.slice(0, 77)}...`;
    const k = `${type}  ${name}`;
    const e = h.get(k) ?? { count: 0, size: 0 };
    e.count += 1;
    e.size += s.nodes[i + iSize];
    h.set(k, e);
  }
  return h;
}

function main(): void {
  const [a, b, perArg, topArg] = process.argv.slice(2);
  if (!a || !b) {
    process.stderr.write('usage: heapsnapshot-diff <before> <after> [per=1000] [top=40]\n');
    process.exit(2);
  }
  const per = Number(perArg ?? 1000);
  const top = Number(topArg ?? 40);
  const ha = histogram(a);
  const hb = histogram(b);
  const rows = [...hb.entries()].map(([k, v]) => {
    const o = ha.get(k) ?? { count: 0, size: 0 };
    return { k, count: v.count - o.count, size: v.size - o.size };
  });
  const total = rows.reduce((s, r) => s + r.size, 0);
  process.stdout.write(
    `self size growth ${(total / 1024).toFixed(0)} KB = ${(total / per / 1024).toFixed(2)} KB per ${per === 1 ? 'unit' : `1/${per}`}\n`,
  );
  process.stdout.write('  bytes/unit   objs/unit  type  name\n');
  for (const r of rows.sort((x, y) => y.size - x.size).slice(0, top)) {
    process.stdout.write(
      `${(r.size / per).toFixed(0).padStart(11)} ${(r.count / per).toFixed(2).padStart(11)}  ${r.k}\n`,
    );
  }
}

main();
