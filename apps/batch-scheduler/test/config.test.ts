import { describe, expect, it } from '@jest/globals';
import { REQUIRED_REDIS_URLS, configProblems } from '@fiml/config/testing';
import { batchSchedulerEnv } from '../src/config.js';

const valid = REQUIRED_REDIS_URLS;
const problemsOf = configProblems;

describe('batch-scheduler environment', () => {
  it('batch-scheduler bounds its concurrency', () => {
    expect(batchSchedulerEnv.parse(valid).WORKER_CONCURRENCY).toBe(8);
    expect(
      problemsOf(() => batchSchedulerEnv.parse({ ...valid, WORKER_CONCURRENCY: '0' })),
    ).toEqual(new Map([['WORKER_CONCURRENCY', '"0" is invalid (below the minimum 1)']]));
  });
});
