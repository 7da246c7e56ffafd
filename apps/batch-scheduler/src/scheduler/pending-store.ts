import type { Cluster, Redis } from 'ioredis';
import type { AssetType, DataType } from '@fiml/market';
import { queuePrefix } from '@fiml/queue';
import type { GroupSnapshot } from './flush-policy.js';
import { ADD_PENDING, CLAIM, RENEW, REQUEUE, SETTLE } from './pending-scripts.js';

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
  | { readonly symbol: string; readonly action: 'retry'; readonly at: number };

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

/** The Redis keys of one group (see the layout on PendingStore). */
interface GroupRedisKeys {
  readonly u: string;
  readonly n: string;
  readonly l: string;
  readonly meta: string;
  readonly dl: string;
  readonly inflight: string;
  readonly owner: string;
  readonly fresh: string;
}

const ADD_OUTCOMES: readonly AddOutcome[] = ['queued', 'merged', 'in-flight', 'fresh'];

/**
 * The batch-scheduler's pending keys, in the queue Redis (noeviction, AOF:
 * a pending request must not be evicted or lost in a restart). Per group:
 *
 *   <{prefix}>:sched:groups                   SET of group ids
 *   <{prefix}>:sched:<group>:u|n|l            ZSET symbol -> first asked (per priority)
 *   <{prefix}>:sched:<group>:meta             HASH symbol -> "priority|firstAt|deadline|attempts|warm"
 *   <{prefix}>:sched:<group>:dl               ZSET symbol -> deadline
 *   <{prefix}>:sched:<group>:inflight         ZSET symbol -> lease end (claimed by a batch)
 *   <{prefix}>:sched:<group>:owner            HASH symbol -> the batch's token
 *   <{prefix}>:sched:<group>:fresh            ZSET symbol -> until when a non-urgent request skips it
 *
 * A key is in exactly one place: one priority set, or in flight. Every
 * change is one Lua script (pending-scripts.ts), so replicas adding,
 * claiming and settling at once never lose, duplicate or double-claim a key.
 * All keys carry the queue prefix's hash tag: one Cluster slot, like BullMQ's.
 */
export class PendingStore {
  readonly #redis: Redis | Cluster;
  readonly #base: string;
  #holding = false;

  constructor(options: { redis: Redis | Cluster; prefix: string }) {
    this.#redis = options.redis;
    this.#base = `${queuePrefix(options.prefix)}:sched`;
    for (const [name, lua] of Object.entries({
      schedAdd: ADD_PENDING,
      schedClaim: CLAIM,
      schedRenew: RENEW,
      schedSettle: SETTLE,
      schedRequeue: REQUEUE,
    })) {
      this.#redis.defineCommand(name, { lua });
    }
  }

