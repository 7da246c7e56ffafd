import { afterEach, describe, expect, it } from '@jest/globals';
import { Worker } from 'bullmq';
import { capturingLogger } from '@fiml/runtime/testing';
import { createRedisConnection } from '@fiml/runtime';
import { startRedisServer, uniqueName, waitFor, waitForEvent } from '@fiml/testing';
import {
  QueueName,
  RefreshProducer,
  createJobWorker,
  queuePrefix,
  refreshRequestSchema,
} from '../src/index.js';

const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

describe('a job whose worker died', () => {
  it('is taken over by a live worker once its lock lapses, and the take-over is logged with the job', async () => {
    const server = await startRedisServer();
    open.push(() => server.stop());
    const { logger, lines } = capturingLogger({ level: 'info' });
    const connect = (name: string) => {
      const connection = createRedisConnection(server.url, { role: 'worker', name, logger });
      open.push(() => Promise.resolve(connection.disconnect()));
      return connection;
    };
    const prefix = uniqueName('stalled');
    const timings = { lockDuration: 1_000, stalledInterval: 500 };
    // The worker that dies: it takes the job and never finishes it; closed by
    // force, it stops renewing its lock, as a killed process would.
    const dead = new Worker(QueueName.REFRESH, () => new Promise<never>(() => undefined), {
      connection: connect('dead'),
      prefix: queuePrefix(prefix),
      ...timings,
    });
    open.push(() => dead.close(true));
    const taken = waitForEvent(dead, 'active', { timeoutMs: 10_000 });
    const producer = new RefreshProducer({ connection: connect('producer'), prefix });
    open.push(() => producer.close());
    const { jobId } = await producer.enqueueRefresh({
      symbols: ['AAPL'],
      assetType: 'equity',
      dataType: 'price',
      source: 'test',
    });
    await taken;
    await dead.close(true);

    const live = createJobWorker({
      queueName: QueueName.REFRESH,
      prefix,
      connection: connect('live'),
      schema: refreshRequestSchema,
      logger,
      process: () => Promise.resolve('done'),
      lockDurationMs: timings.lockDuration,
      stalledIntervalMs: timings.stalledInterval,
    });
    open.push(() => live.close());
    const [completed] = await waitForEvent<[{ id?: string }]>(live.worker, 'completed', {
      timeoutMs: 10_000,
    });
    expect(completed.id).toBe(jobId);
    const logged = await waitFor(
      () => lines.find((line) => String(line.msg).startsWith('job stalled')),
      { timeoutMs: 5_000, description: 'the take-over logged' },
    );
    expect(logged).toMatchObject({ level: 'warn', jobId, queue: QueueName.REFRESH });
  });
});
