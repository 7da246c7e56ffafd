/**
 * Memory per entry of L1Cache under each policy beside lru-cache and a plain
 * Map, at two sizes, measured as the growth of the V8 heap plus array buffers
 * (typed arrays live outside the heap) after a forced GC.
 *
 *   pnpm --filter @fiml/bench bench:l1:memory
 *
 * Keys and the (single, shared) value are created before the baseline is
 * taken and kept alive throughout, so the figures are the cache's own
 * overhead per entry: Map entry, slot arrays, policy arrays, sketch.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { EvictionPolicy, L1Cache } from '@fiml/cache';
import { LRUCache } from 'lru-cache';
import { machineLine, markdownTable, saveResults } from '../lib/report.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// 50,000 slots use 16-bit links; 500,000 need 32-bit ones.
const SIZES = [50_000, 500_000];
const VALUE = { price: 1 };

interface Variant {
  readonly label: string;
  /** Builds a full cache of `n` entries over `keys`; returns it so it stays alive while measured. */
  build(n: number, keys: readonly string[]): unknown;
}
const l1 = (
  label: string,
  extra: Partial<ConstructorParameters<typeof L1Cache<typeof VALUE>>[0]>,
): Variant => ({
  label,
  build: (n, keys) => {
    const cache = new L1Cache<typeof VALUE>({ maxEntries: n, ...extra });
    for (let i = 0; i < n; i++)
      cache.set(keys[i]!, VALUE, extra.defaultTtlMs ? { ttlMs: 60_000 } : undefined);
    return cache;
  },
});
const variants: readonly Variant[] = [
  {
    label: 'Map<string, V> (no eviction at all)',
    build: (n, keys) => {
      const map = new Map<string, typeof VALUE>();
      for (let i = 0; i < n; i++) map.set(keys[i]!, VALUE);
      return map;
    },
  },
  {
    label: 'lru-cache `{ max }`',
    build: (n, keys) => {
      const cache = new LRUCache<string, typeof VALUE>({ max: n });
      for (let i = 0; i < n; i++) cache.set(keys[i]!, VALUE);
      return cache;
    },
  },
  l1('L1 LRU', { evictionPolicy: EvictionPolicy.LRU }),
  l1('L1 LFU', { evictionPolicy: EvictionPolicy.LFU }),
  l1('L1 HYBRID', { evictionPolicy: EvictionPolicy.HYBRID }),
  l1('L1 ADAPTIVE', { evictionPolicy: EvictionPolicy.ADAPTIVE }),
  l1('L1 ADAPTIVE with TTLs', { evictionPolicy: EvictionPolicy.ADAPTIVE, defaultTtlMs: 60_000 }),
  l1('L1 ADAPTIVE with sizeOf', { evictionPolicy: EvictionPolicy.ADAPTIVE, sizeOf: () => 64 }),
];

const used = (): number => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

const REPEATS = 5;
const results: { label: string; size: number; bytesPerEntry: number }[] = [];
for (const size of SIZES) {
  const keys = Array.from({ length: size }, (_, i) => `price:K${i.toString(36).padStart(6, '0')}`);
  for (const variant of variants) {
    const measured: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      const before = used();
      let held: unknown = variant.build(size, keys);
      const after = used();
      measured.push((after - before) / size);
      if (held === null) console.log(held); // keep `held` alive until measured
      held = undefined;
    }
    measured.sort((a, b) => a - b);
    results.push({ label: variant.label, size, bytesPerEntry: measured[REPEATS >> 1]! });
    process.stderr.write(
      `${variant.label} @ ${size}: ${measured.map((x) => x.toFixed(1)).join(', ')}\n`,
    );
  }
}

const rows = variants.map((variant) => [
  variant.label,
  ...SIZES.map((size) =>
    results.find((r) => r.label === variant.label && r.size === size)!.bytesPerEntry.toFixed(1),
  ),
]);
const markdown = [
  '## L1 memory per entry (bytes)',
  '',
  `Command: \`pnpm --filter @fiml/bench bench:l1:memory\`. ${machineLine()}`,
  '',
  'Growth of heapUsed + arrayBuffers after a forced GC, divided by the number of entries, for a cache filled to',
  `maxEntries; keys and the one shared value exist before the baseline, so they are not counted. Median of ${REPEATS}.`,
  '',
  markdownTable(['cache', ...SIZES.map((s) => `${s.toLocaleString('en-US')} entries`)], rows),
].join('\n');
saveResults('l1-memory', markdown, { sizes: SIZES, results });