  /**
   * Holds this connection's writes until the event loop's check phase, so the
   * commands issued meanwhile leave in one socket write. The adds of a turn
   * resolve several intake jobs at once, and each job's completion is a
   * command of its own (BullMQ's, on this connection); written one by one,
   * the system calls cost more than the commands. Order and replies are
   * unchanged: only when the bytes leave moves, by less than a loop turn.
   */
  holdWrites(): void {
    // A Cluster client has no one socket (it holds one per node): nothing to hold.
    const stream = (this.#redis as { stream?: { cork?: () => void; uncork?: () => void } }).stream;
    if (this.#holding || this.#redis.status !== 'ready' || !stream?.cork || !stream.uncork) return;
    this.#holding = true;
    stream.cork();
    setImmediate(() => {
      this.#holding = false;
      stream.uncork!();
    });
  }

  static groupId(group: GroupKey): string {
    return `${group.provider}:${group.assetType}:${group.dataType}`;
  }

  static parseGroupId(id: string): GroupKey | undefined {
    const [provider, assetType, dataType] = id.split(':');
    if (!provider || !assetType || !dataType) return undefined;
    return { provider, assetType: assetType as AssetType, dataType: dataType as DataType };
  }

  /** Adds keys; resolves each key's outcome and how many urgent and normal keys the group now holds. */
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
      8,
      `${this.#base}:groups`,
      k.u,
      k.n,
      k.l,
      k.meta,
      k.dl,
      k.inflight,
      k.fresh,
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
   * them and the group's snapshot after the claim.
   */
  async claim(
    group: GroupKey,
    options: ClaimOptions,
  ): Promise<{ claimed: ClaimedKey[]; after: GroupSnapshot }> {
    const { symbols, metas, after } = await this.claimEncoded(group, options);
    return { claimed: symbols.map((symbol, i) => parseMeta(symbol, metas[i]!)), after };
  }

  /**
   * {@link claim}, with each key as its symbol and its meta as stored
   * (`parseMeta` reads one): what a batch job carries, so the flusher neither
   * builds an object per key nor has BullMQ encode one.
   */
  async claimEncoded(
    group: GroupKey,
    options: ClaimOptions,
  ): Promise<{ symbols: string[]; metas: string[]; after: GroupSnapshot }> {
    const k = this.#keys(group);
    const [flat, counts] = (await this.#call('schedClaim')(
      ...this.#groupKeys(k),
      options.max,
      options.includeLow ? '1' : '0',
      Math.floor(options.leaseUntil),
      options.token,
      Math.floor(options.deadlineBefore),
    )) as [string[], (number | string)[]];
    const symbols: string[] = [];
    const metas: string[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      symbols.push(flat[i]!);
      metas.push(flat[i + 1]!);
    }
    const at = (v: number | string | undefined): number | undefined =>
      v === undefined || v === '' ? undefined : Number(v);
    return {
      symbols,
      metas,
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

  /** The keys `token` still owns, their lease renewed to `leaseUntil`. */
  async renew(
    group: GroupKey,
    token: string,
    symbols: readonly string[],
    leaseUntil: number,
  ): Promise<string[]> {
    if (symbols.length === 0) return [];
    const k = this.#keys(group);
    return (await this.#call('schedRenew')(
      2,
      k.inflight,
      k.owner,
      token,
      Math.floor(leaseUntil),
      ...symbols,
    )) as string[];
  }

  /** Settles a batch's keys (only those `token` still owns); resolves how many. */
  async settle(
    group: GroupKey,
    token: string,
    settlements: readonly Settlement[],
    now: number,
  ): Promise<number> {
    if (settlements.length === 0) return 0;
    const k = this.#keys(group);
    const args: (string | number)[] = [token, Math.floor(now)];
    for (const s of settlements) {
      const at = s.action === 'retry' ? s.at : (s.freshUntil ?? 0);
      args.push(s.symbol, s.action === 'done' ? 0 : 1, Math.floor(at));
    }
    return (await this.#call('schedSettle')(...this.#groupKeys(k), ...args)) as number;
  }

  /** In-flight keys whose lease ended by `now`, with their batch token. */
  async expired(group: GroupKey, now: number): Promise<{ symbol: string; token: string }[]> {
    const k = this.#keys(group);
    const symbols = await this.#redis.zrangebyscore(k.inflight, '-inf', Math.floor(now));
    if (symbols.length === 0) return [];
    const tokens = await this.#redis.hmget(k.owner, ...symbols);
    return symbols.flatMap((symbol, i) => {
      const token = tokens[i];
      return token ? [{ symbol, token }] : [];
    });
  }

  /** Returns a token's in-flight keys to pending; resolves how many moved. */
  async requeue(group: GroupKey, token: string, symbols: readonly string[]): Promise<number> {
    if (symbols.length === 0) return 0;
    const k = this.#keys(group);
    return (await this.#call('schedRequeue')(...this.#groupKeys(k), token, ...symbols)) as number;
  }

  /** Forgets that these symbols were written recently (their entry is gone): the next request queues them. */
  async forgetFresh(group: GroupKey, symbols: readonly string[]): Promise<void> {
    if (symbols.length > 0) await this.#redis.zrem(this.#keys(group).fresh, ...symbols);
  }

  /** Whether each symbol is known to the group (pending or in flight). */
  async holds(group: GroupKey, symbols: readonly string[]): Promise<boolean[]> {
    if (symbols.length === 0) return [];
    const metas = await this.#redis.hmget(this.#keys(group).meta, ...symbols);
    return metas.map((meta) => meta !== null);
  }

  /** Pending keys (not in flight) per group. */
  async pendingCounts(): Promise<{ group: GroupKey; keys: number }[]> {
    const groups = await this.groups();
    if (groups.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const group of groups)
      pipeline.hlen(this.#keys(group).meta).zcard(this.#keys(group).inflight);
    const replies = (await pipeline.exec())!;
    return groups.map((group, i) => ({
      group,
      keys: Math.max(0, Number(replies[2 * i]![1]) - Number(replies[2 * i + 1]![1])),
    }));
  }

  #keys(group: GroupKey): GroupRedisKeys {
    const g = `${this.#base}:${PendingStore.groupId(group)}`;
    return {
      u: `${g}:u`,
      n: `${g}:n`,
      l: `${g}:l`,
      meta: `${g}:meta`,
      dl: `${g}:dl`,
      inflight: `${g}:inflight`,
      owner: `${g}:owner`,
      fresh: `${g}:fresh`,
    };
  }

  /** The KEYS of the claim, settle and requeue scripts, count first (the same order for all three). */
  #groupKeys(k: GroupRedisKeys): (string | number)[] {
    return [8, k.u, k.n, k.l, k.meta, k.dl, k.inflight, k.owner, k.fresh];
  }

  #call(name: string): ScriptCall {
    const fn = (this.#redis as unknown as Record<string, ScriptCall>)[name]!;
    return fn.bind(this.#redis);
  }
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
