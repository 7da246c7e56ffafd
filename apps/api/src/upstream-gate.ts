import { EventEmitter } from 'node:events';
import type { Cluster, Redis } from 'ioredis';
import { cacheKeySpace, type FetchAdmission, type ReadOptions } from '@fiml/cache';
import type { AssetType, Clock, DataType } from '@fiml/market';
import type { UpstreamRefusalEventLike } from '@fiml/observability';
import type { Logger } from '@fiml/runtime';
import type { ProviderRegistry } from '@fiml/providers';
import { apiKeep } from './upstream.js';

/**
 * A client's share of a provider's window is spent: the read is refused by
 * our own limiter (429 or a `rate-limited` batch item), not by the provider.
 */
export class ClientShareSpentError extends Error {
  readonly code = 'FIML_CLIENT_SHARE_SPENT';
  constructor(
    readonly providerId: string,
    /** When this symbol would fit the client's share again. */
    readonly retryAfterMs: number,
  ) {
    super(`the client's share of ${providerId}'s call budget is spent`);
    this.name = 'ClientShareSpentError';
  }
}

/** One token bucket of a client on a provider: `capacity` symbols, refilled over `windowMs`. */
interface Bucket {
  readonly capacity: number;
  readonly windowMs: number;
}

/** What the gate charges on a route: its primary provider's buckets (none: no limits, no gate). */
interface RouteBudget {
  readonly providerId: string;
  readonly buckets: readonly Bucket[];
}

export interface UpstreamGateOptions {
  readonly registry: ProviderRegistry;
  /**
   * The cache Redis: the buckets are shared by every api instance. Without
   * one (and while it is unreachable) each instance counts alone.
   */
  readonly redis?: Redis | Cluster;
  /** The cache's key prefix; buckets live in its `limit` key space. */
  readonly keyPrefix: string;
  /**
   * The share of what the api may spend of each provider window (after the
   * batch-scheduler's reserve) that one client's reads may spend: [0, 1];
   * 0 bounds no client (refusals for the api's share are still counted).
   */
  readonly share: number;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** Clients counted in process while Redis is unreachable; the least recent are forgotten. @defaultValue 10_000 */
  readonly localClients?: number;
}

/**
 * Token buckets in Redis, one per window: refills each by the time passed
 * since its last use, then grants as many of the wanted symbols as every
 * bucket holds (possibly none) and takes them from each.
 * KEYS: one per window. ARGV[1]: now (ms), ARGV[2]: symbols wanted, then a
 * (capacity, windowMs) pair per key. Returns the grant and each bucket's
 * level after it (strings: Lua numbers would be truncated to integers).
 */
const TAKE_SCRIPT = `
local now = tonumber(ARGV[1])
local want = tonumber(ARGV[2])
local levels = {}
local times = {}
local grant = want
for i = 1, #KEYS do
  local capacity = tonumber(ARGV[1 + 2 * i])
  local window = tonumber(ARGV[2 + 2 * i])
  local state = redis.call('HMGET', KEYS[i], 'level', 'at')
  local level = tonumber(state[1])
  local at = tonumber(state[2])
  if level == nil or at == nil then
    level = capacity
    at = now
  elseif now > at then
    level = math.min(capacity, level + (now - at) * capacity / window)
    at = now
  end
  levels[i] = level
  times[i] = at
  grant = math.min(grant, math.floor(level))
end
if grant < 0 then grant = 0 end
local reply = { grant }
for i = 1, #KEYS do
  local left = levels[i] - grant
  redis.call('HSET', KEYS[i], 'level', tostring(left), 'at', tostring(times[i]))
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2 + 2 * i]))
  reply[i + 1] = tostring(left)
end
return reply
`;

const TAKE_COMMAND = 'fimlApiTakeClientShare';
type TakeCommand = (
  numKeys: number,
  ...keysAndArgs: (string | number)[]
) => Promise<[number, ...string[]]>;

/** The same buckets in process: what an instance counts while the cache Redis is unreachable. */
function takeLocal(
  state: { level: number; at: number }[],
  buckets: readonly Bucket[],
  now: number,
  want: number,
): { granted: number; levels: number[] } {
  let granted = want;
  buckets.forEach((bucket, i) => {
    const s = (state[i] ??= { level: bucket.capacity, at: now });
    if (now > s.at) {
      s.level = Math.min(
        bucket.capacity,
        s.level + ((now - s.at) * bucket.capacity) / bucket.windowMs,
      );
      s.at = now;
    }
    granted = Math.min(granted, Math.floor(s.level));
  });
  granted = Math.max(0, granted);
  return { granted, levels: state.map((s) => (s.level -= granted)) };
}

/**
 * Upstream budget fairness: the cost of a read is the upstream calls it may
 * cause, and each client (API key, or address without one) may cause at most
 * a share of each provider's window. Counted in symbols, a call carrying up
 * to the provider's batch size (one call per symbol for a single-symbol
 * provider), so a client whose cold reads share calls is not charged a call
 * per read. A batch read beyond its client's share answers what is cached
 * and `rate-limited` for the rest, so one client never spends everyone's
 * budget. Emits `refused` for every symbol refused by our own limiter (the
 * client's share here, the api's share of the window through
 * {@link UpstreamGate.budgetRefused}), for fiml_upstream_refusals_total.
 */
export class UpstreamGate extends EventEmitter<{ refused: [UpstreamRefusalEventLike] }> {
  readonly #registry: ProviderRegistry;
  readonly #redis: Redis | Cluster | undefined;
  readonly #prefix: string;
  readonly #share: number;
  readonly #clock: Clock;
  readonly #log: Logger | undefined;
  readonly #localClients: number;
  readonly #routes = new Map<string, RouteBudget | undefined>();
  /** Per client and provider, least recently used first. */
  readonly #local = new Map<string, { level: number; at: number }[]>();
  #redisDown = false;

