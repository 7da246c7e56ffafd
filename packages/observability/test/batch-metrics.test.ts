import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { checkMetrics, findPromtool, readSample } from '@fiml/observability/promtool';
import {
  registerBatchMetrics,
  type BatchBudgetWaitEventLike,
  type BatchFlushEventLike,
  type BatchIntakeEventLike,
  type BatchPendingGroupLike,
  type BatchRateLimitedEventLike,
  type BatchRunEventLike,
  type BatchSchedulerSource,
} from '../src/index.js';
import { createMetricsRegistry, type Registry } from '@fiml/runtime';
import { capturingLogger, sample } from './metrics-helpers.js';

/**
 * A real event source shaped like the batch-scheduler: a typed emitter, and a
 * pending-keys snapshot the test sets (groups, a failure, or a read that
 * never answers).
 */
class SchedulerEvents
  extends EventEmitter<{
    flush: [event: BatchFlushEventLike];
    'rate-limited': [event: BatchRateLimitedEventLike];
    'budget-wait': [event: BatchBudgetWaitEventLike];
    intake: [event: BatchIntakeEventLike];
    batch: [event: BatchRunEventLike];
  }>
  implements BatchSchedulerSource
{
  pending: readonly BatchPendingGroupLike[] | Error | 'never' = [];
  reads = 0;
  pendingKeys(): Promise<readonly BatchPendingGroupLike[]> {
    this.reads += 1;
    const pending = this.pending;
    if (pending === 'never') return new Promise(() => undefined);
    if (pending instanceof Error) return Promise.reject(pending);
    return Promise.resolve(pending);
  }
  listenerTotal(): number {
    return this.eventNames().reduce((n, e) => n + this.listenerCount(e), 0);
  }
}

const providers = ['polygon', 'coingecko'];
const BATCH_KEY_OUTCOMES = [
  'written',
  'not_found',
  'skipped_newer',
  'skipped_fresh',
  'retrying',
  'waiting_for_budget',
  'failed',
];

function flush(fields: Partial<BatchFlushEventLike> = {}): BatchFlushEventLike {
  return {
    provider: 'polygon',
    dataType: 'price',
    keys: 1,
    upstreamCalls: 1,
    waitedMs: [0],
    ...fields,
  };
}

function setup(options: { pendingTimeoutMs?: number } = {}) {
  const registry = createMetricsRegistry({ service: 'batch-scheduler', defaultMetrics: false });
  const source = new SchedulerEvents();
  const { logger, lines } = capturingLogger();
  const bridge = registerBatchMetrics(registry, source, { providers, logger, ...options });
  const warnings = () => lines.filter((l) => l.level === 'warn');
  return { registry, source, bridge, lines, warnings };
}

const read = (registry: Registry, name: string, labels: Record<string, string | number>) =>
  sample(registry, name, labels);

