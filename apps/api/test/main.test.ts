import { afterEach, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulatedProviderServer } from '@fiml/simulator';
import {
  freePort,
  startRedisServer,
  startServiceProcess,
  testRedisUrl,
  uniqueName,
  waitFor,
  type ServiceProcess,
} from '@fiml/testing';

const open: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

function startApi(env: Record<string, string>): ServiceProcess {
  const service = startServiceProcess({
    entry: join(__dirname, '../src/main.ts'),
    cwd: join(__dirname, '..'),
    env: { API_HOST: '127.0.0.1', QUEUE_PREFIX: uniqueName('api'), ...env },
  });
  open.push(() => service.kill());
  return service;
}

/**
 * Descriptors `pid` holds on the TCP socket listening on `port` (Linux /proc):
 * the socket's inode from /proc/net/tcp, then the process's fds linking to it.
 */
function listeningDescriptors(pid: number, port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const listen = readFileSync('/proc/net/tcp', 'latin1')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find((fields) => fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A');
  if (!listen) return 0;
  const socket = `socket:[${listen[9]}]`;
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === socket;
    } catch {
      return false; // closed meanwhile
    }
  }).length;
}

async function status(url: string): Promise<number> {
  return (await fetch(url)).status;
}

describe('the api process', () => {
  it('serves requests and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const sim = await startSimulatedProviderServer({ seed: 1, failureRate: 0 });
    open.push(() => sim.close());
    const api = startApi({
      REDIS_QUEUE_URL: testRedisUrl(),
      REDIS_CACHE_URL: testRedisUrl(),
      API_PORT: String(port),
      API_KEYS: 'tester:0123456789abcdef01',
      SIM_PROVIDER_URL: sim.url,
    });
    const ready = await api.waitForLog((r) => r.msg === 'api ready');
    // API_ACCEPT_HANDLES at its default: that many descriptors of the one listening socket.
    expect(ready.acceptHandles).toBe(32);
    if (existsSync('/proc/net/tcp')) expect(listeningDescriptors(api.child.pid!, port)).toBe(32);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await status(`${base}/readyz`)) === 200, {
      description: '/readyz 200',
    });
    const res = await fetch(`${base}/v1/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': '0123456789abcdef01' },
      body: JSON.stringify({ dataType: 'news', assetType: 'equity', symbols: ['AAPL'] }),
    });
    expect(res.status).toBe(202);
    const read = await fetch(`${base}/v1/data/price/AAPL`);
    expect(read.status).toBe(200);
    expect(((await read.json()) as { source: string }).source).toBe('sim-equities');

    api.child.kill('SIGTERM');
    await expect(api.exited).resolves.toEqual({ code: 0, signal: null });
    expect(api.logs.filter((r) => r.msg === 'closed').map((r) => r.step)).toEqual([
      'accept handles',
      'http server',
      'warm read recorder',
      'access recorder',
      'cache invalidations',
      'refresh producer',
      'cache redis',
      'queue redis',
    ]);
  });

  it('starts without Redis, ready but degraded meanwhile, and plainly ready when Redis comes up', async () => {
    const [apiPort, redisPort] = [await freePort(), await freePort()];
    const url = `redis://127.0.0.1:${redisPort}`;
    const api = startApi({
      REDIS_QUEUE_URL: url,
      REDIS_CACHE_URL: url,
      API_PORT: String(apiPort),
      API_ACCEPT_HANDLES: '1', // Node's own way: the extra handles off
    });
    expect((await api.waitForLog((r) => r.msg === 'api ready')).acceptHandles).toBe(1);
    if (existsSync('/proc/net/tcp')) expect(listeningDescriptors(api.child.pid!, apiPort)).toBe(1);
    const base = `http://127.0.0.1:${apiPort}`;
    const readiness = async () => {
      const res = await fetch(`${base}/readyz`);
      return { code: res.status, ...((await res.json()) as { status: string }) };
    };
    expect(await status(`${base}/healthz`)).toBe(200);
    expect(await readiness()).toMatchObject({ code: 200, status: 'degraded' });
    await api.waitForLog((r) => r.msg === 'redis connection lost; reconnecting with backoff');

    const redis = await startRedisServer({ port: redisPort });
    open.push(() => redis.stop());
    await waitFor(async () => (await readiness()).status === 'ready', {
      timeoutMs: 15_000,
      description: '/readyz ready once Redis is up',
    });
    expect(api.child.exitCode).toBeNull();
  });
});
