import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import type { ProviderCallEvent } from '@fiml/providers';
import { checkMetrics, findPromtool, readSample } from '@fiml/observability/promtool';
import {
  registerCacheErrorMetrics,
  registerCacheMetrics,
  registerCacheWriteMetrics,
  registerProviderMetrics,
  type CacheWriteEventLike,
} from '../src/index.js';
import { createMetricsRegistry } from '@fiml/runtime';
import { CacheEventBus, capturingLogger, families, sample } from './metrics-helpers.js';

const key = 'v1:price:equity:AAPL';

function traffic(bus: CacheEventBus): void {
  bus.emit('hit', {
    key,
    dataType: 'price',
    level: 'l1',
    latencyMs: 0.004,
    stale: false,
    writer: 'read-through',
    fetchedAt: 0,
  });
  bus.emit('hit', {
    key,
    dataType: 'price',
    level: 'l1',
    latencyMs: 0.006,
    stale: true,
    writer: 'warmer',
    fetchedAt: 0,
  });
  bus.emit('stale-served', {
    key,
    dataType: 'price',
    level: 'l1',
    ageMs: 500,
    reason: 'revalidate',
  });
  bus.emit('hit', {
    key,
    dataType: 'price',
    level: 'l2',
    latencyMs: 1.2,
    stale: false,
    writer: 'scheduler',
    fetchedAt: 0,
  });
  bus.emit('miss', { key, dataType: 'news', latencyMs: 240 });
  bus.emit('stale-served', {
    key,
    dataType: 'news',
    level: 'l2',
    ageMs: 90_000,
    reason: 'fetch-error',
  });
  bus.emit('fetch', {
    dataType: 'price',
    loader: 'equity:price',
    keys: 37,
    latencyMs: 120,
    outcome: 'ok',
  });
  bus.emit('fetch', {
    dataType: 'price',
    loader: 'equity:price',
    keys: 3,
    latencyMs: 80,
    outcome: 'partial',
  });
  bus.emit('evict', {
    key,
    dataType: 'price',
    level: 'l1',
    cause: 'capacity',
    writer: 'warmer',
    wasRead: false,
  });
  bus.emit('evict', {
    key,
    dataType: 'price',
    level: 'l1',
    cause: 'expired',
    writer: 'read-through',
    wasRead: true,
  });
  bus.emit('evict', {
    key,
    dataType: 'price',
    level: 'l1',
    cause: 'expired',
    writer: 'read-through',
    wasRead: true,
  });
  // Events the bridge does not turn into metrics must not break it.
  bus.emit('set', {
    key,
    dataType: 'price',
    writer: 'read-through',
    ttlMs: 1,
    levels: ['l1', 'l2'],
  });
  bus.emit('circuit', { state: 'open', failures: 5 });
}

