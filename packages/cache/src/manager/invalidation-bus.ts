import { Cluster, type Redis } from 'ioredis';
import { retireRedis } from '@fiml/runtime';

/** What one invalidation message says: keys were written, deleted, or a fetch lock was released. */
export interface InvalidationMessage {
  /** The instance that sent it. */
  readonly origin: string;
  readonly op: 'set' | 'delete' | 'release';
  readonly keys: readonly string[];
  /**
   * For `set`: the `fetchedAt` of each written entry, in the order of `keys`.
   * A reader whose L2 reply crossed this message may still keep that reply
   * in its L1 if it is at least this new.
   */
  readonly fetchedAt?: readonly number[];
}

export interface InvalidationBusOptions {
  /** The connection writes go through (publishes). */
  readonly publisher: Redis | Cluster;
  /**
   * A dedicated connection in subscriber mode; the bus owns it and closes it.
   * Without one the bus only publishes (the workers' CacheWriter).
   */
  readonly subscriber?: Redis | Cluster;
  readonly channel: string;
  readonly instanceId: string;
  readonly onMessage?: (message: InvalidationMessage) => void;
  /** The subscription came back after a disconnect: messages may have been missed meanwhile. */
  readonly onReconnect?: () => void;
  readonly onError?: (error: Error, operation: 'subscribe' | 'parse') => void;
}

/**
 * Cross-instance coherence over Redis pub/sub. Every write publishes the keys
 * it touched; every instance drops those keys from its L1. Pub/sub delivers
 * at most once, so after the subscriber reconnects the owner is told to
 * assume it missed something (and clears its L1).
 *
 * On a Redis Cluster the bus uses sharded pub/sub (SPUBLISH / SSUBSCRIBE,
 * Redis 7): a message goes to the nodes of the channel's shard only, instead
 * of being broadcast over the cluster bus to every node. The subscriber must
 * then be a Cluster client with `shardedSubscribers: true` (see
 * {@link shardedSubscriberFor}); after a failover of the channel's shard it
 * resubscribes on the promoted replica, and that counts as a reconnect.
 */
export class InvalidationBus {
  readonly #options: InvalidationBusOptions;
  #wasReady = false;
  #lostSinceReady = false;
  #closed = false;

  constructor(options: InvalidationBusOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    const { subscriber, channel } = this.#options;
    if (!subscriber) return;
    const sharded = subscriber instanceof Cluster;
    const onMessage = (raw: Buffer, message: Buffer) => {
      if (raw.toString() !== channel) return;
      const parsed = this.#parse(message);
      if (parsed && parsed.origin !== this.#options.instanceId) this.#options.onMessage?.(parsed);
    };
    const lost = () => {
      if (this.#wasReady) this.#lostSinceReady = true;
    };
    const reconnected = () => {
      this.#lostSinceReady = false;
      this.#options.onReconnect?.();
    };
    const back = () => {
      this.#wasReady = true;
      if (!this.#lostSinceReady || this.#closed) return;
      if (sharded) {
        reconnected();
        return;
      }
      // Subscribed again before the owner is told: its L1 is cleared once no
      // message can be missed any more. A failure (lost again, or closed
      // meanwhile) leaves the loss standing for the next 'ready'.
      subscriber.subscribe(channel).then(
        () => {
          if (!this.#closed) reconnected();
        },
        (error: Error) => {
          if (!this.#closed) this.#options.onError?.(error, 'subscribe');
        },
      );
    };
    if (sharded) {
      subscriber.on('smessageBuffer', onMessage);
      // The shard's subscriber connection was dropped (its node failed) and,
      // later, a new one subscribed again on the shard's new master.
      subscriber.on('-subscriber', lost);
      subscriber.on('subscribersReady', back);
    } else {
      // The bus resubscribes itself (above). ioredis's own resubscription
      // leaves its SUBSCRIBE's promise unhandled: a close during a reconnect's
      // ready check queues QUIT ahead of it, the SUBSCRIBE is refused with
      // "Connection is closed." and the process sees an unhandled rejection.
      subscriber.options.autoResubscribe = false;
      subscriber.on('messageBuffer', onMessage);
    }
    subscriber.on('close', lost);
    subscriber.on('ready', back);
    subscriber.on('error', (error: Error) => this.#options.onError?.(error, 'subscribe'));
    if (sharded) await subscriber.ssubscribe(channel);
    else await subscriber.subscribe(channel);
    this.#wasReady = true;
  }

  async publish(
    op: InvalidationMessage['op'],
    keys: readonly string[],
    fetchedAt?: readonly number[],
  ): Promise<void> {
    if (keys.length === 0) return;
    const message = JSON.stringify({
      o: this.#options.instanceId,
      op,
      k: keys,
      ...(fetchedAt ? { t: fetchedAt } : {}),
    });
    const { publisher, channel } = this.#options;
    if (publisher instanceof Cluster) await publisher.spublish(channel, message);
    else await publisher.publish(channel, message);
  }

  async close(): Promise<void> {
    const { subscriber } = this.#options;
    if (!subscriber) return;
    this.#closed = true;
    subscriber.removeAllListeners('messageBuffer');
    subscriber.removeAllListeners('smessageBuffer');
    await subscriber.quit().catch(() => subscriber.disconnect());
    // Closed for good: a Cluster's sharded-subscriber group can still act on a
    // topology change it saw before the quit, and its slot-refresh timer can
    // re-arm from a refresh in flight at the quit: either would hold the
    // process open, reconnecting or refreshing forever.
    retireRedis(subscriber);
  }

  #parse(message: Buffer): InvalidationMessage | undefined {
    try {
      const value = JSON.parse(message.toString('utf8')) as {
        o?: unknown;
        op?: unknown;
        k?: unknown;
        t?: unknown;
      };
      if (
        typeof value.o === 'string' &&
        (value.op === 'set' || value.op === 'delete' || value.op === 'release') &&
        Array.isArray(value.k) &&
        value.k.every((k) => typeof k === 'string')
      ) {
        const times =
          Array.isArray(value.t) &&
          value.t.length === value.k.length &&
          value.t.every((t) => typeof t === 'number' && Number.isFinite(t))
            ? (value.t as number[])
            : undefined;
        return {
          origin: value.o,
          op: value.op,
          keys: value.k,
          ...(times ? { fetchedAt: times } : {}),
        };
      }
    } catch {
      // fall through: a foreign message on our channel is ignored, not fatal
    }
    this.#options.onError?.(new Error('ignored a malformed invalidation message'), 'parse');
    return undefined;
  }
}

/**
 * A connection for the bus's subscription, from the connection writes go
 * through: it queues commands while reconnecting, so SUBSCRIBE waits for
 * Redis; on a Cluster it has one subscriber per shard for sharded pub/sub.
 */
export function shardedSubscriberFor(redis: Redis | Cluster): Redis | Cluster {
  return redis instanceof Cluster
    ? redis.duplicate(undefined, { enableOfflineQueue: true, shardedSubscribers: true })
    : redis.duplicate({ enableOfflineQueue: true });
}
