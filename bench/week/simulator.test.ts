import { describe, expect, it } from '@jest/globals';
import { MarketWeek } from '../workload/market-week.js';
import { EventQueue } from './event-queue.js';
import { LowerBound } from './lower-bound.js';
import { simulate, type Configuration } from './simulator.js';
import { lineChart } from './svg-chart.js';
import { PROVIDERS } from './tally.js';

describe('EventQueue', () => {
  it('pops by time, and in insertion order within one instant', () => {
    const q = new EventQueue();
    const seen: string[] = [];
    const times = [5, 1, 3, 3, 9, 0, 3, 7];
    times.forEach((t, i) => q.push(t, () => seen.push(`${t}:${i}`)));
    while (q.size > 0) q.pop()();
    expect(seen).toEqual(['0:5', '1:1', '3:2', '3:3', '3:6', '5:0', '7:7', '9:4']);
    expect(q.peekTime()).toBe(Number.POSITIVE_INFINITY);
    expect(() => q.pop()).toThrow(/empty/);
  });
});

describe('LowerBound', () => {
  const week = new MarketWeek({ seed: 1, days: 1, peakRate: 1 });
  const equity = week.assets.find((a) => a.assetType === 'equity')!;
  const crypto = week.assets.find((a) => a.assetType === 'crypto')!;

  it('fetches at the first read after expiry and divides by the batch size per provider', () => {
    const bound = new LowerBound(week, () => 60_000);
    const t0 = week.weekStart;
    for (const dt of [0]) {
      bound.read(dt, equity, t0);
      bound.read(dt, equity, t0 + 59_999); // still fresh
      bound.read(dt, equity, t0 + 60_000); // expired: second fetch
      bound.read(dt, crypto, t0 + 10);
    }
    bound.read(2, equity, t0); // news: reference-single, one symbol per call
    bound.read(2, equity, t0 + 120_000);
    expect(bound.fetches('sim-equities')).toBe(2);
    expect(bound.fetches('sim-crypto')).toBe(1);
    expect(bound.fetches('sim-reference', 'news')).toBe(2);
    // ceil(2 / 100) + ceil(1 / 250) + 2 / 1
    expect(bound.calls()).toBe(4);
    expect(bound.calls({ dataType: 'price' })).toBe(2);
  });
});

describe('simulate (a quiet hour, both configurations)', () => {
  const window = { from: '2026-11-23T09:30:00-05:00', to: '2026-11-23T10:00:00-05:00' };
  const run = (configuration: Configuration) =>
    simulate({
      configuration,
      week: new MarketWeek({ seed: 3, peakRate: 10, window }),
      latency: { l1Ms: 0.001, l2Ms: () => 0.1 },
    });
  const baseline = run('baseline');
  const optimized = run('optimized');

  it('accounts for every key read exactly once', () => {
    for (const r of [baseline, optimized]) {
      const reads = r.tally.total().totalReads;
      const expected = [...new MarketWeek({ seed: 3, peakRate: 10, window })].reduce(
        (n, q) => n + q.assets.length,
        0,
      );
      expect(reads).toBe(expected);
      expect(r.tally.total().requests).toBe(r.requests);
    }
  });

  it('keeps the optimized configuration inside every provider limit, and the baseline not', () => {
    for (const [i, provider] of PROVIDERS.entries()) {
      expect(optimized.tally.provider429(provider)).toBe(0);
      const perHour = { 'sim-equities': 18_000, 'sim-crypto': 1_800, 'sim-reference': 3_600 }[
        provider
      ];
      expect(Math.max(...optimized.tally.callsByHour[i]!)).toBeLessThanOrEqual(perHour);
    }
    // One call per missed key with no client-side limit: the reference upstream answers 429s.
    expect(baseline.tally.provider429('sim-reference')).toBeGreaterThan(0);
    expect(baseline.tally.callsBy.scheduler + baseline.tally.callsBy.warm).toBe(0);
    expect(baseline.warm).toBeUndefined();
  });

  it('coalesces and single-flights: fewer calls than the baseline, never below the lower bound per provider', () => {
    const calls = (r: typeof baseline) =>
      PROVIDERS.reduce((n, p) => n + r.tally.providerCalls(p), 0);
    expect(calls(optimized)).toBeLessThan(calls(baseline));
    const symbolsPerCall =
      optimized.tally.symbolsCarried[0]! /
      Math.max(1, optimized.tally.providerCalls('sim-equities'));
    expect(symbolsPerCall).toBeGreaterThan(1);
    expect(optimized.warm?.runs['refresh-ahead']).toBeGreaterThan(0);
  });
});

describe('lineChart', () => {
  it('draws one path per series, breaking lines at gaps', () => {
    const svg = lineChart({
      title: 'a & b',
      yLabel: 'y',
      xTicks: [{ at: 0, label: 'Mon' }],
      series: [
        { name: 's1', color: 'red', values: [1, 2, Number.NaN, 4] },
        { name: 's2', color: 'blue', values: [0.5, 1, 1, 1], dashed: true },
      ],
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('a &amp; b');
    const paths = svg.match(/<path d="([^"]*)"/g)!;
    expect(paths).toHaveLength(2);
    // The gap starts a new subpath (two M commands) in the first series.
    expect(paths[0].match(/M/g)).toHaveLength(2);
  });
});
