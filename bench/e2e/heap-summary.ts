/**
 * What a V8 heap snapshot (.heapsnapshot, as --heapsnapshot-signal writes it) holds: live objects
 * grouped by node type and name (constructor for objects), with their count and shallow size, the
 * largest first. Enough to tell a cache that grows with its entries from garbage V8 has not yet
 * collected (a snapshot is taken after a full GC: only what is reachable is in it).
 *
 *   pnpm exec tsx e2e/heap-summary.ts <file.heapsnapshot> [top=25]
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export interface HeapGroup {
  readonly type: string;
  readonly name: string;
  readonly count: number;
  readonly bytes: number;
}

export interface HeapSummary {
  readonly nodes: number;
  readonly bytes: number;
  readonly top: readonly HeapGroup[];
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Groups names that differ only by content (strings, code) so the groups stay few. */
function groupName(type: string, name: string): string {
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string') return '';
  if (type === 'code' || type === 'number' || type === 'hidden') return '';
  if (type === 'closure') return name || '(anonymous)';
  return name.length > 80 ? `${name.slice(0, 77)}...` : name;
}

export function summarizeHeapSnapshot(file: string, top = 25): HeapSummary {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const groups = new Map<string, { type: string; name: string; count: number; bytes: number }>();
  let bytes = 0;
  const { nodes, strings } = snap;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + iType]!] ?? '?';
    const name = groupName(type, strings[nodes[i + iName]!] ?? '');
    const size = nodes[i + iSize]!;
    bytes += size;
    const key = `${type}\u0000${name}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { type, name, count: 0, bytes: 0 }));
    g.count += 1;
    g.bytes += size;
  }
  return {
    nodes: nodes.length / width,
    bytes,
    top: [...groups.values()].sort((a, b) => b.bytes - a.bytes).slice(0, top),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: heap-summary.ts <file.heapsnapshot> [top]');
    process.exit(2);
  }
  const s = summarizeHeapSnapshot(file, Number(process.argv[3] ?? 25));
  console.log(`${s.nodes} nodes, ${(s.bytes / 1e6).toFixed(1)} MB shallow`);
  for (const g of s.top) {
    console.log(
      `${(g.bytes / 1e6).toFixed(2).padStart(8)} MB ${String(g.count).padStart(9)}  ${g.type} ${g.name}`,
    );
  }
}