  constructor(options: UpstreamGateOptions) {
    super();
    if (!(options.share >= 0 && options.share <= 1)) {
      throw new RangeError(`share must be in [0, 1], got ${options.share}`);
    }
    this.#registry = options.registry;
    this.#redis = options.redis;
    this.#prefix = `${cacheKeySpace(options.keyPrefix).limit}share:`;
    this.#share = options.share;
    this.#clock = options.clock;
    this.#log = options.logger?.child({ component: 'upstream-gate' });
    this.#localClients = options.localClients ?? 10_000;
    if (this.#redis && !(TAKE_COMMAND in this.#redis)) {
      this.#redis.defineCommand(TAKE_COMMAND, { lua: TAKE_SCRIPT });
    }
  }

  /**
   * The read options that charge `client` for the fetches of one read on a
   * route; undefined when the route's provider has no limits (nothing to share).
   */
  readOptions(client: string, dataType: DataType, assetType: AssetType): ReadOptions | undefined {
    if (this.#share === 0) return undefined;
    const route = this.#route(dataType, assetType);
    if (!route) return undefined;
    return { admitFetch: (count) => this.#admit(client, route, dataType, count) };
  }

  /** Symbols of a route refused because the api's share of the provider's window is spent. */
  budgetRefused(dataType: DataType, assetType: AssetType, symbols: number): void {
    const providerId = this.#registry.route(assetType, dataType)[0]?.id;
    if (providerId && symbols > 0) {
      this.emit('refused', { provider: providerId, dataType, reason: 'provider-budget', symbols });
    }
  }

  /** Each symbol one client may fetch per window of a route's primary provider (for docs and tests). */
  clientCapacity(dataType: DataType, assetType: AssetType): readonly Bucket[] {
    return this.#route(dataType, assetType)?.buckets ?? [];
  }

  #route(dataType: DataType, assetType: AssetType): RouteBudget | undefined {
    const id = `${assetType}:${dataType}`;
    if (this.#routes.has(id)) return this.#routes.get(id);
    const primary = this.#registry.route(assetType, dataType)[0];
    let budget: RouteBudget | undefined;
    const windows = primary ? this.#registry.limiter.windows(primary.id) : [];
    if (primary && windows.length > 0) {
      const keep = apiKeep(this.#registry, primary.id);
      // What the api itself may spend of a window: a call needs keep + 1 left after it.
      const apiCalls = (limit: number) => (keep === undefined ? limit : limit - keep - 1);
      budget = {
        providerId: primary.id,
        buckets: windows.map((w) => ({
          capacity: Math.max(1, Math.floor(this.#share * apiCalls(w.limit))) * primary.maxBatchSize,
          windowMs: w.windowMs,
        })),
      };
    }
    this.#routes.set(id, budget);
    return budget;
  }

  async #admit(
    client: string,
    route: RouteBudget,
    dataType: DataType,
    count: number,
  ): Promise<FetchAdmission> {
    const now = this.#clock.now();
    const { granted, levels } = await this.#take(client, route, now, count);
    if (granted < count) {
      this.emit('refused', {
        provider: route.providerId,
        dataType,
        reason: 'client-share',
        symbols: count - granted,
      });
    }
    return {
      admitted: granted,
      // The i-th refused symbol fits once every bucket has refilled i + 1 symbols past its level.
      refuse: (i) => {
        let waitMs = 1;
        route.buckets.forEach((bucket, b) => {
          const missing = i + 1 - (levels[b] ?? 0);
          if (missing > 0) {
            waitMs = Math.max(waitMs, Math.ceil((missing * bucket.windowMs) / bucket.capacity));
          }
        });
        return new ClientShareSpentError(route.providerId, waitMs);
      },
    };
  }

  async #take(
    client: string,
    route: RouteBudget,
    now: number,
    want: number,
  ): Promise<{ granted: number; levels: number[] }> {
    const id = `{${client}|${route.providerId}}`;
    if (this.#redis) {
      try {
        const take = (this.#redis as unknown as Record<string, TakeCommand>)[TAKE_COMMAND]!;
        const keys = route.buckets.map((b) => `${this.#prefix}${id}:w${b.windowMs}`);
        const args = route.buckets.flatMap((b) => [b.capacity, b.windowMs]);
        const [granted, ...levels] = await take.call(
          this.#redis,
          keys.length,
          ...keys,
          now,
          want,
          ...args,
        );
        if (this.#redisDown) {
          this.#redisDown = false;
          this.#log?.info('client upstream shares are shared through Redis again');
        }
        return { granted: Number(granted), levels: levels.map(Number) };
      } catch (error) {
        if (!this.#redisDown) {
          this.#redisDown = true;
          this.#log?.warn(
            { err: error },
            'cannot reach the cache Redis for client upstream shares; each instance counts alone until it is back',
          );
        }
      }
    }
    return this.#takeInProcess(id, route, now, want);
  }

  #takeInProcess(id: string, route: RouteBudget, now: number, want: number) {
    let state = this.#local.get(id);
    if (state) this.#local.delete(id);
    else state = [];
    this.#local.set(id, state);
    if (this.#local.size > this.#localClients) {
      // A forgotten client starts again with full buckets: bounded memory over exactness.
      this.#local.delete(this.#local.keys().next().value!);
    }
    return takeLocal(state, route.buckets, now, want);
  }
}
