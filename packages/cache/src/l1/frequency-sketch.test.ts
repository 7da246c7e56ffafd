import { describe, expect, it } from '@jest/globals';
import { FrequencySketch } from './frequency-sketch.js';
import { hashString } from '@fiml/market';

describe('FrequencySketch', () => {
  it('counts occurrences and saturates at 15', () => {
    const sketch = new FrequencySketch(64);
    const a = hashString('price:AAPL');
    const b = hashString('price:MSFT');
    expect(sketch.frequency(a)).toBe(0);
    for (let i = 0; i < 5; i++) sketch.increment(a);
    sketch.increment(b);
    expect(sketch.frequency(a)).toBe(5);
    expect(sketch.frequency(b)).toBe(1);
    for (let i = 0; i < 40; i++) sketch.increment(a);
    expect(sketch.frequency(a)).toBe(15);
  });

  it('never underestimates (count-min), and is mostly exact at its design load', () => {
    const sketch = new FrequencySketch(256); // 2 KiB; halves after 2560 additions
    const counts = new Map<number, number>();
    for (let k = 0; k < 256; k++) {
      const h = hashString(`price:K${k}`);
      const n = (k % 7) + 1; // 1..7 each: 1020 additions in all, no halving
      counts.set(h, n);
      for (let j = 0; j < n; j++) sketch.increment(h);
    }
    let exact = 0;
    for (const [h, n] of counts) {
      expect(sketch.frequency(h)).toBeGreaterThanOrEqual(n);
      if (sketch.frequency(h) === n) exact++;
    }
    expect(exact / counts.size).toBeGreaterThan(0.9);
  });

  it('halves every counter after 10 x capacity additions', () => {
    const sketch = new FrequencySketch(8); // one 64-byte block; a sample is 80 additions
    const hot = hashString('hot');
    for (let i = 0; i < 9; i++) sketch.increment(hot);
    for (let i = 0; i < 70; i++) sketch.increment(hashString(`cold${i}`)); // 79 additions
    // 70 keys share hot's block, so collisions may have raised its estimate: read it.
    const before = sketch.frequency(hot);
    expect(before).toBeGreaterThanOrEqual(9);
    expect(before).toBeLessThan(15);
    sketch.increment(hot); // the 80th addition: +1 on each of hot's counters, then all halve
    expect(sketch.frequency(hot)).toBe(Math.floor((before + 1) / 2));
  });

  it('takes 8 bytes per entry of capacity, rounded up to a power of two', () => {
    expect(new FrequencySketch(1000).byteLength).toBe(8 * 1024);
    expect(new FrequencySketch(1).byteLength).toBe(64);
  });
});