describe('registerCacheMetrics', () => {
  it('registers nothing until a cache is attached, then only what its sources feed', async () => {
    const registry = createMetricsRegistry({ service: 'api', defaultMetrics: false });
    expect(await families(registry)).toEqual([]);
    registerCacheMetrics(registry, new CacheEventBus());
    expect(await families(registry)).toEqual([
      'fiml_batch_size',
      'fiml_cache_circuit_state',
      'fiml_cache_errors_total',
      'fiml_cache_evictions_total',
      'fiml_cache_hits_total',
      'fiml_cache_latency_seconds',
      'fiml_cache_misses_total',
      'fiml_cache_stale_served_total',
    ]);
  });

  it('counts reads per tier, latency by where answered, evictions, stale reads and batch sizes', async () => {
    const registry = createMetricsRegistry({ service: 'api', defaultMetrics: false });
    const bus = new CacheEventBus();
    registerCacheMetrics(registry, bus);
    traffic(bus);

    const hits = (data_type: string, cache_level: string) =>
      sample(registry, 'fiml_cache_hits_total', { data_type, cache_level });
    const misses = (data_type: string, cache_level: string) =>
      sample(registry, 'fiml_cache_misses_total', { data_type, cache_level });
    expect(await hits('price', 'l1')).toBe(2);
    expect(await hits('price', 'l2')).toBe(1);
    expect(await misses('price', 'l1')).toBe(1);
    expect(await misses('price', 'l2')).toBe(0);
    // One miss and one stale read after a failed fetch: two reads neither tier answered.
    expect(await misses('news', 'l1')).toBe(2);
    expect(await misses('news', 'l2')).toBe(2);
    // Series exist at 0 before their first event.
    expect(await hits('fundamentals', 'l2')).toBe(0);

    const latency = (cache_level: string, metric: string, extra: Record<string, string> = {}) =>
      sample(registry, `fiml_cache_latency_seconds_${metric}`, {
        data_type: 'price',
        cache_level,
        ...extra,
      });
    expect(await latency('l1', 'count')).toBe(2);
    expect(await latency('l1', 'sum')).toBeCloseTo(0.00001, 12);
    expect(await latency('l1', 'bucket', { le: '0.00001' })).toBe(2);
    expect(await latency('l2', 'bucket', { le: '0.001' })).toBe(0);
    expect(await latency('l2', 'bucket', { le: '0.0025' })).toBe(1);
    expect(
      await sample(registry, 'fiml_cache_latency_seconds_count', {
        data_type: 'news',
        cache_level: 'miss',
      }),
    ).toBe(1);

    expect(
      await sample(registry, 'fiml_cache_evictions_total', {
        cache_level: 'l1',
        reason: 'expired',
      }),
    ).toBe(2);
    expect(
      await sample(registry, 'fiml_cache_evictions_total', {
        cache_level: 'l1',
        reason: 'capacity',
      }),
    ).toBe(1);
    expect(
      await sample(registry, 'fiml_cache_evictions_total', {
        cache_level: 'l1',
        reason: 'invalidated',
      }),
    ).toBe(0);
    expect(
      await sample(registry, 'fiml_cache_stale_served_total', {
        data_type: 'price',
        reason: 'revalidate',
      }),
    ).toBe(1);
    expect(
      await sample(registry, 'fiml_cache_stale_served_total', {
        data_type: 'news',
        reason: 'fetch-error',
      }),
    ).toBe(1);
    expect(await sample(registry, 'fiml_batch_size_count', { provider: 'equity:price' })).toBe(2);
    expect(await sample(registry, 'fiml_batch_size_sum', { provider: 'equity:price' })).toBe(40);
    expect(
      await sample(registry, 'fiml_batch_size_bucket', { provider: 'equity:price', le: 5 }),
    ).toBe(1);
  });

  it('counts a stale answer at the soft timeout as a read neither tier answered', async () => {
    const registry = createMetricsRegistry({ service: 'api', defaultMetrics: false });
    const bus = new CacheEventBus();
    registerCacheMetrics(registry, bus);
    expect(
      await sample(registry, 'fiml_cache_stale_served_total', {
        data_type: 'price',
        reason: 'soft-timeout',
      }),
    ).toBe(0);
    bus.emit('stale-served', {
      key,
      dataType: 'price',
      level: 'l1',
      ageMs: 9_000,
      reason: 'soft-timeout',
    });
    expect(
      await sample(registry, 'fiml_cache_stale_served_total', {
        data_type: 'price',
        reason: 'soft-timeout',
      }),
    ).toBe(1);
    const misses = (cache_level: string) =>
      sample(registry, 'fiml_cache_misses_total', { data_type: 'price', cache_level });
    // Served from the L1 fallback: L1 was looked in (a miss: it could not answer fresh), L2 not.
    expect(await misses('l1')).toBe(1);
    expect(await misses('l2')).toBe(0);
  });

  it('reads sizes and hit rates from snapshots at each scrape, keeping the last sizes when one fails', async () => {
    const registry = createMetricsRegistry({ service: 'api', defaultMetrics: false });
    const { logger, lines } = capturingLogger();
    let sizes: () => Promise<{ l1Entries: number; l1Bytes: number; l2Entries: number }> = () =>
      Promise.resolve({ l1Entries: 812, l1Bytes: 409_600, l2Entries: 25_000 });
    let rates: Record<string, number> = { price: 0.93 };
    registerCacheMetrics(registry, new CacheEventBus(), {
      sizes: () => sizes(),
      hitRates: () => rates,
      logger,
    });

    expect(await sample(registry, 'fiml_cache_entries', { cache_level: 'l1' })).toBe(812);
    expect(await sample(registry, 'fiml_cache_entries', { cache_level: 'l2' })).toBe(25_000);
    expect(await sample(registry, 'fiml_cache_size_bytes', { cache_level: 'l1' })).toBe(409_600);
    // No l2Bytes in the snapshot: no series, rather than a made-up 0.
    expect(await sample(registry, 'fiml_cache_size_bytes', { cache_level: 'l2' })).toBeUndefined();
    expect(await sample(registry, 'fiml_cache_hit_rate', { data_type: 'price' })).toBe(0.93);
    expect(await sample(registry, 'fiml_cache_hit_rate', { data_type: 'news' })).toBeUndefined();

    sizes = () => Promise.reject(new Error('DBSIZE timed out'));
    rates = { news: 0.5 };
    await registry.metrics();
    await registry.metrics();
    expect(await sample(registry, 'fiml_cache_entries', { cache_level: 'l1' })).toBe(812);
    expect(await sample(registry, 'fiml_cache_hit_rate', { data_type: 'price' })).toBeUndefined();
    expect(await sample(registry, 'fiml_cache_hit_rate', { data_type: 'news' })).toBe(0.5);
    // Once per outage, not once per scrape.
    expect(
      lines.filter((l) => l.msg === 'cache size snapshot failed; exporting the last values'),
    ).toHaveLength(1);
    sizes = () => Promise.resolve({ l1Entries: 5, l1Bytes: 1, l2Entries: 6 });
    expect(await sample(registry, 'fiml_cache_entries', { cache_level: 'l1' })).toBe(5);
    expect(lines.some((l) => l.msg === 'cache size snapshot works again')).toBe(true);
  });

  it('stops counting when detached', async () => {
    const registry = createMetricsRegistry({ service: 'api', defaultMetrics: false });
    const bus = new CacheEventBus();
    const bridge = registerCacheMetrics(registry, bus);
    expect(bus.listeners()).toBe(7);
    bridge.detach();
    expect(bus.listeners()).toBe(0);
    traffic(bus);
    expect(
      await sample(registry, 'fiml_cache_hits_total', { data_type: 'price', cache_level: 'l1' }),
    ).toBe(0);
  });
});