describe('registerBatchMetrics', () => {
  it('starts every configured provider’s series at 0, before the first flush', async () => {
    const { registry } = setup();
    for (const provider of providers) {
      expect(await read(registry, 'fiml_batch_size_count', { provider })).toBe(0);
      expect(await read(registry, 'fiml_batch_size_bucket', { provider, le: 1 })).toBe(0);
      expect(await read(registry, 'fiml_batch_wait_seconds_count', { provider })).toBe(0);
      expect(await read(registry, 'fiml_batch_upstream_calls_saved_total', { provider })).toBe(0);
      expect(await read(registry, 'fiml_batch_rate_limited_total', { provider })).toBe(0);
      expect(await read(registry, 'fiml_batch_budget_waits_total', { provider })).toBe(0);
      for (const outcome of ['queued', 'merged', 'in_flight', 'fresh', 'failed'])
        expect(await read(registry, 'fiml_batch_intake_keys_total', { provider, outcome })).toBe(0);
      for (const outcome of BATCH_KEY_OUTCOMES)
        expect(await read(registry, 'fiml_batch_keys_total', { provider, outcome })).toBe(0);
      for (const data_type of ['price', 'fundamentals', 'news'])
        expect(await read(registry, 'fiml_batch_pending_keys', { provider, data_type })).toBe(0);
    }
    expect(await read(registry, 'fiml_batch_size_count', { provider: 'other' })).toBeUndefined();
  });

  it('counts keys per flush, calls saved and every key’s wait', async () => {
    const { registry, source } = setup();
    // 37 symbols in one snapshot call; one urgent key, one batch-interval key, one night-window key.
    source.emit(
      'flush',
      flush({ keys: 37, upstreamCalls: 1, waitedMs: [8, 1_500, 5 * 3_600_000] }),
    );
    source.emit('flush', flush({ keys: 300, upstreamCalls: 2, waitedMs: [] }));
    source.emit('flush', flush({ provider: 'coingecko', dataType: 'news', keys: 4 }));

    const polygon = { provider: 'polygon' };
    expect(await read(registry, 'fiml_batch_size_count', polygon)).toBe(2);
    expect(await read(registry, 'fiml_batch_size_sum', polygon)).toBe(337);
    expect(await read(registry, 'fiml_batch_size_bucket', { ...polygon, le: 25 })).toBe(0);
    expect(await read(registry, 'fiml_batch_size_bucket', { ...polygon, le: 50 })).toBe(1);
    expect(await read(registry, 'fiml_batch_size_bucket', { ...polygon, le: 250 })).toBe(1);
    expect(await read(registry, 'fiml_batch_size_bucket', { ...polygon, le: 500 })).toBe(2);
    expect(await read(registry, 'fiml_batch_upstream_calls_saved_total', polygon)).toBe(36 + 298);
    expect(
      await read(registry, 'fiml_batch_upstream_calls_saved_total', { provider: 'coingecko' }),
    ).toBe(3);

    expect(await read(registry, 'fiml_batch_wait_seconds_count', polygon)).toBe(3);
    expect(await read(registry, 'fiml_batch_wait_seconds_sum', polygon)).toBeCloseTo(18_001.508, 9);
    expect(await read(registry, 'fiml_batch_wait_seconds_bucket', { ...polygon, le: 0.01 })).toBe(
      1,
    );
    expect(await read(registry, 'fiml_batch_wait_seconds_bucket', { ...polygon, le: 2.5 })).toBe(2);
    expect(await read(registry, 'fiml_batch_wait_seconds_bucket', { ...polygon, le: 14400 })).toBe(
      2,
    );
    expect(await read(registry, 'fiml_batch_wait_seconds_bucket', { ...polygon, le: 21600 })).toBe(
      3,
    );
    expect(await read(registry, 'fiml_batch_wait_seconds_count', { provider: 'coingecko' })).toBe(
      1,
    );
  });

  it('counts what intake made of each requested key, and drops a malformed intake event whole', async () => {
    const { registry, source, warnings } = setup();
    const intake = (fields: Partial<BatchIntakeEventLike>): BatchIntakeEventLike => ({
      provider: 'polygon',
      queued: 0,
      merged: 0,
      inFlight: 0,
      fresh: 0,
      failed: 0,
      ...fields,
    });
    source.emit('intake', intake({ queued: 7, merged: 2, inFlight: 1 }));
    source.emit('intake', intake({ merged: 3, fresh: 4 }));
    source.emit('intake', intake({ provider: 'somebody-else', failed: 5 }));
    // A count that is not one: nothing of the event is counted.
    source.emit('intake', intake({ queued: 100, fresh: -1 }));
    const keys = (provider: string, outcome: string) =>
      read(registry, 'fiml_batch_intake_keys_total', { provider, outcome });
    expect(await keys('polygon', 'queued')).toBe(7);
    expect(await keys('polygon', 'merged')).toBe(5);
    expect(await keys('polygon', 'in_flight')).toBe(1);
    expect(await keys('polygon', 'fresh')).toBe(4);
    expect(await keys('polygon', 'failed')).toBe(0);
    expect(await keys('other', 'failed')).toBe(5);
    expect(await keys('coingecko', 'queued')).toBe(0);
    expect(warnings()).toHaveLength(1);
    expect(JSON.stringify(warnings()[0])).toMatch(/fresh is not a count/);
  });

  it('counts what each batch made of its keys, and drops a malformed batch event whole', async () => {
    const { registry, source, warnings } = setup();
    const batch = (fields: Partial<BatchRunEventLike>): BatchRunEventLike => ({
      provider: 'polygon',
      written: 0,
      notFound: 0,
      skippedNewer: 0,
      skippedFresh: 0,
      retrying: 0,
      waitingForBudget: 0,
      failed: 0,
      ...fields,
    });
    source.emit('batch', batch({ written: 95, notFound: 2, skippedNewer: 1, skippedFresh: 2 }));
    source.emit('batch', batch({ retrying: 3, waitingForBudget: 40 }));
    source.emit('batch', batch({ written: 1, failed: 3 }));
    source.emit('batch', batch({ provider: 'coingecko', failed: 1 }));
    source.emit('batch', batch({ provider: 'somebody-else', written: 6 }));
    // A count that is not one: nothing of the event is counted.
    source.emit('batch', batch({ written: 100, failed: Number.NaN }));
    const keys = (provider: string, outcome: string) =>
      read(registry, 'fiml_batch_keys_total', { provider, outcome });
    expect(await keys('polygon', 'written')).toBe(96);
    expect(await keys('polygon', 'not_found')).toBe(2);
    expect(await keys('polygon', 'skipped_newer')).toBe(1);
    expect(await keys('polygon', 'skipped_fresh')).toBe(2);
    expect(await keys('polygon', 'retrying')).toBe(3);
    expect(await keys('polygon', 'waiting_for_budget')).toBe(40);
    expect(await keys('polygon', 'failed')).toBe(3);
    expect(await keys('coingecko', 'failed')).toBe(1);
    expect(await keys('coingecko', 'written')).toBe(0);
    expect(await keys('other', 'written')).toBe(6);
    expect(warnings()).toHaveLength(1);
    expect(JSON.stringify(warnings()[0])).toMatch(/failed is not a count/);
  });

  it('never counts negative savings: a flush whose fallbacks made more calls than keys saves 0', async () => {
    const { registry, source, warnings } = setup();
    source.emit('flush', flush({ keys: 10, upstreamCalls: 4 }));
    source.emit('flush', flush({ keys: 1, upstreamCalls: 3 }));
    source.emit('flush', flush({ keys: 2, upstreamCalls: 2 }));
    const saved = () =>
      read(registry, 'fiml_batch_upstream_calls_saved_total', { provider: 'polygon' });
    expect(await saved()).toBe(6);
    // Counted whole, not dropped as a failure (prom-client refuses a negative increment).
    expect(await read(registry, 'fiml_batch_wait_seconds_count', { provider: 'polygon' })).toBe(3);
    expect(warnings()).toEqual([]);
  });

  it('clamps a wait below 0 (another replica’s clock stamped the request) to 0', async () => {
    const { registry, source } = setup();
    source.emit('flush', flush({ waitedMs: [-40, 20] }));
    const polygon = { provider: 'polygon' };
    expect(await read(registry, 'fiml_batch_wait_seconds_sum', polygon)).toBeCloseTo(0.02, 9);
    expect(await read(registry, 'fiml_batch_wait_seconds_bucket', { ...polygon, le: 0.01 })).toBe(
      1,
    );
  });

  it('counts 429s and budget waits per provider', async () => {
    const { registry, source } = setup();
    source.emit('rate-limited', { provider: 'polygon', retryAfterMs: 12_000 });
    source.emit('rate-limited', { provider: 'polygon', retryAfterMs: 0 });
    source.emit('budget-wait', { provider: 'coingecko', waitMs: 2_000 });
    expect(await read(registry, 'fiml_batch_rate_limited_total', { provider: 'polygon' })).toBe(2);
    expect(await read(registry, 'fiml_batch_rate_limited_total', { provider: 'coingecko' })).toBe(
      0,
    );
    expect(await read(registry, 'fiml_batch_budget_waits_total', { provider: 'coingecko' })).toBe(
      1,
    );
    expect(await read(registry, 'fiml_batch_budget_waits_total', { provider: 'polygon' })).toBe(0);
  });

  it('counts a provider that is not configured as "other", never as its own series', async () => {
    const { registry, source } = setup();
    source.emit('flush', flush({ provider: 'iex', keys: 5, upstreamCalls: 1, waitedMs: [100] }));
    source.emit('rate-limited', { provider: 'iex', retryAfterMs: 1 });
    source.emit('budget-wait', { provider: 'alpha-vantage', waitMs: 1 });
    source.pending = [{ provider: 'iex', dataType: 'price', keys: 7 }];
    const other = { provider: 'other' };
    expect(await read(registry, 'fiml_batch_size_sum', other)).toBe(5);
    expect(await read(registry, 'fiml_batch_upstream_calls_saved_total', other)).toBe(4);
    expect(await read(registry, 'fiml_batch_wait_seconds_count', other)).toBe(1);
    expect(await read(registry, 'fiml_batch_rate_limited_total', other)).toBe(1);
    expect(await read(registry, 'fiml_batch_budget_waits_total', other)).toBe(1);
    expect(await read(registry, 'fiml_batch_pending_keys', { ...other, data_type: 'price' })).toBe(
      7,
    );
    const text = await registry.metrics();
    expect(text).not.toMatch(/iex|alpha-vantage/);
  });

  it('reads pending keys at each scrape, adding up groups, and zeroes a group that emptied', async () => {
    const { registry, source } = setup();
    const pending = (provider: string, data_type: string) =>
      read(registry, 'fiml_batch_pending_keys', { provider, data_type });
    // Equity and crypto groups of one provider and data type make one series.
    source.pending = [
      { provider: 'polygon', dataType: 'price', keys: 120 },
      { provider: 'polygon', dataType: 'price', keys: 3 },
      { provider: 'polygon', dataType: 'news', keys: 9 },
      { provider: 'coingecko', dataType: 'orderbook', keys: 2 },
    ];
    expect(await pending('polygon', 'price')).toBe(123);
    expect(await pending('polygon', 'news')).toBe(9);
    expect(await pending('polygon', 'fundamentals')).toBe(0);
    expect(await pending('coingecko', 'other')).toBe(2);

    source.pending = [{ provider: 'coingecko', dataType: 'price', keys: 1 }];
    expect(await pending('polygon', 'price')).toBe(0);
    expect(await pending('polygon', 'news')).toBe(0);
    expect(await pending('coingecko', 'other')).toBe(0);
    expect(await pending('coingecko', 'price')).toBe(1);
  });

  it('keeps the last pending values when the read rejects, logging once per outage', async () => {
    const { registry, source, lines, warnings } = setup();
    const pending = () =>
      read(registry, 'fiml_batch_pending_keys', { provider: 'polygon', data_type: 'price' });
    source.pending = [{ provider: 'polygon', dataType: 'price', keys: 42 }];
    expect(await pending()).toBe(42);

    source.pending = new Error('queue Redis down');
    await expect(registry.metrics()).resolves.toContain('fiml_batch_pending_keys');
    expect(await pending()).toBe(42);
    expect(await pending()).toBe(42);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({
      component: 'batch-metrics',
      err: { message: 'queue Redis down' },
    });

    // A snapshot that is not one (a count that is not a number) is a failed read too.
    source.pending = [{ provider: 'polygon', dataType: 'price', keys: Number.NaN }];
    expect(await pending()).toBe(42);

    source.pending = [{ provider: 'polygon', dataType: 'price', keys: 5 }];
    expect(await pending()).toBe(5);
    expect(lines.filter((l) => l.msg === 'pending keys readable again')).toHaveLength(1);
    source.pending = new Error('down again');
    expect(await pending()).toBe(5);
    expect(warnings()).toHaveLength(2);
  });

  it('never hangs a scrape on a pending read that does not answer, nor piles reads up', async () => {
    const { registry, source, warnings } = setup({ pendingTimeoutMs: 50 });
    source.pending = [{ provider: 'polygon', dataType: 'news', keys: 8 }];
    await registry.metrics();
    source.pending = 'never';
    const started = performance.now();
    const text = await registry.metrics();
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(
      readSample(text, 'fiml_batch_pending_keys', { provider: 'polygon', data_type: 'news' }),
    ).toBe(8);
    await registry.metrics();
    expect(source.reads).toBe(2); // the second scrape waited on the read still in flight
    expect(warnings()).toHaveLength(1);
  });

  it('never throws into the scheduler: a bad event is dropped whole and logged once per event', async () => {
    const { registry, source, warnings } = setup();
    const bad: unknown[] = [
      flush({ keys: Number.NaN }),
      flush({ keys: -1 }),
      flush({ upstreamCalls: Number.POSITIVE_INFINITY }),
      flush({ keys: 3, waitedMs: [10, Number.NaN] }),
      null,
    ];
    for (const event of bad) expect(() => source.emit('flush', event as never)).not.toThrow();
    expect(() => source.emit('rate-limited', undefined as never)).not.toThrow();
    expect(await read(registry, 'fiml_batch_size_count', { provider: 'polygon' })).toBe(0);
    expect(await read(registry, 'fiml_batch_wait_seconds_count', { provider: 'polygon' })).toBe(0);
    expect(await read(registry, 'fiml_batch_size_count', { provider: 'other' })).toBeUndefined();
    expect(warnings().map((w) => w.event)).toEqual(['flush', 'rate-limited']);

    source.emit('flush', flush({ keys: 3, upstreamCalls: 1, waitedMs: [1, 2, 3] }));
    expect(await read(registry, 'fiml_batch_size_count', { provider: 'polygon' })).toBe(1);
    expect(await read(registry, 'fiml_batch_wait_seconds_count', { provider: 'polygon' })).toBe(3);
  });

  it('detaches: removes its listeners and stops reading the scheduler, keeping the last values', async () => {
    const { registry, source, bridge } = setup();
    source.pending = [{ provider: 'polygon', dataType: 'price', keys: 11 }];
    source.emit('flush', flush());
    await registry.metrics();
    expect(source.listenerTotal()).toBe(5);
    bridge.detach();
    expect(source.listenerTotal()).toBe(0);
    source.pending = new Error('closed');
    const reads = source.reads;
    const text = await registry.metrics();
    expect(source.reads).toBe(reads);
    expect(
      readSample(text, 'fiml_batch_pending_keys', { provider: 'polygon', data_type: 'price' }),
    ).toBe(11);
    expect(readSample(text, 'fiml_batch_size_count', { provider: 'polygon' })).toBe(1);
  });

  it('takes a source without off(): detach then stops counting and reading', async () => {
    const events = new SchedulerEvents();
    // Only what the contract requires: on() and pendingKeys().
    const source = {
      on: (event: 'flush', listener: (e: BatchFlushEventLike) => void) =>
        events.on(event, listener),
      pendingKeys: () => events.pendingKeys(),
    } as BatchSchedulerSource;
    const registry = createMetricsRegistry({ service: 'batch-scheduler', defaultMetrics: false });
    const bridge = registerBatchMetrics(registry, source, { providers: ['polygon'] });
    events.emit('flush', flush({ keys: 2 }));
    expect(await read(registry, 'fiml_batch_size_sum', { provider: 'polygon' })).toBe(2);
    bridge.detach();
    const reads = events.reads;
    await registry.metrics();
    expect(events.reads).toBe(reads);
  });
});

