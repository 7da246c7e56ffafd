import { envVar, parsers } from '@fiml/config';

const { integer, keyPatterns, keyPrefix, oneOf, redisUrl } = parsers;

const REDIS_CACHE_URL = envVar(redisUrl(), {
  description:
    'Redis for cache entries (L2) and access patterns. May be the same server as REDIS_QUEUE_URL in development; in production give it `maxmemory` with an LFU policy. A Redis Cluster is named by `redis+cluster://` and its seed nodes: entries spread over every master, invalidations use sharded pub/sub (Redis 7).',
  expected:
    'redis:// or rediss:// URL, e.g. redis://127.0.0.1:6380/0; a Cluster: redis+cluster://host:port,host:port (rediss+cluster:// for TLS)',
});

/**
 * The cache's variables. `cacheStoreVars`: where entries live and how long
 * negative and stale entries last, for every process that reads or writes the
 * cache (the writers must agree with the readers). `l1Vars`: the in-process
 * L1 of a reading process. `readPathVars`: the read-through path (fetch
 * bounds, coalescing, refresh ahead, fetch locks) of the api.
 */
export const cacheStoreVars = {
  REDIS_CACHE_URL,
  CACHE_KEY_PREFIX: envVar(keyPrefix(), {
    description:
      'First segment of every cache key in the cache Redis (`<prefix>:v1:price:equity:AAPL`), of the fetch locks and of the invalidation channel. Processes sharing a cache use the same value.',
    expected: '1-32 letters, digits, ".", "_" or "-"',
    default: 'fiml',
  }),
  CACHE_NEGATIVE_TTL: envVar(integer(1, 86_400), {
    description:
      'Seconds a "symbol not found" answer is cached, so unknown symbols do not cost an upstream call on every read.',
    expected: 'whole seconds 1-86400',
    default: '60',
  }),
  CACHE_STALE_IF_ERROR: envVar(integer(0, 7 * 86_400), {
    description:
      'Seconds past its freshness an entry is kept to stand in when the upstream fails (entries inside one TTL past freshness are served at once while refreshed in the background).',
    expected: 'whole seconds 0-604800',
    default: '3600',
  }),
};

export const l1Vars = {
  L1_MAX_ENTRIES: envVar(integer(1, 10_000_000), {
    description: 'Most entries in each process’s in-memory L1 cache.',
    expected: 'integer 1-10000000',
    default: '10000',
  }),
  L1_EVICTION_POLICY: envVar(oneOf(['adaptive', 'lru', 'lfu', 'hybrid']), {
    description:
      'Which L1 entry goes when it is full: `adaptive` (W-TinyLFU with hill climbing, tracks the best of recency and frequency), `lru`, `lfu` or `hybrid`.',
    expected: 'one of adaptive, lru, lfu, hybrid',
    default: 'adaptive',
  }),
  L1_PROTECTED_PATTERNS: envVar(keyPatterns(), {
    description:
      'Keys or `*` patterns over cache keys (`price:equity:AAPL`, `price:*:BTC`) never evicted from L1 for capacity. Comma-separated; empty for none.',
    expected: 'comma-separated keys or patterns',
    default: '',
  }),
};

export const readPathVars = {
  CACHE_FETCH_TIMEOUT_MS: envVar(integer(100, 600_000), {
    description:
      'Hard bound on one upstream fetch of the read path, its whole provider fallback chain included: past it the fetch is aborted, the key is free for the next read, and the read answers stale data if there is some, else 503.',
    expected: 'integer milliseconds 100-600000',
    default: '15000',
  }),
  CACHE_SOFT_FETCH_TIMEOUT_MS: envVar(integer(1, 600_000), {
    description:
      'After this long, a read that has stale data to fall back on answers with it while the fetch goes on (and fills the cache when it lands); reads with nothing cached wait up to CACHE_FETCH_TIMEOUT_MS.',
    expected: 'integer milliseconds 1-600000',
    default: '2000',
  }),
  CACHE_COALESCE_WINDOW_MS: envVar(integer(0, 1_000), {
    description:
      'How long the first miss of a provider route waits for other misses to share its upstream batch call; the batch goes out early when it reaches the provider’s batch size. 0: only misses of the same tick share a call.',
    expected: 'integer milliseconds 0-1000',
    default: '5',
  }),
  CACHE_REFRESH_AHEAD_FRACTION: envVar(parsers.decimal(0, 1), {
    description:
      'Refresh ahead: a read that finds a value fresh but in this last share of its freshness (0.5: the last 2.5 minutes of a 5-minute price) asks the batch-scheduler, once per entry, to refresh it by the time it goes stale, so a key read at least that often stays a fresh hit and the renewals of many keys share one upstream call. Keep it at most 1 − REFRESH_MIN_AGE_FRACTION: the batch-scheduler skips a non-urgent refresh of a younger entry. Only for routes whose provider takes several symbols per call; 0 turns it off.',
    expected: 'decimal 0-1',
    default: '0.5',
  }),
  CACHE_LOCK_TTL_MS: envVar(integer(100, 600_000), {
    description:
      'Lease of the cross-instance fetch lock that lets one api instance fetch a missed key while the others wait for its answer; renewed while the fetch runs, so it only bounds the wait when the holder dies.',
    expected: 'integer milliseconds 100-600000',
    default: '10000',
  }),
};
