import { describe, expect, it } from '@jest/globals';
import { GhostHistory } from './ghost-history.js';
import { hashString } from '@fiml/market';

describe('GhostHistory', () => {
  it('answers once for a key evicted within the horizon', () => {
    const ghosts = new GhostHistory(3);
    const a = hashString('a');
    ghosts.record(a);
    ghosts.record(hashString('b'));
    ghosts.record(hashString('c'));
    expect(ghosts.take(a)).toBe(true); // 2 evictions ago: within 3
    expect(ghosts.take(a)).toBe(false); // already answered
    expect(ghosts.take(hashString('never'))).toBe(false);
  });

  it('forgets keys evicted longer ago than the horizon', () => {
    const ghosts = new GhostHistory(3);
    const a = hashString('a');
    ghosts.record(a);
    for (const k of ['b', 'c', 'd']) ghosts.record(hashString(k));
    expect(ghosts.take(a)).toBe(false); // 3 evictions ago
  });

  it('holds 4 x horizon buckets of 12 bytes (at least 16)', () => {
    expect(new GhostHistory(50).byteLength).toBe(256 * 12);
    expect(new GhostHistory(1).byteLength).toBe(16 * 12);
  });
});
