import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from './logger.js';
import { parseRedisUrl } from './redis-url.js';

/**
 * A connection to either kind of Redis deployment: a standalone server
 * (`redis://`) or a Redis Cluster (`redis+cluster://`, see {@link parseRedisUrl}).
 * Both speak the same commands; code that sends one command to one key does
 * not care which it holds. Multi-key work (pipelines, scripts, MGET) must
 * keep to one slot per command and one node per pipeline on a Cluster.
 */
export type RedisClient = Redis | Cluster;

/**
 * What a connection is for; each role follows BullMQ's production rules.
 *
 * - `worker`: BullMQ Workers (blocking commands). `maxRetriesPerRequest: null`
 *   so a blocking call waits out a Redis restart instead of failing, and the
 *   offline queue on, so commands issued while reconnecting run afterwards.
 * - `producer`: Queues that add jobs on behalf of a caller (an HTTP request).
 *   Offline queue off and one retry: when Redis is down `add()` fails at once
 *   and the API answers 503, instead of holding the request open.
 * - `cache`: L2 reads and writes, readiness probes. Fails fast like a
 *   producer: a dead cache must not add latency to reads.
 */
export type RedisRole = 'worker' | 'producer' | 'cache';

export interface RedisConnectionOptions {
  readonly role: RedisRole;
  /** Shown in `CLIENT LIST` as `fiml:<name>`, so operators can tell connections apart. */
  readonly name: string;
  readonly logger: Logger;
  /** Longest pause between reconnection attempts. @defaultValue 10000 */
  readonly maxReconnectDelayMs?: number;
}

/**
 * Reconnect forever with exponential backoff (100 ms, 200 ms, … capped), so a
 * process outlives a Redis restart instead of crash-looping.
 */
export function reconnectDelay(attempt: number, maxMs = 10_000): number {
  return Math.min(100 * 2 ** Math.min(attempt - 1, 20), maxMs);
}

export function connectionOptionsFor(role: RedisRole, maxReconnectDelayMs = 10_000): RedisOptions {
  const common: RedisOptions = {
    retryStrategy: (times) => reconnectDelay(times, maxReconnectDelayMs),
    connectTimeout: 5_000,
  };
  switch (role) {
    case 'worker':
      return { ...common, maxRetriesPerRequest: null, enableOfflineQueue: true };
    case 'producer':
    case 'cache':
      return { ...common, maxRetriesPerRequest: 1, enableOfflineQueue: false };
  }
}

/** Error codes of a socket that cannot reach Redis or lost it. */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Messages ioredis and BullMQ give a command that failed only because the connection was down. */
const CONNECTION_ERROR_MESSAGE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|^Connection is closed\.?$|^Stream isn't writeable|^LOADING |Reached the max retries per request limit|^CLUSTERDOWN |Too many Cluster redirections|Failed to refresh slots cache|^None of startup nodes is available|^Cluster isn't ready/;

/**
 * Whether an error only says that Redis cannot be reached (refused, reset,
 * timed out, closed while reconnecting, still loading its data). Such errors
 * belong to the connection's outage, which {@link createRedisConnection} logs
 * once; whoever sees them as well (a BullMQ Worker's `error` event, say) should
 * not log them again.
 */
export function isConnectionError(error: unknown): boolean {
  // Duck-typed: socket errors come from Node's own realm, where `instanceof Error` can fail.
  if (typeof error !== 'object' || error === null) return false;
  const { code, name, message } = error as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) return true;
  if (name === 'MaxRetriesPerRequestError') return true;
  return typeof message === 'string' && CONNECTION_ERROR_MESSAGE.test(message);
}

/**
 * The Cluster client's options for a role. Each node connection gets the
 * role's options (offline queue, retries, backoff); the Cluster itself gets
 * the same offline queue rule (a fail-fast role fails while the Cluster is
 * connecting) and the same backoff to re-find the Cluster when every node was
 * lost. A failover (a master dies, its replica is promoted) is not an outage
 * of the Cluster: commands for the dead master's slots are retried on the new
 * topology (`retryDelayOnFailover`, `retryDelayOnClusterDown`) within
 * `maxRedirections`, which bounds how long a fail-fast command waits.
 */
