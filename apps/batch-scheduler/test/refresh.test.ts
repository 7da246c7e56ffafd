import { describe, expect, it } from '@jest/globals';
import type { Job } from 'bullmq';
import { cacheKey, cacheKeySpace, CacheWriter, TtlPolicy } from '@fiml/cache';
import { ManualClock, SeededRandom, type AssetType, type DataType } from '@fiml/market';
import { readSample } from '@fiml/observability/promtool';
import {
  ProviderError,
  ProviderErrorCode,
  type AssetResult,
  type ProviderRegistry,
} from '@fiml/providers';
import { startSimulatedProviderServer } from '@fiml/simulator';
import { type RefreshRequest } from '@fiml/queue';
import { createRedisConnection } from '@fiml/runtime';
import { freePort, uniqueName, waitFor, waitForEvent } from '@fiml/testing';
import {
  RefreshConsumer,
  RefreshFailedError,
  type RefreshOutcome,
} from '../src/refresh-consumer.js';
import {
  T1,
  logger,
  open,
  otherWriter,
  price,
  redis,
  scheduler,
  simServer,
  stored,
} from './support.js';

describe('the refresh consumer, built by createBatchScheduler', () => {
  it('fetches each requested symbol from the provider and writes it to L2 as the scheduler, with an invalidation', async () => {
    const clock = new ManualClock(T1);
    const sim = await simServer(clock);
    const { app, producer, keyPrefix } = scheduler(
      { SIM_PROVIDER_URL: sim.url, CACHE_BATCH_ENABLED: 'false' },
      clock,
    );
    const reader = otherWriter(keyPrefix, clock);

    const messages: string[] = [];
    const subscriber = redis('test-sub');
    subscriber.on('message', (_channel: string, message: string) => messages.push(message));
    await subscriber.subscribe(cacheKeySpace(keyPrefix).channel);

    const equities = waitForEvent<[Job, RefreshOutcome]>(app.worker.worker, 'completed', {
      timeoutMs: 15_000,
      filter: (job) => job.data.assetType === 'equity',
    });
    await producer.enqueueRefresh({
      symbols: ['AAPL', 'msft', 'ZZZZQ'],
      assetType: 'equity',
      dataType: 'price',
      source: 'test',
    });
    const [, result] = await equities;
    expect(result).toEqual({
      dataType: 'price',
      assetType: 'equity',
      symbols: 3,
      written: 2,
      notFound: 1,
      skippedNewer: 0,
      skippedExpired: 0,
      failed: 0,
      failures: [],
    });

    const aapl = await stored(reader, price('AAPL'));
    expect(aapl).toMatchObject({
      kind: 'value',
      dataType: 'price',
      writer: 'scheduler',
      source: 'sim-equities',
      fetchedAt: T1,
      value: { symbol: 'AAPL' },
    });
    expect(aapl!.softExpiresAt).toBeGreaterThan(T1);
    expect(await stored(reader, price('MSFT'))).toMatchObject({
      kind: 'value',
      writer: 'scheduler',
    });
    // The provider's positive "not found" is negative-cached.
    expect(await stored(reader, price('ZZZZQ'))).toMatchObject({
      kind: 'not-found',
      writer: 'scheduler',
    });
    // Every api instance hears which keys changed.
    await waitFor(
      () => messages.some((m) => m.includes(price('AAPL')) && m.includes(price('MSFT'))),
      {
        description: 'the invalidation of the written keys',
      },
    );

    const crypto = waitForEvent<[Job, RefreshOutcome]>(app.worker.worker, 'completed', {
      timeoutMs: 15_000,
    });
    await producer.enqueueRefresh({
      symbols: ['btc', 'eth'],
      assetType: 'crypto',
      dataType: 'price',
      source: 'test',
    });
    expect((await crypto)[1]).toMatchObject({ symbols: 2, written: 2, failed: 0 });
    expect(await stored(reader, cacheKey('price', 'crypto', 'BTC'))).toMatchObject({
      writer: 'scheduler',
      source: 'sim-crypto',
    });

    const text = await app.registry.metrics();
    const writes = (outcome: string) =>
      readSample(text, 'fiml_cache_writes_total', { writer: 'scheduler', outcome });
    expect(writes('written')).toBe(5);
    expect(writes('skipped-newer')).toBe(0);
    expect(writes('failed')).toBe(0);
    expect(
      readSample(text, 'fiml_provider_requests_total', {
        provider: 'sim-equities',
        data_type: 'price',
        outcome: 'ok',
      }),
    ).toBe(1);
    expect(
      readSample(text, 'fiml_cache_errors_total', { component: 'writer', operation: 'set' }),
    ).toBe(0);
  });

  it('a retried job whose data is older than what another writer stored meanwhile leaves the newer entry', async () => {
    const clock = new ManualClock(T1);
    // Nothing listens on the provider's port yet: the first attempt fails upstream.
    const port = await freePort();
    const { app, producer, keyPrefix } = scheduler(
      { SIM_PROVIDER_URL: `http://127.0.0.1:${port}`, CACHE_BATCH_ENABLED: 'false' },
      clock,
    );
    const failed = waitForEvent<[Job, Error]>(app.worker.worker, 'failed', { timeoutMs: 15_000 });
    await producer.enqueueRefresh({
      symbols: ['AAPL'],
      assetType: 'equity',
      dataType: 'price',
      source: 'test',
    });
    const [job, error] = await failed;
    expect(job.attemptsMade).toBe(1); // retried: attempts 3
    expect(error.message).toMatch(
      /^refresh wrote nothing: 1 symbol\(s\) failed \(first: AAPL at fetch:/,
    );
    const api = otherWriter(keyPrefix, new ManualClock(T1 + 60_000));
    expect(await stored(api, price('AAPL'))).toBeUndefined();

    // Meanwhile an api instance reads AAPL through and stores a value fetched a minute later.
    const newer = api.buildEntry(
      'price',
      'equity',
      { value: { symbol: 'AAPL', price: 231.5 }, source: 'polygon' },
      'read-through',
    );
    expect(await api.write([[price('AAPL'), newer]])).toEqual([
      { key: price('AAPL'), status: 'written' },
    ]);

    // The provider comes back; BullMQ retries the job, whose fetch is older than that entry.
    const completed = waitForEvent<[Job, RefreshOutcome]>(app.worker.worker, 'completed', {
      timeoutMs: 15_000,
    });
    await simServer(clock, port);
    const [retried, result] = await completed;
    expect(retried.id).toBe(job.id);
    expect(result).toMatchObject({ written: 0, skippedNewer: 1, failed: 0, failures: [] });
    expect(await stored(api, price('AAPL'))).toEqual(newer);
    expect(
      readSample(await app.registry.metrics(), 'fiml_cache_writes_total', {
        writer: 'scheduler',
        outcome: 'skipped-newer',
      }),
    ).toBe(1);
  });

  it('aborts a fetch that outlives REFRESH_FETCH_TIMEOUT_MS, and the job fails for a retry', async () => {
    const clock = new ManualClock(T1);
    // An upstream that accepts the call and never answers.
    const sim = await startSimulatedProviderServer({
      seed: 'hang',
      clock,
      failureRate: 0,
      delay: true,
      sleep: () => new Promise(() => undefined),
    });
    open.push(() => sim.close());
    const { app, producer } = scheduler(
      { SIM_PROVIDER_URL: sim.url, REFRESH_FETCH_TIMEOUT_MS: '200', CACHE_BATCH_ENABLED: 'false' },
      clock,
    );
    const failed = waitForEvent<[Job, Error]>(app.worker.worker, 'failed', { timeoutMs: 10_000 });
    await producer.enqueueRefresh({
      symbols: ['AAPL'],
      assetType: 'equity',
      dataType: 'price',
      source: 'test',
    });
    const [job, error] = await failed;
    expect(job.attemptsMade).toBe(1);
    expect(error).toBeInstanceOf(RefreshFailedError);
    expect((error as RefreshFailedError).failures).toMatchObject([
      { symbol: 'AAPL', stage: 'fetch', code: 'FIML_PROVIDER_ABORTED' },
    ]);
    expect(job.failedReason).toMatch(/refresh wrote nothing/);
  });
});

describe('RefreshConsumer', () => {
  /** A registry whose answer the test decides; the writer and Redis are real. */
  function consumer(
    answer: Record<string, AssetResult<unknown>>,
    writerRedis = redis('test-w'),
  ): { refresh: RefreshConsumer; reader: CacheWriter } {
    const clock = new ManualClock(T1);
    const keyPrefix = uniqueName('c');
    const writer = new CacheWriter({
      redis: writerRedis,
      ttlPolicy: new TtlPolicy({ clock, random: new SeededRandom(1) }),
      keyPrefix,
      clock,
    });
    const providers = {
      fetch: (_d: DataType, _a: AssetType, symbols: readonly string[]) =>
        Promise.resolve({
          results: new Map(symbols.map((s) => [s, answer[s]!])),
          calls: [],
        }),
      route: () => [{ id: 'stub' }],
    } as unknown as Pick<ProviderRegistry, 'fetch' | 'route'>;
    return {
      refresh: new RefreshConsumer({ providers, writer }),
      reader: otherWriter(keyPrefix, clock),
    };
  }
  const request = (symbols: string[]): RefreshRequest => ({
    symbols,
    assetType: 'equity',
    dataType: 'price',
    priority: 'normal',
    source: 'test',
  });
  const timeout = (symbol: string) => ({
    status: 'error' as const,
    error: new ProviderError(ProviderErrorCode.TIMEOUT, `no answer for ${symbol}`, {
      providerId: 'stub',
    }),
  });
  const ok = (symbol: string) => ({ status: 'ok' as const, value: { symbol, provider: 'stub-a' } });

  it('completes with the failures listed when something was written', async () => {
    const { refresh, reader } = consumer({ AAPL: ok('AAPL'), MSFT: timeout('MSFT') });
    const writes: unknown[] = [];
    refresh.on('write', (e) => writes.push(e));
    await expect(refresh.refresh(request(['AAPL', 'MSFT']))).resolves.toEqual({
      dataType: 'price',
      assetType: 'equity',
      symbols: 2,
      written: 1,
      notFound: 0,
      skippedNewer: 0,
      skippedExpired: 0,
      failed: 1,
      failures: [
        {
          symbol: 'MSFT',
          stage: 'fetch',
          code: 'FIML_PROVIDER_TIMEOUT',
          message: 'stub: no answer for MSFT',
        },
      ],
    });
    expect(await stored(reader, price('AAPL'))).toMatchObject({
      source: 'stub-a',
      writer: 'scheduler',
    });
    expect(writes).toEqual([
      { writer: 'scheduler', outcomes: [{ key: price('AAPL'), status: 'written' }] },
    ]);
  });

  it('fails, for BullMQ to retry, when every symbol failed upstream', async () => {
    const { refresh } = consumer({ AAPL: timeout('AAPL'), MSFT: timeout('MSFT') });
    const error = await refresh.refresh(request(['AAPL', 'MSFT'])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefreshFailedError);
    expect((error as RefreshFailedError).code).toBe('FIML_REFRESH_FAILED');
    expect((error as RefreshFailedError).failures.map((f) => f.symbol)).toEqual(['AAPL', 'MSFT']);
    expect((error as RefreshFailedError).cause).toBeInstanceOf(ProviderError);
  });

  it('fails when the cache Redis took none of the writes', async () => {
    const dead = createRedisConnection(`redis://127.0.0.1:${await freePort()}`, {
      role: 'cache',
      name: 'test-dead',
      logger,
    });
    open.push(() => Promise.resolve(dead.disconnect()));
    const { refresh } = consumer({ AAPL: ok('AAPL') }, dead);
    const error = await refresh.refresh(request(['AAPL'])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefreshFailedError);
    expect((error as RefreshFailedError).failures).toMatchObject([
      { symbol: 'AAPL', stage: 'write' },
    ]);
  });
});
