import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  FetchFailedError,
  NoLoaderError,
  cacheKey,
  type BatchReadResult,
  type CacheRead,
} from '@fiml/cache';
import { ASSET_TYPES, DATA_TYPES, type AssetType, type Clock, type DataType } from '@fiml/market';
import { symbolSchema } from '@fiml/queue';
import { z } from 'zod';
import {
  HttpError,
  UPSTREAM_BUDGET_SPENT,
  budgetSpentError,
  budgetSpentRetryAfterMs,
  retryAfterSeconds,
} from '../errors.js';

/** The part of the CacheManager the data routes use. */
export interface DataCache {
  read(dataType: DataType, assetType: AssetType, symbol: string): Promise<CacheRead>;
  readMany(
    dataType: DataType,
    assetType: AssetType,
    symbols: readonly string[],
  ): Promise<BatchReadResult[]>;
  invalidate(keys: string | readonly string[]): Promise<void>;
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

export interface DataRoutesOptions {
  readonly cache: DataCache;
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
      .array(symbolSchema)
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

  function present(read: CacheRead, symbol: string, assetType: AssetType, dataType: DataType) {
    return {
      symbol,
      assetType,
      dataType,
      data: read.value,
      source: read.entry.source,
      fetchedAt: wire(read.entry).fetchedAt,
      expiresAt: wire(read.entry).expiresAt,
      cache: cacheLabel(read),
    };
  }

  function cacheHeaders(reply: FastifyReply, read: CacheRead): string {
    const remaining = Math.floor((read.entry.softExpiresAt - options.clock.now()) / 1000);
    void reply.header(
      'cache-control',
      read.stale || remaining <= 0
        ? `${visibility}, max-age=0, must-revalidate`
        : `${visibility}, max-age=${remaining}`,
    );
    const { etag } = wire(read.entry);
    void reply.header('etag', etag);
    return etag;
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
        params: z.object({ dataType, symbol: symbolSchema }),
        querystring: z.object({ assetType }),
        response: { 200: datum, 304: z.void().describe('Not modified: the ETag still matches') },
      },
    },
    async (request, reply) => {
      const { dataType, symbol } = request.params;
      const { assetType } = request.query;
      const readAt = options.clock.now();
      let read: CacheRead;
      try {
        read = await options.cache.read(dataType, assetType, symbol);
      } catch (error) {
        const retryAfterMs = budgetSpentRetryAfterMs(error);
        if (retryAfterMs === undefined) throw readFailure(error, dataType, assetType);
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
      const etag = cacheHeaders(reply, read);
      const ifNoneMatch = request.headers['if-none-match'];
      if (
        ifNoneMatch &&
        ifNoneMatch.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')
      ) {
        return reply.status(304).send();
      }
      // The body of an entry version is serialized once per cache label and reused:
      // the symbol, asset and data type are the entry's own key, so they cannot differ.
      const w = wire(read.entry);
      const label = cacheLabel(read);
      let body = w.bodies.get(label);
      if (body === undefined) {
        body = JSON.stringify(present(read, symbol, assetType, dataType));
        w.bodies.set(label, body);
      }
      return sendSerialized(reply, body);
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
        results = await options.cache.readMany(dataType, assetType, symbols);
      } catch (error) {
        throw readFailure(error, dataType, assetType);
      }
      void reply.header('cache-control', `${visibility}, max-age=0`);
      const misses: BudgetSpentMiss[] = [];
      const answers = results.map((r) => {
        if (r.status === 'error') {
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
          const failure = r.error instanceof FetchFailedError ? r.error.cause : r.error;
          return {
            symbol: r.symbol,
            status: 'error' as const,
            error: {
              code: 'FIML_UPSTREAM_UNAVAILABLE',
              message: failure instanceof Error ? failure.message : 'upstream unavailable',
            },
          };
        }
        if (!r.read.found) return { symbol: r.symbol, status: 'not-found' as const };
        options.access?.record(cacheKey(dataType, assetType, r.symbol), readAt);
        return { status: 'ok' as const, ...present(r.read, r.symbol, assetType, dataType) };
      });
      // One deduplicated refresh per key, as for single reads: a key refused here and in a
      // single read meanwhile is queued once.
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
        params: z.object({ dataType, symbol: symbolSchema }),
        querystring: z.object({ assetType }),
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
