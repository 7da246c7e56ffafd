/**
 * The deployment the end-to-end benchmark drives: two private redis-servers (the queue role,
 * noeviction with AOF on; the cache role, maxmemory with an LFU policy), the simulated provider's
 * HTTP server with the market-week provider model, and the three apps each started from its own
 * composition root (src/main.ts, through `startServiceProcess` as the apps' own end-to-end tests
 * do). Every Node process runs with its wall clock shifted to the replayed instant (see
 * shift-clock.mjs); nothing else of the apps is touched.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import {
  freePort,
  startRedisServer,
  startServiceProcess,
  waitFor,
  withDeadline,
  type RedisServer,
  type ServiceProcess,
} from '@fiml/testing';
import { HARNESS_ENV, type Configuration } from './configurations.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const SHIFT_CLOCK = pathToFileURL(path.join(here, 'shift-clock.mjs')).href;

export type ProcessName = 'api' | 'batch-scheduler' | 'warmer' | 'sim-provider';

export interface StackProcess {
  readonly name: ProcessName;
  readonly service: ServiceProcess;
  readonly pid: number;
  /** Its Prometheus endpoint (the simulator has none). */
  readonly metricsUrl?: string;
}

export interface StackRedis {
  readonly role: 'queue' | 'cache';
  readonly server: RedisServer;
  readonly pid: number;
}

export interface StackOptions {
  readonly configuration: Configuration;
  /** The workload's seed: the simulated market's universe must be the workload's. */
  readonly seed: number;
  /**
   * How far ahead of the real clock every Node process's clock runs (ms); a function is called
   * when the processes are launched (after `prepareCache`, which may take a while).
   */
  readonly clockOffsetMs: number | (() => number);
  /** Extra environment for every app, over the configuration's (e.g. LOG_LEVEL). */
  readonly env?: Readonly<Record<string, string>>;
  /** maxmemory of the cache Redis. @defaultValue '1gb' */
  readonly cacheMaxmemory?: string;
  /** Runs once the cache Redis is up and before any app starts (e.g. to seed the access history). */
  readonly prepareCache?: (cacheUrl: string) => Promise<unknown>;
  /** Extra NODE_OPTIONS per process (e.g. `--heapsnapshot-signal=SIGUSR2` for the api). */
  readonly nodeOptions?: Partial<Record<ProcessName, string>>;
  /** How long each process may take to log its ready line. @defaultValue 120000 */
  readonly startTimeoutMs?: number;
}

export interface Stack {
  readonly apiUrl: string;
  readonly simUrl: string;
  readonly simCountersUrl: string;
  readonly processes: readonly StackProcess[];
  readonly redis: readonly StackRedis[];
  readonly clockOffsetMs: number;
  /** What `prepareCache` returned. */
  readonly prepared: unknown;
  /** Stops the apps (SIGTERM, in reverse dependency order), the simulator, then Redis. */
  stop(): Promise<ShutdownReport[]>;
}

/** How a process ended when the stack was stopped: a graceful shutdown exits 0 on SIGTERM. */
export interface ShutdownReport {
  readonly name: string;
  readonly code: number | null;
  readonly signal: string | null;
  readonly ms: number;
  /** It did not exit within the deadline and was killed. */
  readonly killed: boolean;
}

const SHUTDOWN_DEADLINE_MS = 30_000;

