// The deployment's observability, proven on the real system: the api, the batch-scheduler and the
// warmer (each its own main.ts, with the compose file's environment, addresses adapted), a queue
// Redis and a cache Redis with the compose file's settings, the simulated provider's HTTP server,
// and a real Prometheus (Debian's) scraping them with the repository's prometheus.yml and alert
// rules. Traffic provokes what the alerts watch: cold reads (hit rate, p99), a refresh, a warming
// cycle whose entries go unread (precision), a backlog on a provider held to one call per two
// seconds (backlog, budget refusals), another client spending a provider's plan (a 429), a
// refresh job that breaks its contract (a final failure), then the cache Redis and the warmer
// dying (errors, circuit, a process down). Every dashboard query must return data, and every
// alert the traffic provokes must fire.
import { afterAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { AccessHistory, type CacheEntry, cacheKey, CacheWriter, TtlPolicy } from '@fiml/cache';
import { readSample } from '@fiml/observability/promtool';
import { SIMULATED_PROFILES } from '@fiml/providers';
import { startSimulatedProviderServer, type SimulatedProviderServer } from '@fiml/simulator';
import { QueueName, REFRESH_JOB_NAME, WARM_CYCLE_JOB_NAME, queuePrefix } from '@fiml/queue';
import { connectionOptionsFor } from '@fiml/runtime';
import {
  freePort,
  startRedisServer,
  startServiceProcess,
  uniqueName,
  waitFor,
  type RedisServer,
  type ServiceProcess,
} from '@fiml/testing';
import { loadCompose, redisFlags, serviceEnv } from './support/compose.js';
import { dashboardQueries, expandGrafanaVariables, type Dashboard } from './support/dashboard.js';
import { DASHBOARD, dockerPath, findBinary, readJson, run } from './support/files.js';
import { rulesWithoutFor, startPrometheus, type PrometheusServer } from './support/prometheus.js';

const prometheusBinary = findBinary('PROMETHEUS', 'prometheus');
if (!prometheusBinary) {
  process.stdout.write(
    'prometheus not found (Debian package "prometheus"; .ci/run installs it): skipping the live dashboard and alert test\n',
  );
}

const open: (() => unknown)[] = [];
afterAll(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

const KEY = 'live-test-client-key-0123456789';
/** Scrape and rule evaluation interval of the test's Prometheus. */
const INTERVAL_S = 1;
/** What `$__rate_interval` becomes: a window that spans the whole test. */
const RATE_INTERVAL = '5m';

/** Alerts the traffic provokes before anything is killed, and those the last phase provokes. */
const PROVOKED_BY_TRAFFIC = [
  'FimlCacheHitRateLow',
  'FimlReadLatencyHigh',
  'FimlRefreshBacklogGrowing',
  'FimlJobsFailed',
  'FimlUpstreamRateLimited',
  'FimlProviderBudgetExhausted',
  'FimlWarmingPrecisionLow',
];
const PROVOKED_BY_FAILURES = [
  'FimlCacheRedisErrors',
  'FimlCacheCircuitOpen',
  'FimlApiDegraded',
  'FimlProcessDown',
];
/** Alerts this test cannot provoke, and why (their promtool unit tests cover them). */
const NOT_PROVOKED: Record<string, string> = {
  FimlServiceMissing:
    'needs every target of a service gone from service discovery; the test scrapes static targets',
  FimlIntakeKeysLost:
    'needs a pending-set script error after a refresh job completed (the batch-scheduler test corrupts a group key for it)',
  FimlRefreshKeysFailed:
    'needs a provider failing every attempt at some keys; the simulated upstreams of this test answer every call (the batch-scheduler test of a provider answering garbage counts them)',
  FimlJobsStalling:
    'needs jobs stalling in every 15-minute window for half an hour (a stall is counted in the batch-scheduler and queue tests)',
  FimlApiAcceptBacklog:
    'needs connections arriving faster than the api accepts them for two minutes; the runtime test holds a queue for seconds only',
};

/**
 * Panels whose queries may be all zero (or empty) after this traffic, and why. Every other panel
 * must show a non-zero value. (Every panel must still return series.)
 */
const MAY_BE_ZERO: Record<string, string> = {
  'Stale reads served': 'no entry goes stale within the test (the shortest TTL is a minute)',
  'Reads not recorded for the warmer': 'nothing is dropped unless Redis is slow',
  'Warming precision':
    'every warmed entry of the test goes unread: precision is 0 (asserted on the warmer as well)',
  'Warming precision and cost': 'precision 0, and calls per used warm infinite: no warm was used',
  'Cache Redis errors and circuit':
    'nothing has failed at the checkpoint; it is checked again once the cache Redis is dead',
  'Connections waiting to be accepted':
    "this traffic never opens connections faster than the api takes them (the gauge's reading of a held queue is tested in @fiml/runtime and @fiml/observability)",
};

const processes = join(__dirname, '../../apps');

function start(app: string, env: Record<string, string>): ServiceProcess {
  const proc = startServiceProcess({
    entry: join(processes, app, 'src/main.ts'),
    cwd: join(processes, app),
    env,
  });
  open.push(() => proc.kill());
  return proc;
}

/** Runs `work` over `items`, `concurrency` at a time. */
async function pool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<unknown>,
) {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

(prometheusBinary ? describe : describe.skip)('the deployment, live', () => {
  it('shows data on every dashboard panel and fires every alert the traffic provokes', async () => {
    const compose = loadCompose();

    // ---------------------------------------------------------------- the system
    const queueRedis: RedisServer = await startRedisServer({
      config: redisFlags(compose.services['redis-queue']!),
    });
    open.push(() => queueRedis.stop());
    const cacheRedis: RedisServer = await startRedisServer({
      config: redisFlags(compose.services['redis-cache']!),
    });
    open.push(() => cacheRedis.stop());
    // The simulated upstreams, answering after their modeled latency (x4, so a miss is slow).
    const sim: SimulatedProviderServer = await startSimulatedProviderServer({
      seed: 'live',
      failureRate: 0,
      delay: true,
      latencyScale: 4,
      profiles: Object.values(SIMULATED_PROFILES),
    });
    open.push(() => sim.close());

    const [apiPort, schedulerPort, warmerPort, prometheusPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const prefix = uniqueName('live');
    const adapt = {
      REDIS_QUEUE_URL: queueRedis.url,
      REDIS_CACHE_URL: cacheRedis.url,
      SIM_PROVIDER_URL: sim.url,
      QUEUE_PREFIX: prefix,
      CACHE_KEY_PREFIX: prefix,
      PROVIDER_RATE_LIMIT_PREFIX: prefix,
      // The reference upstream held to one call per two seconds: its groups back up.
      PROVIDER_RATE_LIMITS: 'sim-reference=1/2s',
      // Warmed crypto prices stay fresh for a day, so the planner expects them to be read.
      CACHE_TTL_PRICE_CRYPTO: '86400',
      CACHE_TTL_JITTER: '0',
    };
    const api = start('api', {
      ...serviceEnv(compose.services.api!),
      ...adapt,
      API_HOST: '127.0.0.1',
      API_PORT: String(apiPort),
      API_KEYS: `live:${KEY}`,
      // Small L1s: cold reads push entries out (capacity evictions).
      L1_MAX_ENTRIES: '100',
    });
    const scheduler = start('batch-scheduler', {
      ...serviceEnv(compose.services['batch-scheduler']!),
      ...adapt,
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: String(schedulerPort),
      // Every hour a low-load hour: warming requests go as soon as they are due.
      CACHE_LOW_LOAD_HOURS: Array.from({ length: 24 }, (_, h) => h).join(','),
      CACHE_BATCH_INTERVAL: '1',
    });
    const warmer = start('warmer', {
      ...serviceEnv(compose.services.warmer!),
      ...adapt,
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: String(warmerPort),
      // Runs only when the test asks.
      CACHE_WARMING_SCHEDULE: '0 0 1 1 *',
      CACHE_WARMING_PREOPEN_MINUTES: '0',
      CACHE_WARMING_REFRESH_AHEAD_SECONDS: '0',
    });
    await Promise.all([
      api.waitForLog((r) => r.msg === 'api ready', 60_000),
      scheduler.waitForLog((r) => r.msg === 'batch-scheduler ready', 60_000),
      warmer.waitForLog((r) => r.msg === 'warmer ready', 60_000),
    ]);

    const prometheus: PrometheusServer = await startPrometheus({
      binary: prometheusBinary!,
      port: prometheusPort,
      ports: { api: apiPort, 'batch-scheduler': schedulerPort, warmer: warmerPort },
      intervalSeconds: INTERVAL_S,
    });
    open.push(() => prometheus.stop());
    // Scraped once before the traffic starts, so every counter and gauge has a baseline.
    await waitFor(async () => (await prometheus.query('up{job="fiml"} == 1')).length === 3, {
      timeoutMs: 20_000,
      intervalMs: 200,
      description: 'the first scrape of every process',
    });

    // The image's healthcheck against the real processes.
    const health = (env: Record<string, string>) =>
      run(process.execPath, [dockerPath('image/healthcheck.mjs')], { env }).status;
    expect(health({ FIML_APP: 'api', API_PORT: String(apiPort) })).toBe(0);
    expect(health({ FIML_APP: 'batch-scheduler', METRICS_PORT: String(schedulerPort) })).toBe(0);
    expect(health({ FIML_APP: 'warmer', METRICS_PORT: String(warmerPort) })).toBe(0);

    const base = `http://127.0.0.1:${apiPort}`;
    const read = async (dataType: string, assetType: string, symbol: string) => {
      const response = await fetch(`${base}/v1/data/${dataType}/${symbol}?assetType=${assetType}`);
      await response.arrayBuffer();
      return response.status;
    };
    const refresh = async (body: object) => {
      const response = await fetch(`${base}/v1/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': KEY },
        body: JSON.stringify(body),
      });
      if (response.status !== 202) {
        throw new Error(`POST /v1/refresh answered ${response.status}: ${await response.text()}`);
      }
    };
    const invalidate = async (dataType: string, assetType: string, symbol: string) => {
      const response = await fetch(
        `${base}/v1/cache/${dataType}/${symbol}?assetType=${assetType}`,
        {
          method: 'DELETE',
          headers: { 'x-api-key': KEY },
        },
      );
      expect(response.status).toBe(204);
    };
    const metricsOf = async (port: number) =>
      (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

    const cache = new Redis(cacheRedis.url, connectionOptionsFor('cache'));
    open.push(() => cache.disconnect());
    const l2 = new CacheWriter({ redis: cache, ttlPolicy: new TtlPolicy(), keyPrefix: prefix });
    const queueConnection = new Redis(queueRedis.url, connectionOptionsFor('producer'));
    open.push(() => queueConnection.disconnect());
    const warmQueue = new Queue(QueueName.WARM, {
      connection: queueConnection,
      prefix: queuePrefix(prefix),
    });
    open.push(() => warmQueue.close());
    const refreshQueue = new Queue(QueueName.REFRESH, {
      connection: queueConnection,
      prefix: queuePrefix(prefix),
    });
    open.push(() => refreshQueue.close());

    const { equity, crypto } = sim.market.universe;
    const hot = equity.slice(0, 8);
    const refreshed = equity.slice(8, 18);
    const cold = equity.slice(100, 400);
    const warmed = crypto.slice(0, 20);

    // ---------------------------------------------------------------- 1. a backlog on one provider
    // 1,000 fundamentals and news keys for the reference upstream, at one call per two seconds.
    for (const dataType of ['fundamentals', 'news']) {
      for (const symbols of [equity.slice(500, 1000), equity.slice(1000, 1500)]) {
        await refresh({
          dataType,
          assetType: 'equity',
          symbols,
          priority: 'normal',
        });
      }
    }

    // ---------------------------------------------------------------- 2. reads
    // Hot equities read ten times each (a miss, then L1 hits), the crypto assets to be warmed
    // eight times each (recorded for the warmer), and 300 cold equities once (misses).
    await pool(hot, 8, (s) => read('price', 'equity', s));
    await pool(warmed, 20, (s) => read('price', 'crypto', s));
    await pool([...Array(9).keys()], 1, () =>
      Promise.all([
        ...hot.map((s) => read('price', 'equity', s)),
        ...warmed.map((s) => read('price', 'crypto', s)),
      ]),
    );
    let coldStatuses: number[] = [];
    await pool(cold, 50, async (s) => coldStatuses.push(await read('price', 'equity', s)));
    expect(coldStatuses.filter((s) => s === 200).length).toBeGreaterThan(250);
    coldStatuses = [];

    // ---------------------------------------------------------------- 3. a refresh, then L2 hits
    await refresh({
      dataType: 'price',
      assetType: 'equity',
      symbols: [...hot, ...refreshed],
      priority: 'urgent',
    });
    await waitFor(
      async () =>
        (await l2.peek(refreshed.map((s) => cacheKey('price', 'equity', s)))).every(
          (e) => e?.writer === 'scheduler',
        ),
      { timeoutMs: 20_000, intervalMs: 100, description: 'the refreshed entries in L2' },
    );
    for (const s of refreshed) expect(await read('price', 'equity', s)).toBe(200);

    // ---------------------------------------------------------------- 4. a warming cycle, unread
    const warmKeys = warmed.map((s) => cacheKey('price', 'crypto', s));
    const history = new AccessHistory({ redis: cache, keyPrefix: prefix });
    await waitFor(
      async () => {
        const stats = (await history.read(Date.now())).stats.filter((s) =>
          warmKeys.includes(s.key),
        );
        return stats.length === warmKeys.length && stats.every((s) => s.frequency > 8);
      },
      { timeoutMs: 20_000, intervalMs: 100, description: 'the crypto reads in the access history' },
    );
    const runWarming = async () => {
      const job = await warmQueue.add(WARM_CYCLE_JOB_NAME, { mode: 'scheduled' });
      await waitFor(async () => (await job.isCompleted()) || undefined, {
        timeoutMs: 30_000,
        intervalMs: 100,
        description: 'a warming run',
      });
    };
    const warmedEntries = async (not: readonly (CacheEntry | undefined)[] = []) =>
      waitFor(
        async () => {
          const found = await l2.peek(warmKeys);
          return found.every((e, i) => e?.writer === 'warmer' && e.fetchedAt !== not[i]?.fetchedAt)
            ? found
            : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100, description: 'the warmed entries in L2' },
      );
    // Gone from the cache, warmed, gone again unread, warmed again (the first 20 wasted), and a
    // third run reads the books.
    await pool(warmed, 10, (s) => invalidate('price', 'crypto', s));
    await runWarming();
    const first = await warmedEntries();
    await pool(warmed, 10, (s) => invalidate('price', 'crypto', s));
    await runWarming();
    await warmedEntries(first);
    await runWarming();
    const warmerMetrics = await metricsOf(warmerPort);
    expect(
      readSample(warmerMetrics, 'fiml_warm_entries', { outcome: 'wasted' }),
    ).toBeGreaterThanOrEqual(20);
    expect(readSample(warmerMetrics, 'fiml_warm_precision')).toBe(0);

    // ---------------------------------------------------------------- 5. a 429
    // Another client spends the crypto upstream's plan; the scheduler's next call is refused.
    const cryptoUpstream = sim.upstreams.get('sim-crypto')!;
    for (
      let i = 0;
      i < 100 &&
      cryptoUpstream.call('price', [{ symbol: 'BTC', assetType: 'crypto' }]).status === 'ok';
      i++
    );
    await refresh({
      dataType: 'price',
      assetType: 'crypto',
      symbols: ['BTC'],
      priority: 'urgent',
    });
    await waitFor(
      async () =>
        (readSample(await metricsOf(schedulerPort), 'fiml_batch_rate_limited_total', {
          provider: 'sim-crypto',
        }) ?? 0) >= 1,
      { timeoutMs: 20_000, intervalMs: 100, description: 'the scheduler backing off after a 429' },
    );

    // ---------------------------------------------------------------- 6. a job that breaks its contract
    await refreshQueue.add(REFRESH_JOB_NAME, { symbols: 'not a list', dataType: 'price' });
    await waitFor(
      async () =>
        (readSample(await metricsOf(schedulerPort), 'fiml_queue_jobs_failed_total', {
          queue: 'refresh',
          final: 'true',
        }) ?? 0) >= 1,
      {
        timeoutMs: 20_000,
        intervalMs: 100,
        description: 'the invalid refresh job failing for good',
      },
    );

    // ---------------------------------------------------------------- checkpoint: alerts and panels
    const firing = async () =>
      new Set(
        (await prometheus.alerts())
          .filter((a) => a.state === 'firing')
          .map((a) => a.labels.alertname),
      );
    const fired = await waitFor(
      async () => {
        const now = await firing();
        return PROVOKED_BY_TRAFFIC.every((name) => now.has(name)) ? now : undefined;
      },
      {
        timeoutMs: 30_000,
        intervalMs: 500,
        description: `alerts firing: ${PROVOKED_BY_TRAFFIC.join(', ')}`,
      },
    ).catch(async (error: unknown) => {
      throw new Error(`${String(error)}; firing: ${[...(await firing())].join(', ')}`);
    });
    // Nothing is down yet: the failure alerts are quiet (their expressions can be false).
    for (const name of [...PROVOKED_BY_FAILURES, ...Object.keys(NOT_PROVOKED)])
      expect(fired).not.toContain(name);

    // Every rule loaded from the repository file, every expression evaluating without error.
    const rules = await prometheus.rules();
    expect(rules.map((r) => r.name).sort()).toEqual(
      rulesWithoutFor()
        .groups.flatMap((g) => g.rules.map((r) => r.alert as string))
        .sort(),
    );
    for (const rule of rules)
      expect({ rule: rule.name, health: rule.health, error: rule.lastError ?? '' }).toEqual({
        rule: rule.name,
        health: 'ok',
        error: '',
      });

    // The scrape found every process under its service name (the repository's relabelling).
    const up = await prometheus.query('up{job="fiml"}');
    expect(Object.fromEntries(up.map((s) => [s.metric.service, s.value[1]]))).toEqual({
      api: '1',
      'batch-scheduler': '1',
      warmer: '1',
    });

    // Every query of every panel returns data; all but a few show something non-zero.
    const dashboard = readJson<Dashboard>(DASHBOARD);
    const emptyPanels: string[] = [];
    const quietPanels = new Set<string>();
    const panelsWithValue = new Set<string>();
    for (const query of dashboardQueries(dashboard)) {
      const result = await prometheus.query(expandGrafanaVariables(query.expr, RATE_INTERVAL));
      if (result.length === 0) emptyPanels.push(`${query.panel} [${query.refId}]: ${query.expr}`);
      quietPanels.add(query.panel);
      if (result.some((s) => Number.isFinite(Number(s.value[1])) && Number(s.value[1]) !== 0)) {
        panelsWithValue.add(query.panel);
      }
    }
    expect(emptyPanels).toEqual([]);
    for (const panel of panelsWithValue) quietPanels.delete(panel);
    expect([...quietPanels].sort()).toEqual(Object.keys(MAY_BE_ZERO).sort());

    // ---------------------------------------------------------------- 7. failures
    // The cache Redis dies: reads of new keys fail on L2 and the api's breaker opens.
    await cacheRedis.kill();
    // Readers keep coming (a few new keys at a time) until the breaker opens.
    const failing = equity.slice(1500, 2500);
    let apiMetrics = '';
    await waitFor(
      async () => {
        await pool(failing.splice(0, 5), 5, (s) => read('price', 'equity', s));
        apiMetrics = await metricsOf(apiPort);
        return readSample(apiMetrics, 'fiml_cache_circuit_state', { state: 'closed' }) === 0;
      },
      {
        timeoutMs: 30_000,
        intervalMs: 100,
        description: "the api's circuit breaker leaving closed",
      },
    ).catch((error: unknown) => {
      const lines = apiMetrics.split('\n').filter((l) => /^fiml_cache_(circuit|errors)/.test(l));
      throw new Error(
        `${String(error)}\n${lines.join('\n')}\napi log tail:\n${api.logs
          .slice(-10)
          .map((r) => JSON.stringify(r))
          .join('\n')}`,
      );
    });
    // The warmer dies.
    warmer.child.kill('SIGKILL');
    await warmer.exited;
    await waitFor(
      async () => {
        const now = await firing();
        return PROVOKED_BY_FAILURES.every((name) => now.has(name)) || undefined;
      },
      {
        timeoutMs: 30_000,
        intervalMs: 500,
        description: `alerts firing: ${PROVOKED_BY_FAILURES.join(', ')}`,
      },
    ).catch(async (error: unknown) => {
      throw new Error(`${String(error)}; firing: ${[...(await firing())].join(', ')}`);
    });
    // The errors panel now shows them.
    const errorsPanel = dashboardQueries(dashboard).filter(
      (q) => q.panel === 'Cache Redis errors and circuit',
    );
    for (const query of errorsPanel) {
      const result = await prometheus.query(expandGrafanaVariables(query.expr, RATE_INTERVAL));
      expect({ query: query.expr, shows: result.some((r) => Number(r.value[1]) > 0) }).toEqual({
        query: query.expr,
        shows: true,
      });
    }
    const down = (await prometheus.alerts()).find((a) => a.labels.alertname === 'FimlProcessDown');
    expect(down?.labels).toMatchObject({ service: 'warmer', instance: `127.0.0.1:${warmerPort}` });
    expect(down?.annotations.runbook_url).toBe('docs/OPERATIONS.md#fimlprocessdown');

    // Every alert of the file is provoked here or said not to be.
    expect(
      [...PROVOKED_BY_TRAFFIC, ...PROVOKED_BY_FAILURES, ...Object.keys(NOT_PROVOKED)].sort(),
    ).toEqual(rules.map((r) => r.name).sort());
  }, 150_000);
});
