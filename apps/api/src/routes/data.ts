import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  FetchFailedError,
  NoLoaderError,
  cacheKey,
  type BatchReadResult,
  type CacheRead,
  type ReadOptions,
} from '@fiml/cache';
import { ASSET_TYPES, DATA_TYPES, type AssetType, type Clock, type DataType } from '@fiml/market';
import { ProviderErrorCode } from '@fiml/providers';
import { z } from 'zod';
import { clientOf } from '../auth.js';
import { handedOver } from '../handover.js';
import { errorResponse } from '../route-conventions.js';
import { apiSymbol } from '../symbols.js';
import { ClientShareSpentError } from '../upstream-gate.js';
import {
  HttpError,
  UPSTREAM_BUDGET_SPENT,
  budgetSpentError,
  budgetSpentRetryAfterMs,
  retryAfterSeconds,
} from '../errors.js';

/** Refused by our limiter because the client's share of the provider's window is spent. */
export const CLIENT_SHARE_SPENT = 'FIML_CLIENT_SHARE_SPENT';

/** The part of the CacheManager the data routes use. */
export interface DataCache {
  read(
    dataType: DataType,
    assetType: AssetType,
    symbol: string,
    options?: ReadOptions,
  ): Promise<CacheRead>;
  readMany(
    dataType: DataType,
    assetType: AssetType,
    symbols: readonly string[],
    options?: ReadOptions,
  ): Promise<BatchReadResult[]>;
  invalidate(keys: string | readonly string[]): Promise<void>;
  /** `read`'s L1 step, synchronously (CacheManager.readL1); absent: no hot reads. */
  readL1?(dataType: DataType, assetType: AssetType, symbol: string): CacheRead | undefined;
}

/** Where successful reads are recorded for the warmer (an AccessRecorder). */
export interface AccessLog {
  /** One successful read of `key` at `at` (epoch ms, when the read was made). */
  record(key: string, at?: number): void;
}

/** A read the api did not fetch upstream because the provider's budget left to it is spent. */
export interface BudgetSpentMiss {
  readonly dataType: DataType;
  readonly assetType: AssetType;
  readonly symbol: string;
  /** When a call fits the api's share of the window again. */
  readonly retryAfterMs: number;
}

/** Who may cause how many upstream calls (an UpstreamGate). */
export interface ReadGate {
  /** The options charging `client` for a read's fetches on a route; undefined: nothing to charge. */
  readOptions(client: string, dataType: DataType, assetType: AssetType): ReadOptions | undefined;
  /** Counts symbols refused because the api's share of the provider's window is spent. */
  budgetRefused(dataType: DataType, assetType: AssetType, symbols: number): void;
}

export interface DataRoutesOptions {
  readonly cache: DataCache;
  /** Per-client upstream shares. Absent: any client may spend the api's whole share. */
  readonly gate?: ReadGate;
  /**
   * Asks the batch-scheduler for a key the api did not fetch for budget (one
   * deduplicated urgent refresh per key), so the client's retry is a hit. A
   * failure is logged; the client gets its 503 either way. Absent: nothing is queued.
   */
  readonly refreshMiss?: (miss: BudgetSpentMiss) => Promise<unknown>;
  readonly clock: Clock;
  readonly access?: AccessLog;
  /** Responses are for one client only (reads need a key): `private` caching. */
  readonly privateResponses: boolean;
}

/** A single read's 429s: the request limit, or the client's share of the upstream budget. */
const READ_429 = errorResponse(
  'FIML_RATE_LIMITED (over the per-key request limit) or FIML_CLIENT_SHARE_SPENT (not cached, and this client’s share of the provider’s call budget is spent; not queued); see Retry-After',
);
const READ_503 = errorResponse(
  'FIML_UPSTREAM_BUDGET_SPENT (not cached, the api’s share of the provider’s budget is spent; queued for the batch-scheduler, retry after Retry-After), FIML_UPSTREAM_UNAVAILABLE (the provider failed and nothing is cached) or FIML_OVERLOADED; see Retry-After',
);

