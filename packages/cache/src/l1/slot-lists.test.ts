import { describe, expect, it } from '@jest/globals';
import { NONE, SlotLists } from './slot-lists.js';

/** Walks a list head to tail through the links. */
const walk = (lists: SlotLists, list: number): number[] => {
  const out: number[] = [];
  let slot = lists.head[list]!;
  for (let i = 0; i < lists.length[list]!; i++) {
    out.push(slot);
    slot = lists.next[slot]!;
  }
  expect(out.at(-1) ?? NONE).toBe(lists.tail[list]);
  return out;
};

describe('SlotLists', () => {
  it('appends, unlinks from head, middle and tail, and moves to the tail', () => {
    const lists = new SlotLists(8, 2);
    for (const slot of [0, 1, 2, 3]) lists.push(1, slot);
    expect(walk(lists, 1)).toEqual([0, 1, 2, 3]);
    lists.moveToTail(0);
    lists.moveToTail(2);
    lists.moveToTail(2);
    expect(walk(lists, 1)).toEqual([1, 3, 0, 2]);
    lists.unlink(3);
    lists.unlink(1);
    lists.unlink(2);
    expect(walk(lists, 1)).toEqual([0]);
    lists.unlink(0);
    expect([lists.head[1], lists.tail[1], lists.length[1]]).toEqual([NONE, NONE, 0]);
    lists.unlink(0); // on no list: no-op
    expect(lists.length[1]).toBe(0);
  });

  it('moves slots between lists and splices whole lists', () => {
    const lists = new SlotLists(8, 3);
    for (const slot of [0, 1, 2]) lists.push(1, slot);
    for (const slot of [3, 4]) lists.push(2, slot);
    lists.move(1, 2);
    expect([walk(lists, 1), walk(lists, 2)]).toEqual([
      [0, 2],
      [3, 4, 1],
    ]);
    lists.spliceInto(2, 1);
    expect(walk(lists, 1)).toEqual([0, 2, 3, 4, 1]);
    expect(walk(lists, 2)).toEqual([]);
    lists.spliceInto(1, 3); // into an empty list
    expect(walk(lists, 3)).toEqual([0, 2, 3, 4, 1]);
  });

  it('uses 16-bit links while slot numbers fit, 32-bit beyond', () => {
    expect(new SlotLists(0x10000, 1).next).toBeInstanceOf(Uint16Array);
    expect(new SlotLists(0x10001, 1).next).toBeInstanceOf(Int32Array);
    const big = new SlotLists(70_000, 1);
    big.push(1, 69_999);
    big.push(1, 0);
    big.unlink(69_999);
    expect(walk(big, 1)).toEqual([0]);
  });
});
