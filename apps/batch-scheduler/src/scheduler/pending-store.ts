import type { Cluster, Redis } from 'ioredis';
import type { AssetType, DataType } from '@fiml/market';
import { queuePrefix } from '@fiml/queue';
import type { GroupSnapshot } from './flush-policy.js';
import { ADD_PENDING, CLAIM, FORGET_FRESH, RENEW, SETTLE, SWEEP_FRESH } from './pending-scripts.js';

/** One group: the keys that go upstream together. */
export interface GroupKey {
  readonly provider: string;
  readonly assetType: AssetType;
  readonly dataType: DataType;
}

export const PRIORITY_RANK = { urgent: 0, normal: 1, low: 2 } as const;
export type PriorityRank = 0 | 1 | 2;

/** A key to add to a group. */
export interface PendingKey {
  readonly symbol: string;
  readonly priority: PriorityRank;
  /** Epoch ms; undefined for none. */
  readonly deadline?: number;
  /** Asked for by the warmer (a guess that it will be read), not by a reader. */
  readonly warm?: boolean;
}

/** A key a batch claimed. */
export interface ClaimedKey {
  readonly symbol: string;
  readonly priority: PriorityRank;
  /** When it was first asked for, or when a retry may go (epoch ms). */
  readonly firstAt: number;
  readonly deadline?: number | undefined;
  /** Upstream attempts already made for it. */
  readonly attempts: number;
  /** Only the warmer asked for it: its entry is written as the warmer's. */
  readonly warm: boolean;
}

export type AddOutcome = 'queued' | 'merged' | 'in-flight' | 'fresh';

export interface ClaimOptions {
  /** Most keys to claim. */
  readonly max: number;
  /** Whether low-priority keys may go. */
  readonly includeLow: boolean;
  /** Epoch ms the claimed keys' lease ends. */
  readonly leaseUntil: number;
  /** The batch's token (its job id). */
  readonly token: string;
  /** Keys whose deadline is before this go first. */
  readonly deadlineBefore: number;
}

/** What becomes of a claimed key when its batch settles. */
export type Settlement =
  /** `freshUntil`: a non-urgent request for the key is skipped until then. */
  | { readonly symbol: string; readonly action: 'done'; readonly freshUntil?: number }
  /** Failed: back to pending, its attempt counted, to go again at `at`. */
  | { readonly symbol: string; readonly action: 'retry'; readonly at: number }
  /** Not fetched (no budget, a 429, its batch lost): back to pending as it was. */
  | { readonly symbol: string; readonly action: 'requeue' };

/** What a settle did: keys the token still owned, and how many of them went back to pending as they were. */
export interface SettleResult {
  readonly settled: number;
  readonly requeued: number;
}

/** A batch whose lease ran out, and the keys it claimed. */
export interface ExpiredBatch {
  readonly token: string;
  readonly symbols: string[];
}

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

/** The Redis keys of one group (see the layout on PendingStore). */
interface GroupRedisKeys {
  readonly u: string;
  readonly n: string;
  readonly l: string;
  readonly state: string;
  readonly dl: string;
  readonly leases: string;
  readonly claims: string;
  readonly sweepCursor: string;
}

const ADD_OUTCOMES: readonly AddOutcome[] = ['queued', 'merged', 'in-flight', 'fresh'];

/**
 * The batch-scheduler's pending keys, in the queue Redis (noeviction, AOF:
 * a pending request must not be evicted or lost in a restart). Per group:
 *
 *   <{prefix}>:sched:groups                   SET of group ids
 *   <{prefix}>:sched:<group>:u|n|l            ZSET symbol -> first asked (per priority)
 *   <{prefix}>:sched:<group>:state            HASH symbol -> its state: pending "priority|firstAt|deadline|attempts|warm",
 *                                                in flight "@token|" + that, fresh "=until"
 *   <{prefix}>:sched:<group>:dl               ZSET symbol -> deadline (pending keys that have one)
 *   <{prefix}>:sched:<group>:leases           ZSET batch token -> lease end (one per batch in flight)
 *   <{prefix}>:sched:<group>:claims           HASH batch token -> its symbols, space-separated
 *   <{prefix}>:sched:<group>:state-sweep      the cursor of the sweep of past fresh marks
 *
 * A pending key is in exactly one priority set; an in-flight key in none.
 * Every change is one Lua script (pending-scripts.ts), so replicas adding,
 * claiming and settling at once never lose, duplicate or double-claim a key.
 * One state field per key keeps the per-key work of a script to one lookup
 * and one write per step, and a lease per batch (not per key) keeps renewing
 * and releasing to one command. All keys carry the queue prefix's hash tag:
 * one Cluster slot, like BullMQ's.
 */