/** Most symbols in one batch read. */
export const MAX_BATCH_SYMBOLS = 200;
const UPSTREAM_RETRY_AFTER_SECONDS = 5;

const dataType = z.enum(DATA_TYPES, { error: `one of ${DATA_TYPES.join(', ')}` });
const assetType = z
  .enum(ASSET_TYPES, { error: `one of ${ASSET_TYPES.join(', ')}` })
  .default('equity');
const cacheStatus = z.enum(['l1', 'l2', 'miss', 'stale']);

const datum = z.object({
  symbol: z.string(),
  assetType: z.enum(ASSET_TYPES),
  dataType: z.enum(DATA_TYPES),
  data: z.unknown(),
  /** The provider that answered. */
  source: z.string(),
  fetchedAt: z.string(),
  /** When the value stops being fresh. */
  expiresAt: z.string(),
  cache: cacheStatus,
});

const batchItem = z.discriminatedUnion('status', [
  datum.extend({ status: z.literal('ok') }),
  z.object({ symbol: z.string(), status: z.literal('not-found') }),
  z.object({
    symbol: z.string(),
    status: z.literal('error'),
    error: z.object({ code: z.string(), message: z.string() }),
  }),
  /**
   * Not cached and not fetched: this client's share of the provider's call
   * budget is spent (one client never spends everyone's). Not queued.
   */
  z.object({
    symbol: z.string(),
    status: z.literal('rate-limited'),
    /** When this symbol fits the client's share again. */
    retryAfterSeconds: z.number().int(),
    error: z.object({ code: z.string(), message: z.string() }),
  }),
  /** Not cached and not fetched: the call budget is spent; queued for the batch-scheduler. */
  z.object({
    symbol: z.string(),
    status: z.literal('budget-spent'),
    /** When to read it again (it should be cached by then). */
    retryAfterSeconds: z.number().int(),
    error: z.object({ code: z.string(), message: z.string() }),
  }),
]);

