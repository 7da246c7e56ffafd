import { afterEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { checkMetrics, findPromtool, readSample } from '@fiml/observability/promtool';
import { startServiceProcess, testRedisUrl, uniqueName, waitFor } from '@fiml/testing';

const open: (() => void)[] = [];
afterEach(() => {
  for (const close of open.splice(0).reverse()) close();
});

const promtool = findPromtool();
if (!promtool) {
  process.stdout.write(
    'promtool not found (Debian package "prometheus"; .ci/run installs it): skipping the warmer /metrics lint\n',
  );
}

(promtool ? describe : describe.skip)('the warmer /metrics', () => {
  it('exports the warm queue and the cycles its worker ran, and passes promtool check metrics', async () => {
    const proc = startServiceProcess({
      entry: join(__dirname, '../src/main.ts'),
      cwd: join(__dirname, '..'),
      env: {
        REDIS_QUEUE_URL: testRedisUrl(),
        REDIS_CACHE_URL: testRedisUrl(),
        QUEUE_PREFIX: uniqueName('warm'),
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: '0',
        // Every second, so a cycle runs during the test.
        CACHE_WARMING_SCHEDULE: '* * * * * *',
      },
    });
    open.push(() => proc.kill());
    const ready = await proc.waitForLog((r) => r.msg === 'warmer ready');
    const metricsUrl = ready.metrics as string;

    const queue = { queue: 'warm', service: 'warmer' };
    const text = await waitFor(
      async () => {
        const body = await (await fetch(metricsUrl)).text();
        // A run finished (the first may fail while the cache Redis is still connecting):
        // the worker's series and the warm metrics are fed.
        return (readSample(body, 'fiml_warm_runs_total', { mode: 'scheduled', outcome: 'ran' }) ??
          0) >= 1 && (readSample(body, 'fiml_queue_job_wait_seconds_count', queue) ?? 0) >= 1
          ? body
          : undefined;
      },
      { timeoutMs: 15_000, description: 'a finished warming cycle on /metrics' },
    );
    // Counts were read for every state (the Job Scheduler keeps the next cycle delayed).
    expect(readSample(text, 'fiml_queue_jobs', { ...queue, state: 'delayed' })).toBeDefined();
    expect(readSample(text, 'fiml_queue_jobs_completed_total', queue)).toBeDefined();
    expect(
      readSample(text, 'fiml_queue_jobs_failed_total', { ...queue, final: 'true' }),
    ).toBeDefined();
    expect(text).not.toMatch(/^fiml_cache_/m);
    // The run was counted, and the ledger's books are exported (nothing warmed yet).
    expect(readSample(text, 'fiml_warm_entries', { outcome: 'warmed' })).toBe(0);
    expect(readSample(text, 'fiml_warm_precision')).toBeNaN();

    expect(await checkMetrics(text, promtool!)).toEqual({ exitCode: 0, problems: [] });
  });
});
