import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '@fiml/market';
import { cacheKeySpace } from '../cache-keys.js';
import { L1Cache } from '../l1/l1-cache.js';
import { L2Store } from '../l2/l2-store.js';
import type { CacheEmitter } from './cache-emitter.js';
import type { CacheManagerOptions } from './cache-manager-options.js';
import { FetchCoordinator } from './fetch-coordinator.js';
import { Flights } from './flights.js';
import { Freshness } from './freshness.js';
import { InvalidationBus, shardedSubscriberFor } from './invalidation-bus.js';
import { KeyLocks } from './key-locks.js';
import { nonNegative, positive } from './option-checks.js';
import { ReadPath } from './read-path.js';
import { RedisGuard } from './redis-guard.js';
import { Revalidator } from './revalidator.js';
import { RouteLoaders } from './route-loaders.js';
import { TierStore, type L1Value } from './tier-store.js';
import type { CacheLogger } from './types.js';

/** The parts a CacheManager is made of, wired to one another. */
export interface ManagerParts {
  readonly clock: Clock;
  readonly instanceId: string;
  readonly freshness: Freshness;
  readonly guard: RedisGuard;
  readonly tiers: TierStore;
  readonly bus: InvalidationBus | undefined;
  readonly coordinator: FetchCoordinator;
  readonly flights: Flights;
  readonly path: ReadPath;
  readonly routes: RouteLoaders;
  readonly revalidator: Revalidator;
}

const silentLogger: CacheLogger = { warn: () => undefined, error: () => undefined };

/**
 * Builds the read path's parts from the manager's options (defaults and
 * checks here, in one place). Without a Redis the manager is L1-only: no L2,
 * locks or bus.
 */
export function composeManagerParts(
  options: CacheManagerOptions,
  events: CacheEmitter,
): ManagerParts {
  if (!options || typeof options.ttlPolicy?.ttl !== 'function') {
    throw new TypeError('CacheManager needs a ttlPolicy with ttl(dataType, assetType, now)');
  }
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const space = cacheKeySpace(options.keyPrefix ?? 'fiml');
  const instanceId = options.instanceId ?? randomUUID();
  const freshness = new Freshness(options);
  const fetchTimeoutMs = positive(options.fetchTimeoutMs ?? 15_000, 'fetchTimeoutMs');
  const redis = options.redis;
  const guard = new RedisGuard({
    clock,
    events,
    logger,
    enabled: redis !== undefined,
    ...(options.breakerFailureThreshold === undefined
      ? {}
      : { failureThreshold: options.breakerFailureThreshold }),
    ...(options.breakerCooldownMs === undefined ? {} : { cooldownMs: options.breakerCooldownMs }),
  });
  // The bus's callbacks reach the tiers and the coordinator built below; no message arrives before start().
  const bus =
    redis &&
    new InvalidationBus({
      publisher: redis,
      subscriber: options.subscriber ?? shardedSubscriberFor(redis),
      channel: space.channel,
      instanceId,
      onMessage: (message) => {
        if (message.op !== 'release') {
          tiers.dropLocal(message.keys, message.fetchedAt);
          events.emit('invalidate', { keys: message.keys.length, origin: 'remote' });
        }
        coordinator.onMessage(message);
      },
      onReconnect: () => {
        const dropped = tiers.clearLocal();
        events.emit('invalidate', { keys: dropped, origin: 'reconnect' });
        logger.warn(
          { dropped },
          'invalidation channel reconnected; cleared L1 (messages may have been missed)',
        );
      },
      onError: (error, operation) =>
        events.emit('error', { component: 'invalidation', operation, error }),
    });
  const tiers = new TierStore({
    l1: options.l1 ?? new L1Cache<L1Value>({ maxEntries: 10_000, clock }),
    l2: redis && new L2Store({ redis, keyPrefix: options.keyPrefix ?? 'fiml', clock }),
    bus,
    guard,
    events,
    clock,
  });
  const coordinator = new FetchCoordinator({
    tiers,
    guard,
    freshness,
    events,
    clock,
    locks:
      redis &&
      new KeyLocks({
        redis,
        prefix: space.lock,
        ttlMs: positive(options.lockTtlMs ?? 10_000, 'lockTtlMs'),
      }),
    bus,
    lockWaitMs: nonNegative(options.lockWaitMs ?? 5_000, 'lockWaitMs'),
    fetchTimeoutMs,
  });
  const flights = new Flights({ hardTimeoutMs: fetchTimeoutMs, events });
  return {
    clock,
    instanceId,
    freshness,
    guard,
    tiers,
    bus,
    coordinator,
    flights,
    path: new ReadPath({
      tiers,
      freshness,
      flights,
      events,
      clock,
      logger,
      softTimeoutMs: positive(options.softFetchTimeoutMs ?? 2_000, 'softFetchTimeoutMs'),
    }),
    routes: new RouteLoaders({
      loaderFor: options.loaderFor,
      coordinator,
      windowMs: nonNegative(options.coalesceWindowMs ?? 5, 'coalesceWindowMs'),
    }),
    revalidator: new Revalidator({
      clock,
      events,
      onStale: options.onStale,
      onRefreshAhead: options.onRefreshAhead,
      requestWindowMs: nonNegative(options.revalidateWindowMs ?? 5_000, 'revalidateWindowMs'),
    }),
  };
}
