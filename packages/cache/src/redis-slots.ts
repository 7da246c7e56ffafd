// The declaration must travel with this module to packages that type-check it from source.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./types/cluster-key-slot.d.ts" />
import calculateSlot from 'cluster-key-slot';

/**
 * Groups items by the hash slot of their Redis key: on a Cluster a pipeline,
 * MGET or script must not span slots. Order within a group is kept.
 */
export function groupBySlot<T>(items: readonly T[], redisKeyOf: (item: T) => string): T[][] {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const slot = calculateSlot(redisKeyOf(item));
    let group = groups.get(slot);
    if (!group) groups.set(slot, (group = []));
    group.push(item);
  }
  return [...groups.values()];
}