describe('cache errors and the circuit breaker', () => {
  const error = (component: string, operation: string) =>
    ({ component, operation, error: new Error('boom') }) as never;

  it('counts errors by component and operation; known pairs start at 0, unknown values count as other', async () => {
    const registry = createMetricsRegistry({ service: 'api', defaultMetrics: false });
    const bus = new CacheEventBus();
    registerCacheMetrics(registry, bus);
    const errors = (component: string, operation: string) =>
      sample(registry, 'fiml_cache_errors_total', { component, operation });
    expect(await errors('l2', 'delete')).toBe(0);
    expect(await errors('invalidation', 'publish')).toBe(0);
    expect(await errors('listener', 'emit')).toBe(0);

    bus.emit('error', error('l2', 'delete'));
    bus.emit('error', error('l2', 'delete'));
    bus.emit('error', error('lock', 'renew'));
    // A pair the table does not list still counts; values outside the contract never become labels.
    bus.emit('error', error('fetch', 'get'));
    bus.emit('error', error('l2', 'GET fiml:v2:e:price:equity:AAPL'));
    bus.emit('error', error('price:equity:AAPL', 'set'));
    expect(await errors('l2', 'delete')).toBe(2);
    expect(await errors('lock', 'renew')).toBe(1);
    expect(await errors('fetch', 'get')).toBe(1);
    expect(await errors('l2', 'other')).toBe(1);
    expect(await errors('other', 'set')).toBe(1);
    expect(await errors('invalidation', 'publish')).toBe(0);
  });

  it('exports the breaker state as one series per state, 1 on the current one', async () => {
    const registry = createMetricsRegistry({ service: 'api', defaultMetrics: false });
    const bus = new CacheEventBus();
    registerCacheMetrics(registry, bus);
    const states = async () => ({
      closed: await sample(registry, 'fiml_cache_circuit_state', { state: 'closed' }),
      'half-open': await sample(registry, 'fiml_cache_circuit_state', { state: 'half-open' }),
      open: await sample(registry, 'fiml_cache_circuit_state', { state: 'open' }),
    });
    expect(await states()).toEqual({ closed: 1, 'half-open': 0, open: 0 });
    bus.emit('circuit', { state: 'open', failures: 5 });
    expect(await states()).toEqual({ closed: 0, 'half-open': 0, open: 1 });
    bus.emit('circuit', { state: 'half-open', failures: 5 });
    expect(await states()).toEqual({ closed: 0, 'half-open': 1, open: 0 });
    bus.emit('circuit', { state: 'closed', failures: 0 });
    expect(await states()).toEqual({ closed: 1, 'half-open': 0, open: 0 });
  });

  it('never throws into the cache: a failing listener drops its event and logs once', async () => {
    const registry = createMetricsRegistry({ service: 'api', defaultMetrics: false });
    const { logger, lines } = capturingLogger();
    const bus = new CacheEventBus();
    registerCacheMetrics(registry, bus, { logger });
    // prom-client rejects a batch size that is not a number: the listener throws.
    const bad = { dataType: 'price', loader: 'equity:price', keys: Number.NaN, latencyMs: 1 };
    expect(() => bus.emit('fetch', bad as never)).not.toThrow();
    expect(() => bus.emit('fetch', bad as never)).not.toThrow();
    bus.emit('fetch', { ...bad, keys: 4, outcome: 'ok' } as never);
    expect(await sample(registry, 'fiml_batch_size_count', { provider: 'equity:price' })).toBe(1);
    const warnings = lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ event: 'fetch', component: 'cache-metrics' });
  });

  it("counts a writer's errors alone, into the family a manager shares in the same registry", async () => {
    const registry = createMetricsRegistry({ service: 'batch-scheduler', defaultMetrics: false });
    const writer = new CacheEventBus();
    const bridge = registerCacheErrorMetrics(registry, writer);
    expect(await families(registry)).toEqual(['fiml_cache_errors_total']);
    writer.emit('error', error('writer', 'set'));
    const manager = new CacheEventBus();
    registerCacheMetrics(registry, manager);
    manager.emit('error', error('writer', 'set'));
    expect(
      await sample(registry, 'fiml_cache_errors_total', { component: 'writer', operation: 'set' }),
    ).toBe(2);
    expect(writer.listeners()).toBe(1);
    bridge.detach();
    expect(writer.listeners()).toBe(0);
  });
});

