import { afterEach, describe, expect, it } from '@jest/globals';
import { capturingLogger, type LogLine } from '@fiml/runtime/testing';
import { startRedisServer, waitFor } from '@fiml/testing';
import { asClient, startHarness, type Harness } from './harness.js';

const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

/** Single, news and batch reads: every path that touches the cache Redis (L2, locks, limits, shares). */
async function reads(h: Harness, round: number): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await h.app.inject({ url: `/v1/data/price/S${i}`, headers: asClient });
    await h.app.inject({ url: `/v1/data/news/N${i}`, headers: asClient });
    await h.app.inject({ url: `/v1/data/price?symbols=A${round}${i},B${i}`, headers: asClient });
  }
}

const problems = (lines: readonly LogLine[]) =>
  lines.filter((l) => ['warn', 'error', 'fatal'].includes(l.level));

describe('the api during a cache Redis outage', () => {
  it('says so in a few lines, each once however many reads fail, and says when it is over', async () => {
    const { logger, lines } = capturingLogger({ level: 'info', service: 'api' });
    const server = await startRedisServer();
    open.push(() => server.stop());
    // A request limit small enough that its leases (blocks of 1 %) run out, and reach for the
    // dead Redis, within the first round of the outage.
    const h = await startHarness({
      env: { REDIS_CACHE_URL: server.url, API_RATE_LIMIT_PER_MINUTE: '600' },
      logger,
    });
    open.push(() => h.close());
    await reads(h, 0);
    const before = lines.length;
    expect(problems(lines)).toEqual([]);

    await server.kill();
    await reads(h, 1);
    const early = problems(lines.slice(before)).length;
    await reads(h, 2);
    await reads(h, 3);
    const outage = problems(lines.slice(before));

    // Bounded: ninety more failing reads added no line.
    expect(outage).toHaveLength(early);
    const messages = outage.map((l) => l.msg);
    expect(new Set(messages).size).toBe(messages.length);
    expect(messages).toEqual(
      expect.arrayContaining([
        'redis connection lost; reconnecting with backoff',
        'cache Redis circuit open: L2 is skipped',
      ]),
    );
    // Each says what it means for reads in words, not in a stack trace per failed command.
    expect(messages.filter((m) => m === 'cache error')).toEqual([]);
    expect(outage.length).toBeLessThanOrEqual(7);

    await server.start();
    await waitFor(() => lines.some((l) => l.msg === 'redis connection restored'), {
      timeoutMs: 15_000,
      description: 'the restored line',
    });
  });
});
