/**
 * Property tests for L1Cache (fast-check): random operation sequences on every
 * policy, checked against a model of what the cache must hold.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ManualClock } from '@fiml/market';
import { EVICTION_POLICIES, L1Cache, L1CacheError, type EvictionPolicy } from '../src/index.js';

const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9', 'p:0', 'p:1', 'p:2'];

type Op =
  | { op: 'set'; key: string; value: number; ttlMs?: number }
  | { op: 'get' | 'peek' | 'has' | 'delete' | 'protect' | 'unprotect'; key: string }
  | { op: 'protectPattern' | 'unprotectPattern' }
  | { op: 'advance'; ms: number }
  | { op: 'sweep' | 'clear' };

const keyArb = fc.constantFrom(...KEYS);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({ op: fc.constant('set' as const), key: keyArb, value: fc.nat(1000) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('set' as const),
      key: keyArb,
      value: fc.nat(1000),
      // Multiples of 5, like the clock steps below, so reads often land exactly on an expiry.
      ttlMs: fc.constantFrom(0, 5, 10, 15, 20, 25),
    }),
  },
  { weight: 8, arbitrary: fc.record({ op: fc.constant('get' as const), key: keyArb }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constantFrom('peek' as const, 'has' as const), key: keyArb }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), key: keyArb }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constantFrom('protect' as const, 'unprotect' as const),
      key: keyArb,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constantFrom('protectPattern' as const, 'unprotectPattern' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.constantFrom(0, 1, 5, 10) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('sweep' as const, 'clear' as const) }) },
);

const configArb = fc.record({
  evictionPolicy: fc.constantFrom(...EVICTION_POLICIES),
  maxEntries: fc.integer({ min: 1, max: 8 }),
  maxBytes: fc.option(fc.integer({ min: 1000, max: 4000 }), { nil: undefined }),
});

describe('L1Cache properties', () => {
  it('stays within its bounds, never evicts a protected key, and get after set returns the value until eviction or expiry', () => {
    fc.assert(
      fc.property(configArb, fc.array(opArb, { minLength: 20, maxLength: 200 }), (config, ops) => {
        const clock = new ManualClock(0);
        const cache = new L1Cache<number>({
          evictionPolicy: config.evictionPolicy,
          maxEntries: config.maxEntries,
          clock,
          evictionLogSize: 8,
          // Values are 0..1000 and count as that many bytes (0 bytes is allowed too).
          ...(config.maxBytes === undefined
            ? {}
            : { maxBytes: config.maxBytes, sizeOf: (v: number) => v }),
        });
        // The model: what the cache must answer, learned from writes, deletes and events.
        const model = new Map<string, { value: number; expiresAt: number }>();
        cache.on('evict', ({ key, value, reason }) => {
          expect(cache.isProtected(key)).toBe(false);
          expect(model.get(key)?.value).toBe(value);
          expect(['capacity', 'admission-rejected']).toContain(reason);
          model.delete(key);
        });
        cache.on('expire', ({ key, value }) => {
          const entry = model.get(key);
          expect(entry?.value).toBe(value);
          expect(entry!.expiresAt).not.toBe(0);
          expect(clock.now()).toBeGreaterThanOrEqual(entry!.expiresAt);
          model.delete(key);
        });
        const expected = (key: string): number | undefined => {
          const entry = model.get(key);
          if (entry === undefined) return undefined;
          return entry.expiresAt !== 0 && clock.now() >= entry.expiresAt ? undefined : entry.value;
        };

        for (const step of ops) {
          switch (step.op) {
            case 'set': {
              const before = cache.size;
              try {
                cache.set(
                  step.key,
                  step.value,
                  step.ttlMs === undefined ? undefined : { ttlMs: step.ttlMs },
                );
                model.set(step.key, {
                  value: step.value,
                  expiresAt: step.ttlMs ? clock.now() + step.ttlMs : 0,
                });
              } catch (error) {
                // Only a refusal to grow past the bounds, and then nothing changed.
                expect(error).toBeInstanceOf(L1CacheError);
                expect(cache.size).toBeLessThanOrEqual(before);
              }
              break;
            }
            case 'get':
              expect(cache.get(step.key)).toBe(expected(step.key));
              break;
            case 'peek':
              expect(cache.peek(step.key)).toBe(expected(step.key));
              break;
            case 'has':
              expect(cache.has(step.key)).toBe(expected(step.key) !== undefined);
              break;
            case 'delete':
              cache.delete(step.key);
              model.delete(step.key);
              break;
            case 'protect':
              try {
                cache.protectKey(step.key);
              } catch (error) {
                expect(error).toBeInstanceOf(RangeError); // more protected keys than maxEntries
              }
              break;
            case 'unprotect':
              cache.unprotectKey(step.key);
              break;
            case 'protectPattern':
              cache.protectKey('p:*');
              break;
            case 'unprotectPattern':
              cache.unprotectKey('p:*');
              break;
            case 'advance':
              clock.advance(step.ms);
              break;
            case 'sweep':
              cache.sweepExpired();
              break;
            case 'clear':
              cache.clear();
              model.clear();
              break;
          }
          const stats = cache.stats();
          expect(cache.size).toBeLessThanOrEqual(config.maxEntries);
          expect(cache.bytes).toBeLessThanOrEqual(config.maxBytes ?? 0);
          expect(stats.protectedEntries).toBeLessThanOrEqual(cache.size);
          expect(stats.entries).toBe(cache.size);
          // Every entry the cache holds is one the model expects (expired ones included until found).
          expect(cache.size).toBe(model.size);
        }
        // Protected keys that were written and never deleted or expired are all still there.
        for (const key of KEYS) {
          if (cache.isProtected(key) && expected(key) !== undefined)
            expect(cache.peek(key)).toBe(expected(key));
        }
      }),
      { numRuns: 300 },
    );
  });
});

/** Reference models: the obvious O(n) implementation of each ordering policy. */
interface Model {
  /** Reads a key; true on a hit. */
  get(key: string): boolean;
  /** Writes a key; returns the key evicted to make room, if any. */
  set(key: string): string | undefined;
  delete(key: string): void;
}

