import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { fitGcToCpus } from './index.js';

describe('fitGcToCpus', () => {
  it('keeps parallel scavenges with two CPUs or more, and turns them off on one', () => {
    expect(fitGcToCpus(2)).toBe(false);
    expect(fitGcToCpus(8)).toBe(false);
    // Sets a V8 flag of this test process: scavenges here run on the main thread from now on.
    expect(fitGcToCpus(1)).toBe(true);
  });

  it('sees the CPUs a pinned process may use (its premise: availableParallelism follows the affinity)', () => {
    const pinned = spawnSync(
      'taskset',
      ['-c', '0', process.execPath, '-p', 'require("node:os").availableParallelism()'],
      { encoding: 'utf8' },
    );
    if (pinned.error) {
      console.warn(`taskset is unavailable (${pinned.error.message}); premise not checked`);
      return;
    }
    expect(pinned.stdout.trim()).toBe('1');
  });
});
