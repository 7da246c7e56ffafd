import { afterEach, describe, expect, it } from '@jest/globals';
import { capturingLogger } from '@fiml/runtime/testing';
import { createRedisConnection } from '@fiml/runtime';
import { startRedisServer, uniqueName, waitFor, waitForEvent } from '@fiml/testing';
import { QueueName, RefreshProducer, createJobWorker, refreshRequestSchema } from '../src/index.js';
import { dyingWorker } from '../src/testing.js';

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
    const timings = { lockDurationMs: 1_000, stalledIntervalMs: 500 };
    const dead = dyingWorker({
      queueName: QueueName.REFRESH,
      prefix,
      connection: connect('dead'),
      ...timings,
    });
    open.push(() => dead.close());
    const producer = new RefreshProducer({ connection: connect('producer'), prefix });
    open.push(() => producer.close());
    const { jobId } = await producer.enqueueRefresh({
      symbols: ['AAPL'],
      assetType: 'equity',
      dataType: 'price',
      source: 'test',
    });
    expect(await dead.died).toBe(jobId);

    const live = createJobWorker({
      queueName: QueueName.REFRESH,
      prefix,
      connection: connect('live'),
      schema: refreshRequestSchema,
      logger,
      process: () => Promise.resolve('done'),
      ...timings,
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
