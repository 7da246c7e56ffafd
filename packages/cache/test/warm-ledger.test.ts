// The warm ledger against a real redis-server on a manual clock: precision is
// exact on a scripted sequence of plans, writes and reads.
import { describe, expect, it } from '@jest/globals';
import { ManualClock } from '@fiml/market';
import { uniqueName } from '@fiml/testing';
import { WarmLedger, type WarmRunRecord } from '../src/warming/warm-ledger.js';
import { WarmReadRecorder } from '../src/warming/warm-read-recorder.js';
import { T0, connection } from './support.js';

const MIN = 60_000;

async function ledger(clock = new ManualClock(T0), maxRuns = 50) {
  return new WarmLedger({
    redis: await connection(),
    keyPrefix: uniqueName('wl'),
    clock,
    maxRuns,
  });
}

function run(id: string, at: number): WarmRunRecord {
  return {
    id,
    mode: 'scheduled',
    startedAt: at,
    finishedAt: at + 10,
    tracked: 3,
    requested: 3,
    skipped: { fresh: 1 },
    top: [{ key: 'price:equity:A', score: 0.9, reason: 'expiring', detail: 'test' }],
  };
}

describe('WarmLedger', () => {
  it('counts a warmed entry used when read while fresh, wasted when it goes stale unread', async () => {
    const clock = new ManualClock(T0);
    const l = await ledger(clock);
    await l.plan('r1', ['price:equity:A', 'price:equity:B', 'price:equity:C']);
    const soft = T0 + 5 * MIN;
    await l.written([
      { key: 'price:equity:A', fetchedAt: T0, softExpiresAt: soft, callShare: 0.5 },
      { key: 'price:equity:B', fetchedAt: T0, softExpiresAt: soft, callShare: 0.5 },
      { key: 'price:equity:C', fetchedAt: T0, softExpiresAt: soft, callShare: 0 },
    ]);
    // A read twice (counts once), B read after its freshness ended, C never read,
    // and a read of an entry the ledger does not hold.
    expect(
      await l.read([
        { key: 'price:equity:A', fetchedAt: T0, at: T0 + MIN },
        { key: 'price:equity:A', fetchedAt: T0, at: T0 + 2 * MIN },
        { key: 'price:equity:B', fetchedAt: T0, at: soft },
        { key: 'price:equity:Z', fetchedAt: T0, at: T0 + MIN },
      ]),
    ).toBe(1);
    await l.recordRun(run('r1', T0));
    expect(await l.pending()).toBe(2);
    // Nothing is stale yet at T0 + 4 min: the sweep settles nothing.
    clock.set(T0 + 4 * MIN);
    expect(await l.sweep()).toBe(0);
    clock.set(soft);
    expect(await l.sweep()).toBe(2);
    expect(await l.pending()).toBe(0);
    const [r1] = await l.runs();
    expect(r1).toMatchObject({
      id: 'r1',
      outcomes: { warmed: 3, used: 1, wasted: 2, calls: 1, precision: 1 / 3 },
      top: [{ key: 'price:equity:A', reason: 'expiring' }],
    });
    expect(await l.totals()).toEqual({
      warmed: 3,
      used: 1,
      wasted: 2,
      calls: 1,
      precision: 1 / 3,
    });
  });

  it('settles a warmed entry replaced unread as wasted, and a read of the old entry does not count', async () => {
    const l = await ledger();
    await l.plan('r1', ['price:equity:A']);
    await l.written([
      { key: 'price:equity:A', fetchedAt: T0, softExpiresAt: T0 + 5 * MIN, callShare: 0 },
    ]);
    await l.plan('r2', ['price:equity:A']);
    await l.written([
      { key: 'price:equity:A', fetchedAt: T0 + MIN, softExpiresAt: T0 + 6 * MIN, callShare: 0 },
    ]);
    // The same entry recorded twice (a retried write) is one warmed entry.
    await l.written([
      { key: 'price:equity:A', fetchedAt: T0 + MIN, softExpiresAt: T0 + 6 * MIN, callShare: 0 },
    ]);
    expect(await l.read([{ key: 'price:equity:A', fetchedAt: T0, at: T0 + 2 * MIN }])).toBe(0);
    expect(await l.read([{ key: 'price:equity:A', fetchedAt: T0 + MIN, at: T0 + 2 * MIN }])).toBe(
      1,
    );
    await l.recordRun(run('r1', T0));
    await l.recordRun(run('r2', T0 + MIN));
    const [r2, r1] = await l.runs();
    expect(r1!.outcomes).toMatchObject({ warmed: 1, used: 0, wasted: 1, precision: 0 });
    expect(r2!.outcomes).toMatchObject({ warmed: 1, used: 1, wasted: 0, precision: 1 });
  });

  it('keeps the last runs only, with their counters, and forgets planned keys never written', async () => {
    const clock = new ManualClock(T0);
    const l = await ledger(clock, 2);
    for (const id of ['a', 'b', 'c']) {
      await l.plan(id, [`price:equity:${id.toUpperCase()}`]);
      await l.written([
        {
          key: `price:equity:${id.toUpperCase()}`,
          fetchedAt: T0,
          softExpiresAt: T0 + MIN,
          callShare: 0,
        },
      ]);
      await l.recordRun(run(id, T0));
    }
    expect((await l.runs(10)).map((r) => r.id)).toEqual(['c', 'b']);
    // Run a's counters went with it; the totals keep everything.
    expect((await l.totals()).warmed).toBe(3);
    await l.plan('d', ['price:equity:NEVER']);
    clock.set(T0 + 2 * 86_400_000);
    await l.sweep();
    // Planned then: a write now is not attributed to d any more.
    await l.written([
      {
        key: 'price:equity:NEVER',
        fetchedAt: clock.now(),
        softExpiresAt: clock.now() + MIN,
        callShare: 0,
      },
    ]);
    await l.recordRun(run('d', T0));
    expect((await l.runs(1))[0]!.outcomes.warmed).toBe(0);
  });

  it('refuses a run id that could collide with the totals or another key', async () => {
    const l = await ledger();
    await expect(l.plan('all', ['price:equity:A'])).rejects.toThrow(RangeError);
    await expect(l.plan('a b', ['price:equity:A'])).rejects.toThrow(RangeError);
  });
});