describe('registerCacheWriteMetrics', () => {
  class Writes extends EventEmitter<{ write: [event: CacheWriteEventLike] }> {}

  it('counts every entry written by writer and outcome, from 0 for the writers given', async () => {
    const registry = createMetricsRegistry({ service: 'batch-scheduler', defaultMetrics: false });
    const writes = new Writes();
    const bridge = registerCacheWriteMetrics(registry, writes, { writers: ['scheduler'] });
    const count = (writer: string, outcome: string) =>
      sample(registry, 'fiml_cache_writes_total', { writer, outcome });
    expect(await count('scheduler', 'skipped-expired')).toBe(0);
    writes.emit('write', {
      writer: 'scheduler',
      outcomes: [
        { status: 'written' },
        { status: 'written' },
        { status: 'skipped', reason: 'newer' },
        { status: 'failed' },
      ],
    });
    writes.emit('write', {
      writer: 'warmer',
      outcomes: [{ status: 'skipped', reason: 'expired' }],
    });
    expect(await count('scheduler', 'written')).toBe(2);
    expect(await count('scheduler', 'skipped-newer')).toBe(1);
    expect(await count('scheduler', 'failed')).toBe(1);
    expect(await count('warmer', 'skipped-expired')).toBe(1);
    expect(await count('warmer', 'written')).toBeUndefined();
    bridge.detach();
    expect(writes.listenerCount('write')).toBe(0);
  });
});

/** A whole ProviderCallEvent of one symbol; the bridge reads provider, data type, latency and outcome. */
function callEvent(
  fields: Pick<ProviderCallEvent, 'provider' | 'dataType' | 'latencyMs' | 'outcome'>,
): ProviderCallEvent {
  const ok = fields.outcome === 'ok' ? 1 : 0;
  return { ...fields, symbols: 1, ok, notFound: 0, errors: 1 - ok };
}

