// The pending store's scripts against a real redis-server: what becomes of a
// key at each step (add, merge, claim, settle, retry, requeue, renew), and that
// a token only ever touches the keys it owns.
import { describe, expect, it } from '@jest/globals';
import { uniqueName } from '@fiml/testing';
import { PendingStore, PRIORITY_RANK, type GroupKey } from '../src/scheduler/pending-store.js';
import { redis } from './support.js';

const group: GroupKey = { provider: 'sim-equities', assetType: 'equity', dataType: 'price' };
const NOW = 1_800_000_000_000;
const { urgent, normal, low } = PRIORITY_RANK;

function store(): PendingStore {
  return new PendingStore({ redis: redis('pending-store'), prefix: uniqueName('ps') });
}

const claimWith = (s: PendingStore, token: string, max = 100, includeLow = true) =>
  s.claim(group, { max, includeLow, leaseUntil: NOW + 60_000, token, deadlineBefore: NOW });
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
    expect(await s.settle(group, 'other', [{ symbol: 'A', action: 'done' }], NOW)).toBe(0);
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
    expect(settled).toBe(3);
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

  it('renews and requeues only its own keys, and a requeued key keeps its place and attempts', async () => {
    const s = store();
    await s.add(
      group,
      ['A', 'B'].map((symbol) => ({ symbol, priority: normal, deadline: NOW + 9_000 })),
      NOW - 5_000,
    );
    await claimAll(s, 'gone');
    expect(await s.renew(group, 'other', ['A', 'B'], NOW + 120_000)).toEqual([]);
    expect(await s.renew(group, 'gone', ['A', 'B', 'C'], NOW + 120_000)).toEqual(['A', 'B']);
    expect(await s.expired(group, NOW + 60_000)).toEqual([]);
    expect(await s.expired(group, NOW + 120_000)).toEqual([
      { symbol: 'A', token: 'gone' },
      { symbol: 'B', token: 'gone' },
    ]);
    expect(await s.requeue(group, 'other', ['A'])).toBe(0);
    expect(await s.requeue(group, 'gone', ['A', 'B'])).toBe(2);
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
    const metaKey = `{${prefix}}:sched:${PendingStore.groupId(group)}:meta`;
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

  it('answers every command sent while its writes are held, in order', async () => {
    const conn = redis('pending-store-hold');
    const s = new PendingStore({ redis: conn, prefix: uniqueName('ps') });
    await conn.ping();
    s.holdWrites();
    s.holdWrites(); // a second hold in the same turn changes nothing
    const replies = await Promise.all([
      s.add(group, [{ symbol: 'A', priority: normal }], NOW),
      conn.echo('between'),
      s.add(group, [{ symbol: 'A', priority: urgent }], NOW),
    ]);
    expect(replies).toEqual([
      { outcomes: ['queued'], nonLowPending: 1 },
      'between',
      { outcomes: ['merged'], nonLowPending: 1 },
    ]);
    // Held writes leave by the end of the turn: later commands go as usual.
    expect(await conn.echo('after')).toBe('after');
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
      ),
    ).toBe(9_000);
    expect(await s.pendingCounts()).toEqual([{ group, keys: 1_000 }]);
  });
});