export class PendingStore {
  readonly #redis: Redis | Cluster;
  readonly #base: string;

  constructor(options: { redis: Redis | Cluster; prefix: string }) {
    this.#redis = options.redis;
    this.#base = `${queuePrefix(options.prefix)}:sched`;
    for (const [name, lua] of Object.entries({
      schedAdd: ADD_PENDING,
      schedClaim: CLAIM,
      schedRenew: RENEW,
      schedSettle: SETTLE,
      schedForgetFresh: FORGET_FRESH,
      schedSweepFresh: SWEEP_FRESH,
    })) {
      this.#redis.defineCommand(name, { lua });
    }
  }

  static groupId(group: GroupKey): string {
    return `${group.provider}:${group.assetType}:${group.dataType}`;
  }

  static parseGroupId(id: string): GroupKey | undefined {
    const [provider, assetType, dataType] = id.split(':');
    if (!provider || !assetType || !dataType) return undefined;
    return { provider, assetType: assetType as AssetType, dataType: dataType as DataType };
  }

  /**
   * Adds keys; resolves each key's outcome and how many urgent and normal keys
   * the group now holds. The script call is issued before this returns
   * (nothing is awaited ahead of it): the intake relies on that to complete a
   * job on the same connection behind its add.
   */
  async add(
    group: GroupKey,
    keys: readonly PendingKey[],
    now: number,
  ): Promise<{ outcomes: AddOutcome[]; nonLowPending: number }> {
    if (keys.length === 0) return { outcomes: [], nonLowPending: 0 };
    const k = this.#keys(group);
    const args: (string | number)[] = [PendingStore.groupId(group), Math.floor(now)];
    // Runs of keys asked for alike (a request's keys share priority, deadline
    // and warm): each run's fields go once, then its symbols.
    let countAt = -1;
    let last: PendingKey | undefined;
    for (const key of keys) {
      if (
        !last ||
        key.priority !== last.priority ||
        (key.deadline ?? 0) !== (last.deadline ?? 0) ||
        !key.warm !== !last.warm
      ) {
        countAt = args.length;
        args.push(0, key.priority, Math.floor(key.deadline ?? 0), key.warm ? 1 : 0);
        last = key;
      }
      args.push(key.symbol);
      args[countAt] = (args[countAt] as number) + 1;
    }
    const replies = (await this.#call('schedAdd')(
      6,
      `${this.#base}:groups`,
      k.u,
      k.n,
      k.l,
      k.state,
      k.dl,
      ...args,
    )) as number[];
    const nonLowPending = replies.pop() ?? 0;
    return {
      outcomes: replies.map((r) => ADD_OUTCOMES[r] ?? 'queued'),
      nonLowPending,
    };
  }

  async groups(): Promise<GroupKey[]> {
    const ids = await this.#redis.smembers(`${this.#base}:groups`);
    return ids.flatMap((id) => {
      const group = PendingStore.parseGroupId(id);
      return group ? [group] : [];
    });
  }

  /** Counts and ages of a group, in one round trip. */
  async snapshot(group: GroupKey): Promise<GroupSnapshot> {
    const k = this.#keys(group);
    const replies = (await this.#redis
      .pipeline()
      .zcard(k.u)
      .zcard(k.n)
      .zcard(k.l)
      .zrange(k.u, 0, 0, 'WITHSCORES')
      .zrange(k.n, 0, 0, 'WITHSCORES')
      .zrange(k.l, 0, 0, 'WITHSCORES')
      .zrange(k.dl, 0, 0, 'WITHSCORES')
      .exec())!;
    const value = (i: number): unknown => {
      const [error, reply] = replies[i]!;
      if (error) throw error;
      return reply;
    };
    const oldest = (i: number): number | undefined => {
      const pair = value(i) as string[];
      return pair.length === 2 ? Number(pair[1]) : undefined;
    };
    return {
      urgent: value(0) as number,
      normal: value(1) as number,
      low: value(2) as number,
      oldestUrgentAt: oldest(3),
      oldestNormalAt: oldest(4),
      oldestLowAt: oldest(5),
      earliestDeadline: oldest(6),
    };
  }

  /**
   * Claims up to `max` keys for one batch under `token` (see CLAIM); resolves
   * their symbols and metas as stored (`parseMeta` reads one), each list as
   * one space-separated string: what a batch job carries, so the flusher
   * neither builds an object per key nor has BullMQ encode one. Also the
   * group's snapshot after the claim.
   */
  async claimPacked(
    group: GroupKey,
    options: ClaimOptions,
  ): Promise<{ symbols: string; metas: string; count: number; after: GroupSnapshot }> {
    const k = this.#keys(group);
    const [symbols, metas, counts] = (await this.#call('schedClaim')(
      ...this.#groupKeys(k),
      options.max,
      options.includeLow ? '1' : '0',
      Math.floor(options.leaseUntil),
      options.token,
      Math.floor(options.deadlineBefore),
    )) as [string, string, (number | string)[]];
    const at = (v: number | string | undefined): number | undefined =>
      v === undefined || v === '' ? undefined : Number(v);
    return {
      symbols,
      metas,
      count: symbols === '' ? 0 : countSeparated(symbols),
      after: {
        urgent: Number(counts[0]),
        normal: Number(counts[1]),
        low: Number(counts[2]),
        oldestUrgentAt: at(counts[3]),
        oldestNormalAt: at(counts[4]),
        oldestLowAt: at(counts[5]),
        earliestDeadline: at(counts[6]),
      },
    };
  }

  /** Extends a batch's lease; false when it holds none any more (settled, or returned by a sweeper). */
  async renew(group: GroupKey, token: string, leaseUntil: number): Promise<boolean> {
    const k = this.#keys(group);
    return (await this.#call('schedRenew')(1, k.leases, token, Math.floor(leaseUntil))) === 1;
  }

  /**
   * Settles a batch's keys (only those `token` still owns). With `release`,
   * this is the batch's last settlement: its lease and claim record go too.
   */
  async settle(
    group: GroupKey,
    token: string,
    settlements: readonly Settlement[],
    now: number,
    release = false,
  ): Promise<SettleResult> {
    if (settlements.length === 0 && !release) return { settled: 0, requeued: 0 };
    const k = this.#keys(group);
    let symbols = '';
    let actions = '';
    let ats = '';
    for (const s of settlements) {
      const sep = symbols === '' ? '' : ' ';
      symbols += sep + s.symbol;
      if (s.action === 'done') {
        actions += '0';
        ats += sep + Math.floor(s.freshUntil ?? 0);
      } else if (s.action === 'retry') {
        actions += '1';
        ats += sep + Math.floor(s.at);
      } else {
        actions += '2';
        ats += sep + '0';
      }
    }
    const args = [token, Math.floor(now), release ? '1' : '0', symbols, actions, ats];
    const [settled, requeued] = (await this.#call('schedSettle')(
      ...this.#groupKeys(k),
      ...args,
    )) as [number, number];
    return { settled, requeued };
  }

  /** Batches whose lease ended by `now`, with the keys each claimed. */
  async expired(group: GroupKey, now: number): Promise<ExpiredBatch[]> {
    const k = this.#keys(group);
    const tokens = await this.#redis.zrangebyscore(k.leases, '-inf', Math.floor(now));
    if (tokens.length === 0) return [];
    const claims = await this.#redis.hmget(k.claims, ...tokens);
    return tokens.map((token, i) => ({
      token,
      symbols: claims[i] ? claims[i].split(' ') : [],
    }));
  }

  /**
   * Returns a batch's keys that `token` still owns to pending as they were,
   * and releases the batch (it is gone, or was never queued); resolves how
   * many keys moved.
   */
  async requeue(group: GroupKey, token: string, symbols: readonly string[]): Promise<number> {
    const settlements = symbols.map((symbol) => ({ symbol, action: 'requeue' as const }));
    return (await this.settle(group, token, settlements, 0, true)).requeued;
  }

  /** Forgets that these symbols were written recently (their entry is gone): the next request queues them. */
  async forgetFresh(group: GroupKey, symbols: readonly string[]): Promise<void> {
    if (symbols.length === 0) return;
    await this.#call('schedForgetFresh')(1, this.#keys(group).state, ...symbols);
  }

  /**
   * Removes fresh marks whose time has passed, a page of `count` fields at a
   * time, until a pass over the group's state ends or `maxPages` pages went;
   * the next call goes on where this one stopped. Resolves how many it removed.
   */
  async sweepFresh(group: GroupKey, now: number, count = 1_000, maxPages = 20): Promise<number> {
    const k = this.#keys(group);
    let removed = 0;
    for (let page = 0; page < maxPages; page += 1) {
      const [cursor, gone] = (await this.#call('schedSweepFresh')(
        2,
        k.state,
        k.sweepCursor,
        Math.floor(now),
        count,
      )) as [string, number];
      removed += gone;
      if (cursor === '0') break;
    }
    return removed;
  }

  /** Whether each symbol is known to the group (pending or in flight). */
  async holds(group: GroupKey, symbols: readonly string[]): Promise<boolean[]> {
    if (symbols.length === 0) return [];
    const states = await this.#redis.hmget(this.#keys(group).state, ...symbols);
    return states.map((state) => state !== null && !state.startsWith('='));
  }

  /** Pending keys (not in flight) per group. */
  async pendingCounts(): Promise<{ group: GroupKey; keys: number }[]> {
    const groups = await this.groups();
    if (groups.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const group of groups) {
      const k = this.#keys(group);
      pipeline.zcard(k.u).zcard(k.n).zcard(k.l);
    }
    const replies = (await pipeline.exec())!;
    return groups.map((group, i) => ({
      group,
      keys: [0, 1, 2].reduce((sum, j) => sum + Number(replies[3 * i + j]![1]), 0),
    }));
  }

  #keys(group: GroupKey): GroupRedisKeys {
    const g = `${this.#base}:${PendingStore.groupId(group)}`;
    return {
      u: `${g}:u`,
      n: `${g}:n`,
      l: `${g}:l`,
      state: `${g}:state`,
      dl: `${g}:dl`,
      leases: `${g}:leases`,
      claims: `${g}:claims`,
      sweepCursor: `${g}:state-sweep`,
    };
  }

  /** The KEYS of the claim and settle scripts, count first (the same order for both). */
  #groupKeys(k: GroupRedisKeys): (string | number)[] {
    return [7, k.u, k.n, k.l, k.state, k.dl, k.leases, k.claims];
  }

  #call(name: string): ScriptCall {
    const fn = (this.#redis as unknown as Record<string, ScriptCall>)[name]!;
    return fn.bind(this.#redis);
  }
}

/** How many items a non-empty space-separated list holds. */
function countSeparated(list: string): number {
  let count = 1;
  for (let i = list.indexOf(' '); i !== -1; i = list.indexOf(' ', i + 1)) count += 1;
  return count;
}

/** A claimed key from its symbol and stored meta ("priority|firstAt|deadline|attempts|warm"). */
export function parseMeta(symbol: string, meta: string): ClaimedKey {
  const [p, at, d, a, w] = meta.split('|').map(Number);
  return {
    symbol,
    priority: (p ?? 1) as PriorityRank,
    firstAt: at ?? 0,
    deadline: d ? d : undefined,
    attempts: a ?? 0,
    warm: w === 1,
  };
}
