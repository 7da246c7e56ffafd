import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import {
  createCloser,
  createLogger,
  createMetricsRegistry,
  createShutdown,
  startWorkerOps,
} from './index.js';

function setup(timeoutMs = 1_000) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    service: 'test',
    destination: new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        cb();
      },
    }),
  });
  const exits: number[] = [];
  const shutdown = createShutdown({ logger, timeoutMs, exit: (code) => exits.push(code) });
  return { shutdown, exits, lines };
}

describe('createShutdown', () => {
  it('closes resources in reverse order of registration and exits 0', async () => {
    const { shutdown, exits, lines } = setup();
    const order: string[] = [];
    shutdown.register('redis', () => Promise.resolve(order.push('redis')));
    shutdown.register('worker', () => Promise.resolve(order.push('worker')));
    shutdown.register('metrics server', () => Promise.resolve(order.push('metrics server')));
    await shutdown.run('SIGTERM');
    expect(order).toEqual(['metrics server', 'worker', 'redis']);
    expect(exits).toEqual([0]);
    expect(lines.filter((l) => l.msg === 'closed').map((l) => l.step)).toEqual(order);
  });

  it('keeps closing after a failed step, then exits 1', async () => {
    const { shutdown, exits, lines } = setup();
    const order: string[] = [];
    shutdown.register('redis', () => Promise.resolve(order.push('redis')));
    shutdown.register('worker', () => Promise.reject(new Error('stuck')));
    await shutdown.run('SIGTERM');
    expect(order).toEqual(['redis']);
    expect(exits).toEqual([1]);
    expect(lines.find((l) => l.msg === 'failed to close')).toMatchObject({
      step: 'worker',
      level: 'error',
    });
  });

  it('exits 1 when closing outlives the bound', async () => {
    const { shutdown, exits } = setup(50);
    shutdown.register('hang', () => new Promise(() => undefined));
    await shutdown.run('SIGTERM');
    expect(exits).toEqual([1]);
  });

  it('runs once however often it is asked', async () => {
    const { shutdown, exits } = setup();
    let closes = 0;
    shutdown.register('x', () => Promise.resolve(closes++));
    await Promise.all([shutdown.run('SIGTERM'), shutdown.run('SIGINT')]);
    expect(closes).toBe(1);
    expect(exits).toEqual([0]);
  });
});

describe('startWorkerOps', () => {
  function context(exits: number[]) {
    const logger = createLogger({ service: 'test', level: 'silent' });
    const shutdown = createShutdown({ logger, timeoutMs: 1_000, exit: (code) => exits.push(code) });
    return { logger, registry: createMetricsRegistry({ service: 'test' }), shutdown };
  }

  it('serves /readyz and closes the server and what feeds it in one shutdown step', async () => {
    const exits: number[] = [];
    const ctx = context(exits);
    let fedClosed = false;
    const ops = await startWorkerOps(ctx, {
      config: { METRICS_HOST: '127.0.0.1', METRICS_PORT: 0 },
      readiness: { queueRedis: () => Promise.resolve({ ok: true }) },
      closeWithServer: () => Promise.resolve((fedClosed = true)),
    });
    expect((await fetch(`${ops!.url}/readyz`)).status).toBe(200);
    await ctx.shutdown.run('test');
    expect(fedClosed).toBe(true);
    expect(exits).toEqual([0]);
    await expect(fetch(`${ops!.url}/healthz`)).rejects.toThrow();
  });

  it('shuts the process down with status 1 when the port is taken', async () => {
    const first = context([]);
    const taken = await startWorkerOps(first, {
      config: { METRICS_HOST: '127.0.0.1', METRICS_PORT: 0 },
      readiness: {},
    });
    const exits: number[] = [];
    const second = await startWorkerOps(context(exits), {
      config: { METRICS_HOST: '127.0.0.1', METRICS_PORT: taken!.port },
      readiness: {},
    });
    expect(second).toBeUndefined();
    expect(exits).toEqual([1]);
    await taken!.close();
  });
});

describe('createCloser', () => {
  it('closes in reverse order, keeps going past a failed step, rejects with it, and runs once', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({
      service: 'test',
      destination: new Writable({
        write(chunk: Buffer, _e, cb) {
          lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          cb();
        },
      }),
    });
    const closer = createCloser(logger);
    const order: string[] = [];
    closer.add('redis', () => order.push('redis'));
    closer.add('worker', () => Promise.reject(new Error('stuck')));
    closer.add('queue', () => Promise.resolve(order.push('queue')));
    await expect(closer.close()).rejects.toThrow('stuck');
    await expect(closer.close()).rejects.toThrow('stuck');
    expect(order).toEqual(['queue', 'redis']);
    expect(lines.filter((l) => l.msg === 'closed').map((l) => l.step)).toEqual(['queue', 'redis']);
    expect(lines.find((l) => l.msg === 'failed to close')).toMatchObject({ step: 'worker' });
  });
});
