import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@fiml/config';
import { batchSchedulerEnv } from '../src/config.js';

const valid = {
  REDIS_QUEUE_URL: 'redis://127.0.0.1:6379/0',
  REDIS_CACHE_URL: 'redis://127.0.0.1:6379/1',
};

function problemsOf(fn: () => unknown): Map<string, string> {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    return new Map(e.problems.map((p) => [p.variable, p.problem]));
  }
  throw new Error('expected a ConfigError');
}

describe('batch-scheduler environment', () => {
  it('batch-scheduler bounds its concurrency', () => {
    expect(batchSchedulerEnv.parse(valid).WORKER_CONCURRENCY).toBe(8);
    expect(
      problemsOf(() => batchSchedulerEnv.parse({ ...valid, WORKER_CONCURRENCY: '0' })),
    ).toEqual(new Map([['WORKER_CONCURRENCY', '"0" is invalid (below the minimum 1)']]));
  });
});