const symbolList = z
  .string()
  .transform((text) =>
    text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .pipe(
    z
      .array(apiSymbol)
      .min(1, 'at least one symbol')
      .max(MAX_BATCH_SYMBOLS, `at most ${MAX_BATCH_SYMBOLS} symbols`),
  );

function cacheLabel(read: CacheRead): z.infer<typeof cacheStatus> {
  if (read.stale) return 'stale';
  return read.from === 'upstream' ? 'miss' : read.from;
}

/**
 * What an entry looks like on the wire, computed once per entry version (a
 * hot key is read thousands of times between refreshes; date formatting is
 * most of the per-read cost outside the cache itself).
 */
interface Wire {
  readonly fetchedAt: string;
  readonly expiresAt: string;
  readonly etag: string;
  /** The serialized single-read body, by cache label (the only field that varies per read). */
  readonly bodies: Map<string, string>;
}
const wireOf = new WeakMap<CacheRead['entry'], Wire>();
function wire(entry: CacheRead['entry']): Wire {
  let w = wireOf.get(entry);
  if (!w) {
    w = {
      fetchedAt: new Date(entry.fetchedAt).toISOString(),
      expiresAt: new Date(entry.softExpiresAt).toISOString(),
      etag: `"${entry.fetchedAt.toString(36)}-${entry.source}"`,
      bodies: new Map(),
    };
    wireOf.set(entry, w);
  }
  return w;
}

/** Sends a body that is already JSON, past the route's typed serializer. */
function sendSerialized(reply: FastifyReply, body: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(body);
}

/** A read that found a value, as the api answers it (the `datum` schema). */
function present(
  read: CacheRead,
  symbol: string,
  assetType: AssetType,
  dataType: DataType,
): z.infer<typeof datum> {
  const w = wire(read.entry);
  return {
    symbol,
    assetType,
    dataType,
    data: read.value,
    source: read.entry.source,
    fetchedAt: w.fetchedAt,
    expiresAt: w.expiresAt,
    cache: cacheLabel(read),
  };
}

/** The answer to a single read that found a value: its body and caching headers. */
export interface FoundAnswer {
  readonly body: string;
  readonly etag: string;
  readonly cacheControl: string;
}

/**
 * The answer to a single read that found a value, at `now`. The body of an
 * entry version is serialized once per cache label and reused: the symbol,
 * asset and data type are the entry's own key, so they cannot differ.
 * Shared by the route and the hot reads (hot-reads.ts), so both answer alike.
 */
export function foundAnswer(
  read: CacheRead,
  symbol: string,
  assetType: AssetType,
  dataType: DataType,
  visibility: 'public' | 'private',
  now: number,
): FoundAnswer {
  const w = wire(read.entry);
  const label = cacheLabel(read);
  let body = w.bodies.get(label);
  if (body === undefined) {
    body = JSON.stringify(present(read, symbol, assetType, dataType));
    w.bodies.set(label, body);
  }
  const remaining = Math.floor((read.entry.softExpiresAt - now) / 1000);
  const cacheControl =
    read.stale || remaining <= 0
      ? `${visibility}, max-age=0, must-revalidate`
      : `${visibility}, max-age=${remaining}`;
  return { body, etag: w.etag, cacheControl };
}

/**
 * What a client is told about an upstream failure: the kind of failure, in
 * our words. Never the error's own text, which names internal URLs, sockets
 * and whatever the upstream answered.
 */
export function upstreamFailure(error: unknown): string {
  const cause: unknown = error instanceof FetchFailedError ? error.cause : error;
  const code = (cause as { code?: unknown } | undefined)?.code;
  switch (code) {
    case ProviderErrorCode.TIMEOUT:
      return 'the upstream provider did not answer in time; retry later';
    case ProviderErrorCode.RATE_LIMITED:
      return 'the upstream provider refused the call (its rate limit); retry later';
    case ProviderErrorCode.NO_ROUTE:
    case ProviderErrorCode.UNSUPPORTED:
      return 'no upstream provider serves this symbol';
    default:
      return 'the upstream provider is unavailable and nothing is cached; retry later';
  }
}

/** When a failed read was refused for the client's share: the ms until it fits again. */
function clientShareRetryAfterMs(error: unknown): number | undefined {
  const cause: unknown = error instanceof FetchFailedError ? error.cause : error;
  return cause instanceof ClientShareSpentError ? cause.retryAfterMs : undefined;
}

/** The message of a read refused for the client's share. */
function clientShareMessage(what: string, seconds: number): string {
  return `${what} is not cached and this client's share of the provider's call budget is spent; retry in ${seconds} s`;
}

/** Maps a failed read to the answer a client can act on. */
function readFailure(error: unknown, dataType: DataType, assetType: AssetType): HttpError {
  if (error instanceof NoLoaderError) {
    return new HttpError(400, 'FIML_UNSUPPORTED', `no provider serves ${assetType} ${dataType}`);
  }
  if (error instanceof FetchFailedError) {
    const cause = error.cause as { retryAfterMs?: unknown; message?: unknown } | undefined;
    const retryAfterMs = typeof cause?.retryAfterMs === 'number' ? cause.retryAfterMs : undefined;
    const seconds = retryAfterMs
      ? Math.max(1, Math.ceil(retryAfterMs / 1000))
      : UPSTREAM_RETRY_AFTER_SECONDS;
    return new HttpError(
      503,
      'FIML_UPSTREAM_UNAVAILABLE',
      'the upstream provider is unavailable and nothing is cached; retry later',
      { 'retry-after': String(seconds) },
      { cause: error },
    );
  }
  throw error;
}

/**
 * Reads through the cache: GET /v1/data/:dataType/:symbol (one symbol, with
 * Cache-Control and an ETag) and GET /v1/data/:dataType?symbols=… (a batch,
 * a result per symbol, the misses fetched in one coalesced upstream call per
 * provider).
 */
export const dataRoutes: FastifyPluginAsyncZod<DataRoutesOptions> = (app, options) => {
  const visibility = options.privateResponses ? 'private' : 'public';

  /** Queues a budget-spent miss for the batch-scheduler; a queue failure is logged, not thrown. */
  async function refreshMiss(log: FastifyBaseLogger, miss: BudgetSpentMiss): Promise<void> {
    if (!options.refreshMiss) return;
    try {
      await options.refreshMiss(miss);
    } catch (error) {
      log.warn(
        { err: error, key: cacheKey(miss.dataType, miss.assetType, miss.symbol) },
        'could not queue a miss refused for budget; the client retries it later',
      );
    }
  }

  app.get(
    '/v1/data/:dataType/:symbol',
    {
      config: { access: 'read' },
      // Hot path: the handler sends a body it serialized (once per entry version)
      // from typed values; the schema documents it in OpenAPI without re-validating
      // every response. See bench/results/api-load.md.
      serializerCompiler: () => (data) => JSON.stringify(data),
      schema: {
        summary: 'Read one symbol through the cache',
        params: z.object({ dataType, symbol: apiSymbol }),
        querystring: z.object({ assetType }),
        response: {
          200: datum,
          304: z.void().describe('Not modified: the ETag still matches'),
          404: errorResponse('FIML_SYMBOL_NOT_FOUND: the provider does not know the symbol'),
          429: READ_429,
          503: READ_503,
        },
      },
    },
    async (request, reply) => {
      const { dataType, symbol } = request.params;
      const { assetType } = request.query;
      // A not-found entry the hot reads found in L1 and handed over: already read and counted.
      const handed = handedOver(request.raw)?.read;
      const readAt = handed?.at ?? options.clock.now();
      let read: CacheRead;
      try {
        read =
          handed?.value ??
          (await options.cache.read(
            dataType,
            assetType,
            symbol,
            options.gate?.readOptions(clientOf(request), dataType, assetType),
          ));
      } catch (error) {
        const shareMs = clientShareRetryAfterMs(error);
        if (shareMs !== undefined) {
          const seconds = retryAfterSeconds(shareMs);
          throw new HttpError(
            429,
            CLIENT_SHARE_SPENT,
            clientShareMessage(`${assetType} ${symbol}`, seconds),
            { 'retry-after': String(seconds) },
            { cause: error },
          );
        }
        const retryAfterMs = budgetSpentRetryAfterMs(error);
        if (retryAfterMs === undefined) throw readFailure(error, dataType, assetType);
        options.gate?.budgetRefused(dataType, assetType, 1);
        await refreshMiss(request.log, { dataType, assetType, symbol, retryAfterMs });
        throw budgetSpentError(`${assetType} ${symbol}`, retryAfterMs, error);
      }
      if (!read.found) {
        throw new HttpError(
          404,
          'FIML_SYMBOL_NOT_FOUND',
          `${assetType} ${symbol} is not known to the provider`,
        );
      }
      // Only a read that found a value counts for the warmer, under the time it was made.
      options.access?.record(cacheKey(dataType, assetType, symbol), readAt);
      const answer = foundAnswer(
        read,
        symbol,
        assetType,
        dataType,
        visibility,
        options.clock.now(),
      );
      void reply.header('cache-control', answer.cacheControl);
      void reply.header('etag', answer.etag);
      const ifNoneMatch = request.headers['if-none-match'];
      if (
        ifNoneMatch &&
        ifNoneMatch.split(',').some((tag) => tag.trim() === answer.etag || tag.trim() === '*')
      ) {
        return reply.status(304).send();
      }
      return sendSerialized(reply, answer.body);
    },
  );

  app.get(
    '/v1/data/:dataType',
    {
      config: { access: 'read' },
      schema: {
        summary: `Read up to ${MAX_BATCH_SYMBOLS} symbols through the cache`,
        params: z.object({ dataType }),
        querystring: z.object({ symbols: symbolList, assetType }),
        response: {
          200: z.object({
            dataType: z.enum(DATA_TYPES),
            assetType: z.enum(ASSET_TYPES),
            results: z.array(batchItem),
          }),
        },
      },
    },
    async (request, reply) => {
      const { dataType } = request.params;
      const { assetType } = request.query;
      const symbols = [...new Set(request.query.symbols)];
      const readAt = options.clock.now();
      let results: BatchReadResult[];
      try {
        results = await options.cache.readMany(
          dataType,
          assetType,
          symbols,
          options.gate?.readOptions(clientOf(request), dataType, assetType),
        );
      } catch (error) {
        throw readFailure(error, dataType, assetType);
      }
      void reply.header('cache-control', `${visibility}, max-age=0`);
      const misses: BudgetSpentMiss[] = [];
      const answers = results.map((r) => {
        if (r.status === 'error') {
          const shareMs = clientShareRetryAfterMs(r.error);
          if (shareMs !== undefined) {
            const seconds = retryAfterSeconds(shareMs);
            return {
              symbol: r.symbol,
              status: 'rate-limited' as const,
              retryAfterSeconds: seconds,
              error: { code: CLIENT_SHARE_SPENT, message: clientShareMessage('it', seconds) },
            };
          }
          const retryAfterMs = budgetSpentRetryAfterMs(r.error);
          if (retryAfterMs !== undefined) {
            misses.push({ dataType, assetType, symbol: r.symbol, retryAfterMs });
            const seconds = retryAfterSeconds(retryAfterMs);
            return {
              symbol: r.symbol,
              status: 'budget-spent' as const,
              retryAfterSeconds: seconds,
              error: {
                code: UPSTREAM_BUDGET_SPENT,
                message: `not cached and the provider's call budget is spent; queued for the next call, retry in ${seconds} s`,
              },
            };
          }
          // The cause stays in our logs and metrics: its text names internal URLs and sockets.
          return {
            symbol: r.symbol,
            status: 'error' as const,
            error: { code: 'FIML_UPSTREAM_UNAVAILABLE', message: upstreamFailure(r.error) },
          };
        }
        if (!r.read.found) return { symbol: r.symbol, status: 'not-found' as const };
        options.access?.record(cacheKey(dataType, assetType, r.symbol), readAt);
        return { status: 'ok' as const, ...present(r.read, r.symbol, assetType, dataType) };
      });
      // One deduplicated refresh per key, as for single reads: a key refused here and in a
      // single read meanwhile is queued once.
      options.gate?.budgetRefused(dataType, assetType, misses.length);
      await Promise.all(misses.map((miss) => refreshMiss(request.log, miss)));
      return { dataType, assetType, results: answers };
    },
  );

  app.delete(
    '/v1/cache/:dataType/:symbol',
    {
      config: { access: 'write' },
      schema: {
        summary: 'Invalidate one symbol in every tier of every instance',
        params: z.object({ dataType, symbol: apiSymbol }),
        querystring: z.object({ assetType }),
        response: {
          204: z.void().describe('Invalidated in L2 and announced to every instance'),
          503: errorResponse(
            'FIML_CACHE_UNAVAILABLE: the cache Redis did not take the delete or its invalidation; the value may still be cached, see Retry-After',
          ),
        },
      },
    },
    async (request, reply) => {
      const { dataType, symbol } = request.params;
      await options.cache.invalidate(cacheKey(dataType, request.query.assetType, symbol));
      request.log.info({ dataType, symbol, assetType: request.query.assetType }, 'invalidated');
      return reply.status(204).send();
    },
  );
  return Promise.resolve();
};