/** Starts everything and resolves once every process has logged that it is ready. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const { configuration } = options;
  const started: { stop: () => Promise<unknown> }[] = [];
  const processes: StackProcess[] = [];
  const redis: StackRedis[] = [];
  const timeoutMs = options.startTimeoutMs ?? 120_000;
  try {
    // Queue Redis: BullMQ needs noeviction; AOF on, as docs/ARCHITECTURE.md runs it.
    const queue = await startRedisServer({
      config: { appendonly: 'yes', appendfsync: 'everysec', 'maxmemory-policy': 'noeviction' },
    });
    started.push(queue);
    redis.push({ role: 'queue', server: queue, pid: queue.pid ?? 0 });
    const cache = await startRedisServer({
      config: { maxmemory: options.cacheMaxmemory ?? '1gb', 'maxmemory-policy': 'allkeys-lfu' },
    });
    started.push(cache);
    redis.push({ role: 'cache', server: cache, pid: cache.pid ?? 0 });
    const prepared = options.prepareCache ? await options.prepareCache(cache.url) : undefined;

    const clockOffsetMs =
      typeof options.clockOffsetMs === 'function' ? options.clockOffsetMs() : options.clockOffsetMs;
    const clockEnv = {
      NODE_OPTIONS: `--import=${SHIFT_CLOCK}`,
      FIML_BENCH_CLOCK_OFFSET_MS: String(clockOffsetMs),
    };
    const launch = (
      name: ProcessName,
      entry: string,
      cwd: string,
      env: Record<string, string>,
    ): ServiceProcess => {
      const extra = options.nodeOptions?.[name];
      const nodeOptions = extra ? `${clockEnv.NODE_OPTIONS} ${extra}` : clockEnv.NODE_OPTIONS;
      const service = startServiceProcess({
        entry,
        cwd,
        env: { ...clockEnv, ...env, NODE_OPTIONS: nodeOptions },
      });
      started.push({
        stop: async () => {
          service.kill();
          await service.exited;
        },
      });
      return service;
    };

    const sim = launch(
      'sim-provider',
      path.join(here, 'sim-provider.ts'),
      path.join(root, 'bench'),
      {
        SEED: String(options.seed),
        PORT: '0',
        COUNTERS_PORT: '0',
      },
    );
    const simReady = await sim.waitForLog(
      (r) => r.msg === 'simulated provider listening',
      timeoutMs,
    );
    const simUrl = String(simReady.url);
    processes.push({ name: 'sim-provider', service: sim, pid: sim.child.pid ?? 0 });

    const common = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      REDIS_QUEUE_URL: queue.url,
      REDIS_CACHE_URL: cache.url,
      SIM_PROVIDER_URL: simUrl,
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: '0',
      ...configuration.env.common,
      ...options.env,
    };
    const apiPort = await freePort();
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const app = (name: string) => path.join(root, 'apps', name);
    const scheduler = launch(
      'batch-scheduler',
      path.join(app('batch-scheduler'), 'src/main.ts'),
      app('batch-scheduler'),
      {
        ...common,
        ...configuration.env.scheduler,
      },
    );
    const warmer = launch('warmer', path.join(app('warmer'), 'src/main.ts'), app('warmer'), {
      ...common,
      ...configuration.env.warmer,
    });
    const api = launch('api', path.join(app('api'), 'src/main.ts'), app('api'), {
      ...common,
      // One JSON line per request at info would cost more than some reads; warnings still show.
      LOG_LEVEL: options.env?.LOG_LEVEL ?? 'warn',
      API_HOST: '127.0.0.1',
      API_PORT: String(apiPort),
      ...HARNESS_ENV.api,
      ...configuration.env.api,
    });
    const [schedulerReady, warmerReady] = await Promise.all([
      scheduler.waitForLog((r) => r.msg === 'batch-scheduler ready', timeoutMs),
      warmer.waitForLog((r) => r.msg === 'warmer ready', timeoutMs),
      // The api logs at warn (its ready line is info): it is ready when /readyz says so.
      waitFor(
        async () => {
          if (api.child.exitCode !== null) {
            throw new Error(
              `the api exited with ${api.child.exitCode}: ${api.stderr().slice(-2000)}`,
            );
          }
          const response = await fetch(`${apiUrl}/readyz`).catch(() => undefined);
          return response?.status === 200 || undefined;
        },
        { timeoutMs, intervalMs: 250, description: 'the api to be ready' },
      ),
    ]);
    processes.push(
      { name: 'api', service: api, pid: api.child.pid ?? 0, metricsUrl: `${apiUrl}/metrics` },
      {
        name: 'batch-scheduler',
        service: scheduler,
        pid: scheduler.child.pid ?? 0,
        metricsUrl: String(schedulerReady.metrics),
      },
      {
        name: 'warmer',
        service: warmer,
        pid: warmer.child.pid ?? 0,
        metricsUrl: String(warmerReady.metrics),
      },
    );
    return {
      apiUrl,
      simUrl,
      simCountersUrl: String(simReady.counters),
      processes,
      redis,
      clockOffsetMs,
      prepared,
      stop: () => stopStack(processes, redis),
    };
  } catch (error) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    throw error;
  }
}

async function stopProcess(p: StackProcess): Promise<ShutdownReport> {
  const t0 = performance.now();
  if (p.service.child.exitCode !== null || p.service.child.signalCode !== null) {
    const { code, signal } = await p.service.exited;
    return { name: p.name, code, signal, ms: 0, killed: false };
  }
  p.service.child.kill('SIGTERM');
  try {
    const { code, signal } = await withDeadline(
      p.service.exited,
      SHUTDOWN_DEADLINE_MS,
      `${p.name} to exit`,
    );
    return { name: p.name, code, signal, ms: performance.now() - t0, killed: false };
  } catch {
    p.service.kill();
    const { code, signal } = await p.service.exited;
    return { name: p.name, code, signal, ms: performance.now() - t0, killed: true };
  }
}

async function stopStack(
  processes: readonly StackProcess[],
  redis: readonly StackRedis[],
): Promise<ShutdownReport[]> {
  const order: ProcessName[] = ['api', 'warmer', 'batch-scheduler', 'sim-provider'];
  const reports: ShutdownReport[] = [];
  for (const name of order) {
    const p = processes.find((x) => x.name === name);
    if (p) reports.push(await stopProcess(p));
  }
  for (const r of [...redis].reverse()) await r.server.stop();
  return reports;
}

/** GET a URL's body as text, bounded. */
export async function getText(url: string, timeoutMs = 10_000): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return response.text();
}

/** Resident memory now and at its peak (VmRSS, VmHWM from /proc), bytes; undefined off Linux. */
export function procMemory(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number =>
      Number(status.match(new RegExp(`${field}:\\s+(\\d+) kB`))?.[1] ?? 0);
    return { rss: kb('VmRSS') * 1024, peak: kb('VmHWM') * 1024 };
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, seconds; undefined off Linux. */
export function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat, 12 and 13 here; clock ticks of 1/100 s on Linux.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** used_memory of a redis-server (INFO memory), bytes. */
export async function redisUsedMemory(url: string): Promise<number | undefined> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const info = await client.info('memory');
    return Number(info.match(/used_memory:(\d+)/)?.[1]);
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}