describe('registerProviderMetrics', () => {
  class ProviderCalls extends EventEmitter<{ call: [event: ProviderCallEvent] }> {}

  it('counts upstream calls by provider, data type and outcome, and times them', async () => {
    const registry = createMetricsRegistry({ service: 'api', defaultMetrics: false });
    const calls = new ProviderCalls();
    registerProviderMetrics(registry, calls, { providers: ['polygon', 'coingecko'] });
    calls.emit(
      'call',
      callEvent({ provider: 'polygon', dataType: 'price', latencyMs: 180, outcome: 'ok' }),
    );
    calls.emit(
      'call',
      callEvent({
        provider: 'polygon',
        dataType: 'price',
        latencyMs: 30,
        outcome: 'rate-limited',
      }),
    );
    calls.emit(
      'call',
      callEvent({
        provider: 'polygon',
        dataType: 'news',
        latencyMs: 5_000,
        outcome: 'error',
      }),
    );

    const requests = (provider: string, data_type: string, outcome: string) =>
      sample(registry, 'fiml_provider_requests_total', { provider, data_type, outcome });
    expect(await requests('polygon', 'price', 'ok')).toBe(1);
    expect(await requests('polygon', 'price', 'rate-limited')).toBe(1);
    expect(await requests('polygon', 'news', 'error')).toBe(1);
    expect(await requests('coingecko', 'price', 'ok')).toBe(0);
    expect(
      await sample(registry, 'fiml_provider_latency_seconds_sum', {
        provider: 'polygon',
        data_type: 'price',
      }),
    ).toBeCloseTo(0.21, 9);
    expect(
      await sample(registry, 'fiml_provider_latency_seconds_bucket', {
        provider: 'polygon',
        data_type: 'news',
        le: 2.5,
      }),
    ).toBe(0);
  });
});

const promtool = findPromtool();
if (!promtool) {
  process.stdout.write(
    'promtool not found (apt-get install prometheus): skipping its lint of the metric families\n',
  );
}

(promtool ? describe : describe.skip)('the metric families pass promtool check metrics', () => {
  it('lints clean with every family fed, default metrics included', async () => {
    const registry = createMetricsRegistry({ service: 'api' });
    const bus = new CacheEventBus();
    const calls = new EventEmitter<{ call: [event: ProviderCallEvent] }>();
    registerCacheMetrics(registry, bus, {
      sizes: () => ({ l1Entries: 3, l1Bytes: 300, l2Entries: 9, l2Bytes: 4096 }),
      hitRates: () => ({ price: 0.75 }),
    });
    registerProviderMetrics(registry, calls, { providers: ['sim-equities'] });
    const writes = new EventEmitter<{ write: [event: CacheWriteEventLike] }>();
    registerCacheWriteMetrics(registry, writes, { writers: ['scheduler'] });
    traffic(bus);
    bus.emit('error', { component: 'l2', operation: 'delete', error: new Error('down') } as never);
    writes.emit('write', { writer: 'scheduler', outcomes: [{ status: 'written' }] });
    calls.emit(
      'call',
      callEvent({
        provider: 'sim-equities',
        dataType: 'price',
        latencyMs: 42,
        outcome: 'ok',
      }),
    );
    const text = await registry.metrics();
    expect(
      readSample(text, 'fiml_cache_latency_seconds_count', {
        cache_level: 'l2',
        data_type: 'price',
      }),
    ).toBe(1);
    expect(readSample(text, 'fiml_cache_hit_rate', { data_type: 'price', service: 'api' })).toBe(
      0.75,
    );
    expect(readSample(text, 'fiml_cache_hit_rate', { data_type: 'news' })).toBeUndefined();
    const result = await checkMetrics(text, promtool!);
    expect(result).toEqual({ exitCode: 0, problems: [] });
  });

  it('is a real check: it fails a counter without _total', async () => {
    const result = await checkMetrics(
      '# HELP bad a counter\n# TYPE bad counter\nbad 1\n',
      promtool!,
    );
    expect(result.exitCode).not.toBe(0);
    expect(result.problems.join('\n')).toMatch(/_total/);
  });
});