function lruModel(capacity: number): Model {
  const order: string[] = [];
  const touch = (key: string): void => {
    order.splice(order.indexOf(key), 1);
    order.push(key);
  };
  return {
    get: (key) => order.includes(key) && (touch(key), true),
    set: (key) => {
      if (order.includes(key)) return void touch(key);
      const victim = order.length === capacity ? order.shift() : undefined;
      order.push(key);
      return victim;
    },
    delete: (key) => void (order.includes(key) && order.splice(order.indexOf(key), 1)),
  };
}

/** LFU with ties to the longest in its count, counts halved (min 1) every 10 x capacity uses. */
function lfuModel(capacity: number): Model {
  const entries = new Map<string, { count: number; since: number }>();
  let clock = 0;
  let uses = 0;
  const use = (): void => {
    if (++uses < 10 * capacity) return;
    uses = 0;
    // Halving merges counts 2f and 2f+1 into f, keeping lower old counts first, then age.
    const sorted = [...entries.values()].sort((a, b) => a.count - b.count || a.since - b.since);
    for (const e of sorted) {
      e.count = Math.max(1, e.count >> 1);
      e.since = clock++;
    }
  };
  const bump = (key: string): void => {
    const e = entries.get(key)!;
    e.count = Math.min(255, e.count + 1);
    e.since = clock++;
    use();
  };
  return {
    get: (key) => entries.has(key) && (bump(key), true),
    set: (key) => {
      if (entries.has(key)) return void bump(key);
      let victim: string | undefined;
      if (entries.size === capacity) {
        let best: { count: number; since: number } | undefined;
        for (const [k, e] of entries) {
          if (!best || e.count < best.count || (e.count === best.count && e.since < best.since)) {
            best = e;
            victim = k;
          }
        }
        entries.delete(victim!);
      }
      entries.set(key, { count: 1, since: clock++ });
      use();
      return victim;
    },
    delete: (key) => void entries.delete(key),
  };
}

/** LRFU: score = sum of 2^(t / halfLife) over accesses, lowest goes. Same float steps as the strategy. */
function hybridModel(capacity: number, halfLife: number): Model {
  const scores = new Map<string, number>();
  const growth = 2 ** (1 / halfLife);
  let weight = 1;
  const tick = (): number => (weight *= growth);
  return {
    get: (key) => scores.has(key) && (scores.set(key, scores.get(key)! + tick()), true),
    set: (key) => {
      if (scores.has(key)) return void scores.set(key, scores.get(key)! + tick());
      let victim: string | undefined;
      if (scores.size === capacity) {
        for (const [k, s] of scores)
          if (victim === undefined || s < scores.get(victim)!) victim = k;
        scores.delete(victim!);
      }
      scores.set(key, tick());
      return victim;
    },
    delete: (key) => void scores.delete(key),
  };
}

describe('L1Cache against reference models', () => {
  const models: [EvictionPolicy, (capacity: number) => Model][] = [
    ['lru', lruModel],
    ['lfu', lfuModel],
    ['hybrid', (capacity) => hybridModel(capacity, 2 * capacity)],
  ];
  // Few keys beyond capacity, so counts grow and LFU's halving decides evictions often.
  const caseArb = fc.integer({ min: 1, max: 6 }).chain((maxEntries) =>
    fc.tuple(
      fc.constant(maxEntries),
      fc.array(
        fc.record({
          op: fc.constantFrom('get', 'get', 'set', 'set', 'delete'),
          key: fc.integer({ min: 0, max: maxEntries + 2 }).map((i) => `k${i}`),
        }),
        { minLength: 100, maxLength: 400 },
      ),
    ),
  );

  it.each(models)(
    '%s evicts exactly what its reference model evicts',
    (evictionPolicy, makeModel) => {
      fc.assert(
        fc.property(caseArb, ([maxEntries, steps]) => {
          const cache = new L1Cache<string>({ maxEntries, evictionPolicy });
          const model = makeModel(maxEntries);
          const evicted: string[] = [];
          cache.on('evict', ({ key }) => evicted.push(key));
          for (const { op, key } of steps) {
            if (op === 'get') expect(cache.get(key) !== undefined).toBe(model.get(key));
            else if (op === 'delete') {
              cache.delete(key);
              model.delete(key);
            } else {
              const victim = model.set(key);
              cache.set(key, key);
              expect(evicted.splice(0)).toEqual(victim === undefined ? [] : [victim]);
            }
          }
        }),
        { numRuns: 200 },
      );
    },
  );
});