export function clusterOptionsFor(
  role: RedisRole,
  redisOptions: RedisOptions,
  maxReconnectDelayMs = 10_000,
): ClusterOptions {
  // The Cluster keeps its own node connections without a retry strategy (a
  // lost node is re-found through the slot map), so only the per-command
  // options of the role apply to them.
  const {
    retryStrategy: _ignored,
    enableOfflineQueue,
    ...node
  } = connectionOptionsFor(role, maxReconnectDelayMs);
  return {
    redisOptions: { ...node, ...redisOptions },
    enableOfflineQueue: enableOfflineQueue ?? true,
    clusterRetryStrategy: (times) => reconnectDelay(times, maxReconnectDelayMs),
    // A command for the slots of a dead master is retried every 200 ms on the
    // re-read slot map until a replica is promoted: a worker waits out about
    // 20 s of failover; a fail-fast role gives up after about 1 s, so a read
    // falls back to upstream (and the cache's circuit breaker opens) instead
    // of stalling for the whole failover.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 100,
    maxRedirections: role === 'worker' ? 100 : 5,
    // Re-read the slot map every few seconds too, not only after a MOVED
    // reply, so node-grouped pipelines go to a promoted replica early.
    slotsRefreshInterval: 2_000,
    slotsRefreshTimeout: 2_000,
  };
}

/**
 * Opens an ioredis connection for a role: a standalone `Redis` for a
 * `redis://` or `rediss://` URL, a `Cluster` for `redis+cluster://` or
 * `rediss+cluster://` (see {@link parseRedisUrl}). It connects in the
 * background: the process starts even when Redis is down, /readyz says so,
 * and the connection recovers by itself. Connection errors are logged (at
 * most once per outage), never thrown as unhandled 'error' events.
 */
export function createRedisConnection(url: string, options: RedisConnectionOptions): RedisClient {
  const log = options.logger.child({
    component: 'redis',
    role: options.role,
    connection: options.name,
  });
  const target = parseRedisUrl(url);
  const connectionName = `fiml:${options.name}`;
  const client: RedisClient =
    target.kind === 'cluster'
      ? new Cluster(
          target.nodes.map((node) => ({ ...node })),
          clusterOptionsFor(
            options.role,
            { ...target.options, connectionName },
            options.maxReconnectDelayMs,
          ),
        )
      : new Redis(url, {
          ...connectionOptionsFor(options.role, options.maxReconnectDelayMs),
          connectionName,
        });
  let down = false;
  client.on('error', (error: Error) => {
    if (down) return;
    down = true;
    log.warn({ err: error }, 'redis connection lost; reconnecting with backoff');
  });
  client.on('ready', () => {
    if (down) log.info('redis connection restored');
    else log.debug('redis connection ready');
    down = false;
  });
  return client;
}

/**
 * Closes a connection for shutdown: QUIT when it is up (pending replies are
 * read first), otherwise a plain disconnect. A fail-fast connection (the
 * `cache` and `producer` roles) cannot send QUIT while Redis is down or still
 * connecting, and shutting down during an outage must not fail for it. The
 * closed client is then retired ({@link retireRedis}).
 */
export async function closeRedis(connection: RedisClient): Promise<void> {
  try {
    if (connection.status === 'ready') {
      try {
        await connection.quit();
        return;
      } catch {
        // Lost between the check and the command: nothing left to flush.
      }
    }
    connection.disconnect();
  } finally {
    retireRedis(connection);
  }
}

/**
 * Makes a closed client unable to come back, so nothing it still has in
 * flight can hold the process open. A Redis reconnects when something calls
 * `connect()` after the close (BullMQ's fetch loop does, after an outage). A
 * Cluster also re-arms its `slotsRefreshInterval` timer from the callback of
 * a slot refresh that was in flight at the close (ioredis 5: the timer is
 * cleared, then set again), and then refreshes every interval forever; a
 * refresh that finds no node (the cluster gone too) ends in a reconnect with
 * backoff. Call after quit() or disconnect(); the client is done for good.
 */
export function retireRedis(client: RedisClient): void {
  client.connect = () => Promise.resolve();
  if (client instanceof Cluster) {
    // Never calls back: the re-armed timer fires once more and the loop ends.
    (client as unknown as { refreshSlotsCache: () => void }).refreshSlotsCache = () => undefined;
  }
}
