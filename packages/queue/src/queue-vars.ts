import { envVar, parsers } from '@fiml/config';

/** The queue Redis and the BullMQ key prefix: every process that produces or consumes jobs. */
const REDIS_QUEUE_URL = envVar(parsers.redisUrl(), {
  description:
    'Redis for BullMQ queues only. Run it with `maxmemory-policy noeviction` and AOF on. A Redis Cluster is named by `redis+cluster://` and its seed nodes; queue keys carry a hash tag, so every queue of a deployment lives on one master (see docs/DEPLOYMENT.md).',
  expected:
    'redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379/0; a Cluster: redis+cluster://host:port,host:port (rediss+cluster:// for TLS)',
});

const QUEUE_PREFIX = envVar(parsers.keyPrefix(), {
  description:
    'Prefix of every BullMQ key. It is wrapped in a hash tag (`{fiml}`), so all keys of all queues share one Redis Cluster slot. Every process of one deployment must use the same value.',
  expected: '1-32 letters, digits, ".", "_" or "-"',
  default: 'fiml',
});

export const queueVars = { REDIS_QUEUE_URL, QUEUE_PREFIX };
