import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startServiceProcess, testRedisUrl, uniqueName } from '@fiml/testing';
import { QueueName, queuePrefix } from '../src/index.js';

describe('examples/enqueue-refresh.ts', () => {
  it('runs as documented: queues one request and refuses a bad one', async () => {
    const prefix = uniqueName('example');
    const example = startServiceProcess({
      entry: join(__dirname, '../examples/enqueue-refresh.ts'),
      cwd: join(__dirname, '..'),
      env: { REDIS_QUEUE_URL: testRedisUrl(), QUEUE_PREFIX: prefix },
    });
    const output = [
      await example.waitForLog((r) => String(r.msg).startsWith('queued refresh')),
      await example.waitForLog((r) => String(r.msg).startsWith('refused before queueing')),
    ].map((r) => r.msg);
    await expect(example.exited).resolves.toEqual({ code: 0, signal: null });
    expect(output[0]).toMatch(/^queued refresh \d+ for AAPL, MSFT, NVDA \(urgent\)$/);
    expect(output[1]).toContain('dataType: one of price, fundamentals, news');

    const connection = new Redis(testRedisUrl());
    const queue = new Queue(QueueName.REFRESH, { connection, prefix: queuePrefix(prefix) });
    try {
      expect(await queue.getJobCounts('prioritized')).toEqual({ prioritized: 1 });
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });
});
