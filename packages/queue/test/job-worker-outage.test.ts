import { afterEach, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { capturingLogger } from '@fiml/runtime/testing';
import {
  startRedisServer,
  uniqueName,
  waitFor,
  waitForEvent,
  withDeadline,
  type RedisServer,
} from '@fiml/testing';
import { QueueName, RefreshProducer, createJobWorker, refreshRequestSchema } from '../src/index.js';
import { createRedisConnection, isConnectionError } from '@fiml/runtime';

const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

async function privateServer(): Promise<RedisServer> {
  const server = await startRedisServer();
  open.push(() => server.stop());
  return server;
}

function setup(server: RedisServer, options: { shutdownTimeoutMs?: number } = {}) {
  const { logger, lines } = capturingLogger({ level: 'info' });
  // A standalone URL opens a standalone client.
  const connection = createRedisConnection(server.url, {
    role: 'worker',
    name: 'w',
    logger,
  }) as Redis;
  open.push(() => Promise.resolve(connection.disconnect()));
  const prefix = uniqueName('outage');
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  open.push(() => Promise.resolve(release()));
  const worker = createJobWorker({
    queueName: QueueName.REFRESH,
    prefix,
    connection,
    schema: refreshRequestSchema,
    logger,
    // A job named HOLD runs until the test releases it.
    process: async (request) => {
      if (request.symbols[0] === 'HOLD') await held;
      return 'done';
    },
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? 30_000,
  });
  open.push(() => worker.close());
  return { lines, connection, worker, prefix, release };
}

/** Resolves once the connection has tried (and failed) to reconnect `attempts` times. */
async function reconnectAttempts(connection: Redis, attempts: number): Promise<void> {
  let seen = 0;
  const count = () => seen++;
  connection.on('reconnecting', count);
  try {
    await waitFor(() => seen >= attempts, {
      timeoutMs: 15_000,
      description: `${attempts} reconnection attempts`,
    });
  } finally {
    connection.off('reconnecting', count);
  }
}

async function enqueue(prefix: string, url: string, symbol: string): Promise<void> {
  const producer = new RefreshProducer({ connection: url, prefix });
  try {
    await producer.enqueueRefresh({
      symbols: [symbol],
      assetType: 'equity',
      dataType: 'price',
      source: 'test',
    });
  } finally {
    await producer.close();
  }
}

describe('a job worker during a queue Redis outage', () => {
  it('logs one warning when the connection is lost and one line when it is back, nothing between', async () => {
    const server = await privateServer();
    const { lines, connection, worker } = setup(server);
    await worker.worker.waitUntilReady();
    const before = lines.length;

    await server.kill();
    // Every attempt fails on both of the worker's connections (BullMQ's blocking one too).
    await reconnectAttempts(connection, 5);
    await server.start();
    await waitFor(() => lines.some((l) => l.msg === 'redis connection restored'), {
      timeoutMs: 15_000,
      description: 'the restored line',
    });

    const outage = lines.slice(before);
    expect(
      outage
        .filter((l) => l.level === 'warn' || l.level === 'error' || l.level === 'fatal')
        .map((l) => l.msg),
    ).toEqual(['redis connection lost; reconnecting with backoff']);
    expect(outage.filter((l) => l.level === 'info').map((l) => l.msg)).toEqual([
      'redis connection restored',
    ]);

    // BullMQ's fetch loop can stay parked on the blocking connection the outage
    // cut; the close must not wait for it (it once took the whole bound, and its
    // lock timer kept the process alive afterwards).
    await expect(withDeadline(worker.close(), 3_000, 'the close')).resolves.toEqual({
      graceful: true,
    });
  });

  it('closes at once with no active job while Redis is down, and says it stopped gracefully', async () => {
    const server = await privateServer();
    const { lines, connection, worker } = setup(server, { shutdownTimeoutMs: 30_000 });
    await worker.worker.waitUntilReady();
    await server.kill();
    await reconnectAttempts(connection, 2);

    // Today's bound is 30 s; a close that waits for the connection would miss this deadline.
    await expect(withDeadline(worker.close(), 3_000, 'the close')).resolves.toEqual({
      graceful: true,
    });
    expect(lines.some((l) => /outlived/.test(l.msg))).toBe(false);
    expect(lines.find((l) => l.msg === 'worker stopping')).toMatchObject({ activeJobs: 0 });
  });

  it('closes at once with no active job while Redis is up', async () => {
    const server = await privateServer();
    const { worker } = setup(server, { shutdownTimeoutMs: 30_000 });
    await worker.worker.waitUntilReady();
    await expect(withDeadline(worker.close(), 3_000, 'the close')).resolves.toEqual({
      graceful: true,
    });
  });

  it('with Redis down, waits for a job in hand up to the bound, then stops', async () => {
    const server = await privateServer();
    const { lines, worker, prefix } = setup(server, { shutdownTimeoutMs: 300 });
    const active = waitForEvent(worker.worker, 'active', { description: 'the held job' });
    await enqueue(prefix, server.url, 'HOLD');
    await active;
    // BullMQ emits `active` just before it calls the processor.
    await waitFor(() => worker.activeJobs === 1, {
      timeoutMs: 5_000,
      description: 'the held job in the processor',
    });

    await server.kill();
    await expect(withDeadline(worker.close(), 5_000, 'the close')).resolves.toEqual({
      graceful: false,
    });
    expect(lines.find((l) => /outlived/.test(l.msg))).toMatchObject({
      level: 'warn',
      activeJobs: 1,
    });
  });
});

describe('isConnectionError', () => {
  it('tells an unreachable Redis from other errors', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), {
      code: 'ECONNREFUSED',
    });
    expect(isConnectionError(refused)).toBe(true);
    expect(isConnectionError(new Error('Connection is closed.'))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('read'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isConnectionError(new Error('LOADING Redis is loading the dataset in memory'))).toBe(
      true,
    );
    expect(isConnectionError(new Error('Missing lock for job 1. moveToFinished'))).toBe(false);
    expect(isConnectionError(new Error('ERR unknown command'))).toBe(false);
    expect(isConnectionError('ECONNREFUSED')).toBe(false);
  });
});
