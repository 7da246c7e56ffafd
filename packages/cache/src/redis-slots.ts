// The declaration must travel with this module to packages that type-check it from source.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./types/cluster-key-slot.d.ts" />
import calculateSlot from 'cluster-key-slot';
import type { Cluster } from 'ioredis';

/**
 * Groups items by the hash slot of their Redis key: on a Cluster one command
 * (MGET, UNLINK, a script) must not span slots. Order within a group is kept.
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

/**
 * Groups items for pipelines on a Cluster: one group per node that serves
 * their slots now (ioredis sends a pipeline to one node and refuses one
 * whose keys belong to several: "All keys in the pipeline should belong to
 * the same slots allocation group"), and within it one sub-group per slot
 * (each command of the pipeline must still keep to one slot). So N keys cost
 * one round trip per master, not one per slot.
 *
 * The node comes from the client's slot map, read here synchronously: build
 * and `exec` each pipeline in the same turn, and the map cannot change in
 * between. A slot the map does not know yet (the client is still connecting)
 * gets a group of its own; ioredis waits for the map before sending it.
 */
export function groupByNode<T>(
  cluster: Cluster,
  items: readonly T[],
  redisKeyOf: (item: T) => string,
): T[][][] {
  const nodes = new Map<string, Map<number, T[]>>();
  for (const item of items) {
    const slot = calculateSlot(redisKeyOf(item));
    const owners = cluster.slots[slot];
    const node = owners && owners.length > 0 ? owners.join(';') : `slot:${slot}`;
    let slots = nodes.get(node);
    if (!slots) nodes.set(node, (slots = new Map<number, T[]>()));
    let group = slots.get(slot);
    if (!group) slots.set(slot, (group = []));
    group.push(item);
  }
  return [...nodes.values()].map((slots) => [...slots.values()]);
}