const promtool = findPromtool();
if (!promtool) {
  process.stdout.write(
    'promtool not found (apt-get install prometheus): skipping its lint of the batch metrics\n',
  );
}

(promtool ? describe : describe.skip)(
  'the batch metric families pass promtool check metrics',
  () => {
    it('lints clean, fed, with default metrics and the service label', async () => {
      const registry = createMetricsRegistry({ service: 'batch-scheduler' });
      const source = new SchedulerEvents();
      registerBatchMetrics(registry, source, { providers: ['sim-equities', 'sim-crypto'] });
      source.pending = [{ provider: 'sim-equities', dataType: 'price', keys: 17 }];
      source.emit(
        'flush',
        flush({ provider: 'sim-equities', keys: 250, upstreamCalls: 1, waitedMs: [30_000] }),
      );
      source.emit('flush', flush({ provider: 'unknown', keys: 1, upstreamCalls: 2 }));
      source.emit('rate-limited', { provider: 'sim-crypto', retryAfterMs: 60_000 });
      source.emit('budget-wait', { provider: 'sim-equities', waitMs: 12_000 });
      source.emit('intake', {
        provider: 'sim-equities',
        queued: 3,
        merged: 1,
        inFlight: 0,
        fresh: 2,
        failed: 0,
      });
      const text = await registry.metrics();

      const equities = { provider: 'sim-equities', service: 'batch-scheduler' };
      expect(readSample(text, 'fiml_batch_size_bucket', { ...equities, le: '250' })).toBe(1);
      expect(readSample(text, 'fiml_batch_size_bucket', { ...equities, le: '100' })).toBe(0);
      expect(readSample(text, 'fiml_batch_upstream_calls_saved_total', equities)).toBe(249);
      expect(readSample(text, 'fiml_batch_wait_seconds_sum', equities)).toBe(30);
      expect(readSample(text, 'fiml_batch_wait_seconds_bucket', { ...equities, le: '30' })).toBe(1);
      expect(readSample(text, 'fiml_batch_pending_keys', { ...equities, data_type: 'price' })).toBe(
        17,
      );
      expect(readSample(text, 'fiml_batch_budget_waits_total', equities)).toBe(1);
      expect(
        readSample(text, 'fiml_batch_intake_keys_total', { ...equities, outcome: 'merged' }),
      ).toBe(1);
      expect(readSample(text, 'fiml_batch_rate_limited_total', { provider: 'sim-crypto' })).toBe(1);
      expect(readSample(text, 'fiml_batch_upstream_calls_saved_total', { provider: 'other' })).toBe(
        0,
      );
      expect(await checkMetrics(text, promtool!)).toEqual({ exitCode: 0, problems: [] });
    });
  },
);
