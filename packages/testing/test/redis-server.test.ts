import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Redis } from 'ioredis';
import {
  RedisServerNotFoundError,
  startRedisServer,
  testRedisUrl,
  waitFor,
  waitForEvent,
  type RedisServer,
} from '../src/index.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function ping(url: string): Promise<string> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await client.connect();
    return await client.ping();
  } finally {
    client.disconnect();
  }
}

describe('startRedisServer', () => {
  let server: RedisServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('runs a private server on loopback with nothing persisted and BullMQ’s eviction policy', async () => {
    server = await startRedisServer();
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(await ping(server.url)).toBe('PONG');
    const client = new Redis(server.url);
    try {
      expect(await client.config('GET', 'maxmemory-policy')).toEqual([
        'maxmemory-policy',
        'noeviction',
      ]);
      expect(await client.config('GET', 'save')).toEqual(['save', '']);
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
    } finally {
      client.disconnect();
    }
  });

  it('applies extra configuration', async () => {
    server = await startRedisServer({ config: { 'maxmemory-policy': 'allkeys-lfu' } });
    const client = new Redis(server.url);
    try {
      expect(await client.config('GET', 'maxmemory-policy')).toEqual([
        'maxmemory-policy',
        'allkeys-lfu',
      ]);
    } finally {
      client.disconnect();
    }
  });

  it('can be killed like a crash and started again on the same port', async () => {
    server = await startRedisServer();
    const firstPid = server.pid!;
    await server.kill();
    expect(server.running).toBe(false);
    expect(isAlive(firstPid)).toBe(false);
    await expect(ping(server.url)).rejects.toThrow(/ECONNREFUSED|Connection is closed/);
    await server.start();
    expect(server.running).toBe(true);
    expect(server.pid).not.toBe(firstPid);
    expect(await ping(server.url)).toBe('PONG');
  });

  it('stops the process and removes its data dir, idempotently', async () => {
    server = await startRedisServer();
    const { pid, dataDir } = server;
    expect(existsSync(dataDir)).toBe(true);
    await server.stop();
    await server.stop();
    expect(isAlive(pid!)).toBe(false);
    expect(existsSync(dataDir)).toBe(false);
    await expect(server.start()).rejects.toThrow(/stopped for good/);
    server = undefined;
  });

  it('says how to install redis-server when the binary is missing', async () => {
    await expect(startRedisServer({ binary: '/nonexistent/redis-server' })).rejects.toThrow(
      RedisServerNotFoundError,
    );
    await expect(startRedisServer({ binary: '/nonexistent/redis-server' })).rejects.toThrow(
      /apt-get install -y redis-server.*REDIS_SERVER_BIN/s,
    );
  });

  it('leaves no redis-server and, by the next start, no data dir behind when the process that started it is killed', async () => {
    const fixture = join(__dirname, 'fixtures/start-and-wait.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      cwd: join(__dirname, '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [chunk] = await waitForEvent<[Buffer]>(child.stdout, 'data', {
      timeoutMs: 15_000,
      description: 'the fixture to report its redis-server',
    });
    const { pid, dataDir } = JSON.parse(chunk.toString()) as { pid: number; dataDir: string };
    expect(isAlive(pid)).toBe(true);
    expect(basename(dataDir)).toMatch(new RegExp(`^fiml-redis-${child.pid}-\\d+-`));
    child.kill('SIGKILL');
    await waitFor(() => !isAlive(pid), {
      timeoutMs: 5_000,
      description: `redis-server ${pid} to die with its parent`,
    });
    // Its exit hook never ran: the dir stays until a start sweeps it (this one, or any other
    // process's start meanwhile, hence no check that it is still there).
    // A dir whose pid runs (this process) but started at another time: a reused pid, not the owner.
    const reused = mkdtempSync(join(tmpdir(), `fiml-redis-${process.pid}-1-`));
    const kept = await startRedisServer(); // this process runs: its dir stays
    try {
      server = await startRedisServer();
      expect(existsSync(dataDir)).toBe(false);
      expect(existsSync(reused)).toBe(process.platform !== 'linux');
      expect(existsSync(kept.dataDir)).toBe(true);
    } finally {
      await kept.stop();
      rmSync(reused, { recursive: true, force: true });
    }
  });
});

describe('testRedisUrl', () => {
  it('is this worker’s server, started by the global setup', async () => {
    expect(testRedisUrl()).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(await ping(testRedisUrl())).toBe('PONG');
  });
});
