import { describe, expect, it } from '@jest/globals';
import { checkMetrics, findPromtool, readSample } from '@fiml/observability/promtool';
import { createMetricsRegistry } from '@fiml/runtime';
import { cellCounter, cellHistogram } from '../src/metrics/cell-metrics.js';

describe('cell metrics: series of plain numbers read at scrape time', () => {
  it('render as prom-client counters and histograms do, cumulative buckets included', async () => {
    const registry = createMetricsRegistry({ service: 'test' });
    const counter = cellCounter(registry, {
      name: 'test_things_total',
      help: 'Things.',
      labelNames: ['kind'],
    });
    const histogram = cellHistogram(registry, {
      name: 'test_duration_seconds',
      help: 'Durations.',
      labelNames: ['kind'],
      buckets: [1, 0.1],
    });
    const a = counter({ kind: 'a' });
    expect(counter({ kind: 'a' })).toBe(a);
    a.inc();
    a.inc(2);
    counter({ kind: 'b' });
    const h = histogram({ kind: 'a' });
    for (const v of [0.05, 0.1, 0.5, 3, Number.NaN, -1]) h.observe(v);

    const text = await registry.metrics();
    expect(text).toContain('# TYPE test_things_total counter');
    expect(text).toContain('# TYPE test_duration_seconds histogram');
    expect(readSample(text, 'test_things_total', { kind: 'a' })).toBe(3);
    expect(readSample(text, 'test_things_total', { kind: 'b' })).toBe(0);
    // Buckets sorted and cumulative; NaN and negative values are not counted.
    expect(readSample(text, 'test_duration_seconds_bucket', { kind: 'a', le: '0.1' })).toBe(2);
    expect(readSample(text, 'test_duration_seconds_bucket', { kind: 'a', le: '1' })).toBe(3);
    expect(readSample(text, 'test_duration_seconds_bucket', { kind: 'a', le: '+Inf' })).toBe(4);
    expect(readSample(text, 'test_duration_seconds_count', { kind: 'a' })).toBe(4);
    expect(readSample(text, 'test_duration_seconds_sum', { kind: 'a' })).toBeCloseTo(3.65);
    const promtool = findPromtool();
    if (promtool) expect(await checkMetrics(text, promtool)).toEqual({ exitCode: 0, problems: [] });
    else console.warn('promtool not found; exposition not linted');

    registry.resetMetrics();
    const reset = await registry.metrics();
    expect(readSample(reset, 'test_things_total', { kind: 'a' })).toBe(0);
    expect(readSample(reset, 'test_duration_seconds_count', { kind: 'a' })).toBe(0);
  });
});
