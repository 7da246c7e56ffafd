import { gaussian, hash32 } from './random.js';

/**
 * A Gaussian random walk per symbol that can be read at any step in
 * O(log steps) without walking there: Lévy's construction of Brownian motion.
 * The value at the ends of a segment of 2^25 steps is drawn first; the value
 * at the midpoint of any interval is the mean of its ends plus a draw with
 * variance (length / 4); descending 25 halvings reaches any integer step.
 * Every draw is a hash of (seed, symbol, position), so the walk is a pure
 * function: two processes, or one process asked out of order, agree.
 *
 * With one-minute steps a segment covers about 63 years from 1970.
 */

const LEVELS = 25;
const SPAN = 2 ** LEVELS;
const SEGMENT_TAG = 0x5e9;

/** The walk's value at integer `step` (>= 0): a sum of `step` standard normal increments. */
export function walkAt(seed: number, symbol: number, step: number): number {
  const k = Math.max(0, Math.floor(step));
  const segment = Math.floor(k / SPAN);
  let start = 0;
  for (let j = 0; j < segment; j += 1)
    start += Math.sqrt(SPAN) * gaussian(hash32(seed, symbol, SEGMENT_TAG, j));
  const end = start + Math.sqrt(SPAN) * gaussian(hash32(seed, symbol, SEGMENT_TAG, segment));
  const r = k - segment * SPAN;
  let a = 0;
  let b = SPAN;
  let wa = start;
  let wb = end;
  // Each midpoint is a distinct integer inside the segment, so it names its own draw.
  for (;;) {
    if (r === a) return wa;
    if (r === b) return wb;
    const m = (a + b) / 2;
    const wm = (wa + wb) / 2 + Math.sqrt((b - a) / 4) * gaussian(hash32(seed, symbol, segment, m));
    if (r < m) {
      b = m;
      wb = wm;
    } else {
      a = m;
      wa = wm;
    }
  }
}
