import { defineEnv, envVar, parsers, processVars, type EnvOf } from '@fiml/config';
import { cacheStoreVars, l1Vars, readPathVars, ttlVars } from '@fiml/cache';
import { providerVars } from '@fiml/providers';
import { queueVars } from '@fiml/queue';

const { apiKeys, boolean, decimal, hostname, integer, optionalSecret, port } = parsers;

/**
 * The api's environment: the fragments of the packages it composes (process,
 * queue, cache store, L1, TTL, providers, read path) and its own HTTP
 * variables. `main.ts` loads it with `loadConfigOrExit(apiEnv)`.
 */
export const apiEnv = defineEnv('api', {
  ...processVars,
  ...queueVars,
  ...cacheStoreVars,
  ...l1Vars,
  ...ttlVars,
  ...providerVars,
  API_HOST: envVar(hostname(), {
    description: 'Interface the HTTP API listens on.',
    expected: 'host name or IP address',
    default: '0.0.0.0',
  }),
  API_PORT: envVar(port(), {
    description: 'Port of the HTTP API, which also serves /metrics, /healthz and /readyz.',
    expected: 'integer 0-65535',
    default: '3000',
  }),
  API_KEYS: envVar(apiKeys(), {
    description:
      'Client API keys as `name:key` pairs, comma-separated (keys of 16-256 visible ASCII characters). A key is needed for POST, DELETE and /admin, and for reads when API_READS_REQUIRE_KEY is true; the name appears in logs and per-key rate limits, the key never. Empty: only the admin key is accepted.',
    expected:
      'name:key[,name:key…], names 1-32 of [A-Za-z0-9._-], keys 16-256 visible ASCII characters',
    default: '',
    secret: true,
  }),
  API_ADMIN_KEY: envVar(optionalSecret(16), {
    description:
      'The operator key: everything a client key can do, plus actions on the queue dashboard (/admin/queues is read-only with a client key). Empty disables admin actions.',
    expected: 'empty, or 16-256 visible ASCII characters',
    default: '',
    secret: true,
  }),
  API_READS_REQUIRE_KEY: envVar(boolean(), {
    description: 'Whether GET /v1/data and /v1/cache/report need an API key too.',
    expected: 'true or false',
    default: 'false',
  }),
  API_RATE_LIMIT_PER_MINUTE: envVar(integer(0, 10_000_000), {
    description:
      'Requests per minute per API key (per client address without a key), shared by every api instance through the cache Redis; 0 turns the limit off. /healthz, /readyz and /metrics are never limited.',
    expected: 'integer 0-10000000',
    default: '6000',
  }),
  API_CLIENT_UPSTREAM_SHARE: envVar(decimal(0, 1), {
    description:
      'Upstream budget fairness: the share of each rate-limited provider window (of the part the api may spend, after the batch-scheduler’s reserve) that one client (API key, or address without one) may spend on its cache misses, counted in symbols (a call carries up to the provider’s batch size). Shared by every api instance through the cache Redis. Past it, a read answers 429 and a batch read `rate-limited` for the symbols it could not fetch. 1 lets one client spend the api’s whole share; 0 turns the per-client share off (refusals are still counted).',
    expected: 'decimal 0-1',
    default: '0.25',
  }),
  API_ACCEPT_HANDLES: envVar(integer(1, 64), {
    description:
      "Listening handles the api takes new connections on, all on its one socket: libuv accepts one connection per handle per event-loop iteration, so a busy api with one handle (Node's way) takes a crowd of new connections at tens a second. 1 turns the extra handles off.",
    expected: 'integer 1-64',
    default: '32',
  }),
  API_MAX_EVENT_LOOP_DELAY_MS: envVar(integer(0, 60_000), {
    description:
      'Above this event-loop delay the api answers 503 with Retry-After instead of queueing more work it cannot serve in time; 0 turns the check off.',
    expected: 'integer milliseconds 0-60000',
    default: '1000',
  }),
  ...readPathVars,
});

export type ApiConfig = EnvOf<typeof apiEnv.vars>;