describe('WarmReadRecorder', () => {
  it('sends the first read of each warmer-written entry to the ledger, and nothing else', async () => {
    const clock = new ManualClock(T0);
    const l = await ledger(clock);
    await l.plan('r1', ['price:equity:A']);
    await l.written([
      { key: 'price:equity:A', fetchedAt: T0, softExpiresAt: T0 + 5 * MIN, callShare: 1 },
    ]);
    const recorder = new WarmReadRecorder({ ledger: l, clock });
    const reads: unknown[] = [];
    const counting = { read: (r: readonly unknown[]) => (reads.push(...r), l.read(r as never)) };
    const spy = new WarmReadRecorder({ ledger: counting, clock });
    clock.set(T0 + MIN);
    for (const r of [recorder, spy]) {
      r.onHit({ key: 'price:equity:A', writer: 'warmer', fetchedAt: T0 });
      r.onHit({ key: 'price:equity:A', writer: 'warmer', fetchedAt: T0 });
      r.onHit({ key: 'price:equity:B', writer: 'read-through', fetchedAt: T0 });
    }
    await recorder.close();
    await spy.close();
    expect(reads).toEqual([{ key: 'price:equity:A', fetchedAt: T0, at: T0 + MIN }]);
    expect(await l.totals()).toMatchObject({ warmed: 1, used: 1, precision: 1 });
  });

  it('counts reads it could not send or keep', async () => {
    const failing = { read: () => Promise.reject(new Error('redis down')) };
    const recorder = new WarmReadRecorder({ ledger: failing, maxPending: 1 });
    const drops: string[] = [];
    recorder.on('drop', (e) => drops.push(`${e.reason}:${e.reads}`));
    recorder.onHit({ key: 'price:equity:A', writer: 'warmer', fetchedAt: 1 });
    recorder.onHit({ key: 'price:equity:B', writer: 'warmer', fetchedAt: 1 });
    await recorder.close();
    expect(drops).toEqual(['buffer-full:1', 'flush-failed:1']);
    expect(recorder.dropped).toBe(2);
  });
});
