// The pending store's scripts against a real redis-server: what becomes of a
// key at each step (add, merge, claim, settle, retry, requeue, renew), and that
// a token only ever touches the keys it owns.
import { describe, expect, it } from '@jest/globals';
import { uniqueName } from '@fiml/testing';
import {
  PendingStore,
  PRIORITY_RANK,
  parseMeta,
  type GroupKey,
} from '../src/scheduler/pending-store.js';
import { redis } from './support.js';

const group: GroupKey = { provider: 'sim-equities', assetType: 'equity', dataType: 'price' };
const NOW = 1_800_000_000_000;
const { urgent, normal, low } = PRIORITY_RANK;

function store(): PendingStore {
  return new PendingStore({ redis: redis('pending-store'), prefix: uniqueName('ps') });
}

/** Claims a batch and reads its keys back as the batch job does (`parseMeta` per key). */
async function claimWith(s: PendingStore, token: string, max = 100, includeLow = true) {
  const options = { max, includeLow, leaseUntil: NOW + 60_000, token, deadlineBefore: NOW };
  const { symbols, metas, count, after } = await s.claimPacked(group, options);
  if (count === 0) return { claimed: [], after };
  const metaList = metas.split(' ');
  return { claimed: symbols.split(' ').map((sym, i) => parseMeta(sym, metaList[i]!)), after };
}
const claimAll = async (s: PendingStore, token: string, max = 100, includeLow = true) =>
  (await claimWith(s, token, max, includeLow)).claimed;

describe('PendingStore', () => {
  it('queues new keys, merges repeats (within one call too) and counts what a batch could take', async () => {
    const s = store();
    const first = await s.add(
      group,
      [
        { symbol: 'A', priority: normal },
        { symbol: 'B', priority: low },
        { symbol: 'A', priority: urgent, deadline: NOW + 5_000 },
      ],
      NOW,
    );
    expect(first).toEqual({ outcomes: ['queued', 'queued', 'merged'], nonLowPending: 1 });
    const again = await s.add(group, [{ symbol: 'B', priority: normal }], NOW + 1_000);
    expect(again).toEqual({ outcomes: ['merged'], nonLowPending: 2 });
    const snapshot = await s.snapshot(group);
    expect(snapshot).toMatchObject({
      urgent: 1,
      normal: 1,
      low: 0,
      oldestUrgentAt: NOW,
      // B keeps the time it was first asked for.
      oldestNormalAt: NOW,
      earliestDeadline: NOW + 5_000,
    });
    expect(await s.pendingCounts()).toEqual([{ group, keys: 2 }]);
  });

  it('claims deadline-due keys first, then urgent, normal and low, oldest first, up to max', async () => {
    const s = store();
    await s.add(group, [{ symbol: 'L', priority: low }], NOW - 4_000);
    await s.add(group, [{ symbol: 'N1', priority: normal }], NOW - 3_000);
    await s.add(group, [{ symbol: 'N2', priority: normal }], NOW - 2_000);
    await s.add(group, [{ symbol: 'U', priority: urgent }], NOW - 1_000);
    await s.add(group, [{ symbol: 'D', priority: low, deadline: NOW - 10 }], NOW);
    const { claimed, after } = await claimWith(s, 't1', 3);
    expect(claimed.map((k) => k.symbol)).toEqual(['D', 'U', 'N1']);
    expect(claimed[0]).toMatchObject({ priority: low, deadline: NOW - 10, attempts: 0 });
    // The claim reports the group as it left it: what the flusher decides on next.
    expect(after).toEqual(await s.snapshot(group));
    expect(after).toMatchObject({ urgent: 0, normal: 1, low: 1, oldestNormalAt: NOW - 2_000 });
    expect(after.earliestDeadline).toBeUndefined();
    // Low keys only when the policy lets them go.
    expect((await claimAll(s, 't2', 10, false)).map((k) => k.symbol)).toEqual(['N2']);
    expect((await claimAll(s, 't3', 10, true)).map((k) => k.symbol)).toEqual(['L']);
    expect(await claimAll(s, 't4')).toEqual([]);
    // In flight: a new request for the key is answered by the fetch under way.
    expect((await s.add(group, [{ symbol: 'U', priority: urgent }], NOW)).outcomes).toEqual([
      'in-flight',
    ]);
    expect(await s.holds(group, ['U', 'N2', 'nope'])).toEqual([true, true, false]);
  });

  it('settles only the keys its token owns: done keys leave (and stay fresh), retries come back counted', async () => {
    const s = store();
    await s.add(
      group,
      ['A', 'B', 'C'].map((symbol) => ({ symbol, priority: normal })),
      NOW,
    );
    const claimed = await claimAll(s, 'mine');
    expect(claimed).toHaveLength(3);
    // A stranger's token settles nothing.
    expect(await s.settle(group, 'other', [{ symbol: 'A', action: 'done' }], NOW)).toEqual({
      settled: 0,
      requeued: 0,
    });
    const settled = await s.settle(
      group,
      'mine',
      [
        { symbol: 'A', action: 'done', freshUntil: NOW + 30_000 },
        { symbol: 'B', action: 'done' },
        { symbol: 'C', action: 'retry', at: NOW + 2_000 },
      ],
      NOW,
    );
    expect(settled).toEqual({ settled: 3, requeued: 0 });
    expect(await s.holds(group, ['A', 'B', 'C'])).toEqual([false, false, true]);
    // A was written recently enough: a non-urgent request skips it, an urgent one does not.
    expect(
      (
        await s.add(
          group,
          [
            { symbol: 'A', priority: normal },
            { symbol: 'B', priority: normal },
          ],
          NOW + 1,
        )
      ).outcomes,
    ).toEqual(['fresh', 'queued']);
    expect((await s.add(group, [{ symbol: 'A', priority: urgent }], NOW + 1)).outcomes).toEqual([
      'queued',
    ]);
    const retried = (await claimAll(s, 'next')).find((k) => k.symbol === 'C');
    expect(retried).toMatchObject({ attempts: 1, firstAt: NOW + 2_000 });
  });

  it('leases per batch: renews and requeues only its own keys, and a requeued key keeps its place and attempts', async () => {
    const s = store();
    await s.add(
      group,
      ['A', 'B'].map((symbol) => ({ symbol, priority: normal, deadline: NOW + 9_000 })),
      NOW - 5_000,
    );
    await claimAll(s, 'gone');
    expect(await s.renew(group, 'other', NOW + 120_000)).toBe(false);
    expect(await s.renew(group, 'gone', NOW + 120_000)).toBe(true);
    expect(await s.expired(group, NOW + 60_000)).toEqual([]);
    expect(await s.expired(group, NOW + 120_000)).toEqual([{ token: 'gone', symbols: ['A', 'B'] }]);
    expect(await s.requeue(group, 'other', ['A'])).toBe(0);
    // Another batch's lease is untouched by a stranger's requeue.
    expect(await s.expired(group, NOW + 120_000)).toHaveLength(1);
    expect(await s.requeue(group, 'gone', ['A', 'B'])).toBe(2);
    // Requeueing releases the batch: the sweeper does not find it again, and it cannot renew.
    expect(await s.expired(group, NOW + 120_000)).toEqual([]);
    expect(await s.renew(group, 'gone', NOW + 180_000)).toBe(false);
    expect(await s.snapshot(group)).toMatchObject({
      normal: 2,
      oldestNormalAt: NOW - 5_000,
      earliestDeadline: NOW + 9_000,
    });
    const again = await claimAll(s, 'again');
    expect(again.map((k) => [k.symbol, k.attempts])).toEqual([
      ['A', 0],
      ['B', 0],
    ]);
  });

  it("settles a batch's last keys in one call: done, retried and requeued, and releases its lease", async () => {
    const s = store();
    await s.add(
      group,
      ['A', 'B', 'C', 'D'].map((symbol) => ({ symbol, priority: normal })),
      NOW - 1_000,
    );
    await claimAll(s, 'batch');
    // An early settlement (keys found fresh before the fetch) keeps the lease.
    expect(
      await s.settle(
        group,
        'batch',
        [{ symbol: 'D', action: 'done', freshUntil: NOW + 5_000 }],
        NOW,
      ),
    ).toEqual({ settled: 1, requeued: 0 });
    expect(await s.expired(group, NOW + 60_000)).toEqual([
      { token: 'batch', symbols: ['A', 'B', 'C', 'D'] },
    ]);
    const result = await s.settle(
      group,
      'batch',
      [
        { symbol: 'A', action: 'done', freshUntil: NOW + 5_000 },
        { symbol: 'B', action: 'retry', at: NOW + 2_000 },
        { symbol: 'C', action: 'requeue' },
      ],
      NOW,
      true,
    );
    expect(result).toEqual({ settled: 3, requeued: 1 });
    expect(await s.expired(group, NOW + 60_000)).toEqual([]);
    expect(await s.holds(group, ['A', 'B', 'C', 'D'])).toEqual([false, true, true, false]);
    const next = await claimAll(s, 'next');
    // C kept its first-asked time and its attempts; B waits for its retry time.
    expect(next.map((k) => [k.symbol, k.firstAt, k.attempts])).toEqual([
      ['C', NOW - 1_000, 0],
      ['B', NOW + 2_000, 1],
    ]);
  });

  it('forgets fresh marks on request, and sweeps those whose time has passed', async () => {
    const s = store();
    const symbols = Array.from({ length: 2_500 }, (_, i) => `F${i}`);
    await s.add(
      group,
      symbols.map((symbol) => ({ symbol, priority: normal })),
      NOW,
    );
    await s.add(group, [{ symbol: 'P', priority: normal }], NOW);
    const claimed = await claimAll(s, 'w', 3_000);
    const pending = claimed.find((k) => k.symbol === 'P')!;
    await s.settle(
      group,
      'w',
      symbols.map((symbol, i) => ({
        symbol,
        action: 'done' as const,
        // The first half is fresh for a second, the rest for a minute.
        freshUntil: NOW + (i < 1_250 ? 1_000 : 60_000),
      })),
      NOW,
    );
    expect(pending).toBeDefined();
    // A mark whose entry is gone is forgotten; a key in flight is left alone.
    await s.forgetFresh(group, ['F2000', 'P']);
    expect((await s.add(group, [{ symbol: 'F2000', priority: normal }], NOW + 1)).outcomes).toEqual(
      ['queued'],
    );
    expect((await s.add(group, [{ symbol: 'P', priority: normal }], NOW + 1)).outcomes).toEqual([
      'in-flight',
    ]);
    // Pages of 100 fields: a pass needs several calls, and it goes on where it stopped.
    let removed = await s.sweepFresh(group, NOW + 2_000, 100, 3);
    expect(removed).toBeGreaterThan(0);
    expect(removed).toBeLessThan(1_250);
    removed += await s.sweepFresh(group, NOW + 2_000, 100, 1_000);
    expect(removed).toBe(1_250);
    // The rest are still fresh: a normal request skips them, an urgent one does not.
    expect(
      (
        await s.add(
          group,
          [
            { symbol: 'F0', priority: normal },
            { symbol: 'F2499', priority: normal },
          ],
          NOW + 2_000,
        )
      ).outcomes,
    ).toEqual(['queued', 'fresh']);
  });

  it("keeps a key the warmer's only while every request for it is a warming one", async () => {
    const s = store();
    await s.add(
      group,
      [
        { symbol: 'W', priority: low, warm: true },
        { symbol: 'M', priority: low, warm: true },
        { symbol: 'R', priority: normal },
      ],
      NOW,
    );
    // A reader asks for M too, and a warming request merges into R.
    await s.add(
      group,
      [
        { symbol: 'M', priority: normal },
        { symbol: 'R', priority: low, warm: true },
      ],
      NOW,
    );
    const claimed = await claimAll(s, 't');
    expect(Object.fromEntries(claimed.map((k) => [k.symbol, k.warm]))).toEqual({
      W: true,
      M: false,
      R: false,
    });
    // A retried warm key stays warm.
    await s.settle(group, 't', [{ symbol: 'W', action: 'retry', at: NOW }], NOW);
    expect((await claimAll(s, 'u')).map((k) => [k.symbol, k.warm, k.attempts])).toEqual([
      ['W', true, 1],
    ]);
  });

  it('reads metas written before the warm flag existed as not warm', async () => {
    const conn = redis('pending-store-legacy');
    const prefix = uniqueName('ps');
    const s = new PendingStore({ redis: conn, prefix });
    await s.add(group, [{ symbol: 'OLD', priority: normal, warm: true }], NOW);
    const metaKey = `{${prefix}}:sched:${PendingStore.groupId(group)}:state`;
    expect(await conn.hget(metaKey, 'OLD')).toBe(`1|${NOW}|0|0|1`);
    await conn.hset(metaKey, 'OLD', `1|${NOW}|0|2`);
    expect(await claimAll(s, 't')).toEqual([
      {
        symbol: 'OLD',
        priority: normal,
        firstAt: NOW,
        deadline: undefined,
        attempts: 2,
        warm: false,
      },
    ]);
  });

  it('handles requests and batches far larger than one Lua call can unpack', async () => {
    const s = store();
    const keys = Array.from({ length: 10_000 }, (_, i) => ({
      symbol: `S${i}`,
      priority: normal,
    }));
    const added = await s.add(group, keys, NOW);
    expect(added.outcomes.every((o) => o === 'queued')).toBe(true);
    const claimed = await claimAll(s, 'big', 9_000);
    expect(claimed).toHaveLength(9_000);
    expect(
      await s.settle(
        group,
        'big',
        claimed.map((k) => ({ symbol: k.symbol, action: 'done' as const })),
        NOW,
        true,
      ),
    ).toEqual({ settled: 9_000, requeued: 0 });
    expect(await s.pendingCounts()).toEqual([{ group, keys: 1_000 }]);
  });
});
