import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { cacheKey, type CacheRead } from '@fiml/cache';
import { ASSET_TYPES, DATA_TYPES, type AssetType, type Clock, type DataType } from '@fiml/market';
import type { HttpRouteRecorder } from '@fiml/observability';
import type { Logger } from '@fiml/runtime';
import type { LimitCount } from './leased-rate-limit.js';
import { clientId } from './auth.js';
import { markHandedOver, type HandedOver } from './handover.js';
import { requestLine } from './request-logger.js';
import { foundAnswer, type AccessLog } from './routes/data.js';
import { CLIENT_SYMBOL_PATTERN } from './symbols.js';

/** The single-read route, as it is labelled in metrics. */
export const SINGLE_READ_ROUTE = '/v1/data/:dataType/:symbol';

export interface HotReadOptions {
  readonly cache: {
    readL1(dataType: DataType, assetType: AssetType, symbol: string): CacheRead | undefined;
  };
  readonly clock: Clock;
  readonly logger: Logger;
  /** The request id of a request (its sane X-Request-Id, or the process's next). */
  readonly requestId: (header: string | string[] | undefined) => string;
  /** The name of the client key the headers present, if one is valid. */
  readonly keyName: (request: IncomingMessage) => string | undefined;
  readonly readsRequireKey: boolean;
  /** Responses are for one client only: `private` caching. */
  readonly privateResponses: boolean;
  /** The per-client request limit; absent: none. */
  readonly limit?: {
    readonly take: (client: string) => LimitCount | undefined;
    readonly max: number;
  };
  /** Whether the api is overloaded (under-pressure) or closing: then Fastify answers. */
  readonly busy: () => boolean;
  readonly access?: AccessLog;
  readonly recorder?: HttpRouteRecorder;
}

/** `/v1/data/<dataType>/<symbol>`, optionally `?assetType=<assetType>`: nothing else is hot. */
const HOT_PATH = new RegExp(
  `^/v1/data/(${DATA_TYPES.join('|')})/([^/?%]+)(?:\\?assetType=(${ASSET_TYPES.join('|')}))?$`,
);

/** What a hot path names: the read, in the route's terms, and its cache key. */
interface Target {
  readonly dataType: DataType;
  readonly assetType: AssetType;
  /** Upper-cased, as the route's validation answers it. */
  readonly symbol: string;
  readonly key: string;
}

/** Paths parsed so far (the hot set is small); cleared whole when it reaches its bound. */
const MAX_TARGETS = 10_000;
const MAX_TARGET_URL = 96;

/**
 * The api's hot path: a single read (GET /v1/data/:dataType/:symbol) that
 * L1 answers, served before Fastify routes the request. It gives the answer
 * the route gives (body, caching headers, request id, request-limit
 * headers), counted where the route counts it (request limit, cache hit,
 * access record, HTTP metrics, the request log line at info), without the
 * framework's per-request objects, hooks, schema validation and promises:
 * everything it needs per request is a regex, a few lookups and one write.
 *
 * Everything else goes to Fastify: other routes and methods, a path the
 * regex does not take (the route's validation answers it), conditional
 * requests, a missing or wrong key where one is needed, an overloaded or
 * closing api, a client with no request leased to this instance or over its
 * limit, an L1 miss and a not-found entry. What was counted before handing
 * over travels with the request (see {@link handedOver}), so nothing is
 * counted twice (handover.ts). Returns whether it answered.
 */
export function createHotReads(
  options: HotReadOptions,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { cache, clock, logger, limit, access, recorder } = options;
  const visibility = options.privateResponses ? 'private' : 'public';
  const limitHeader = limit ? String(limit.max) : '';
  // A path read again is parsed once: the regexes, the upper-casing and the cache key.
  const targets = new Map<string, Target | null>();
  function targetOf(url: string): Target | undefined {
    // Longer than any hot path can be: not remembered (the bound is in bytes too).
    if (url.length > MAX_TARGET_URL) return parse(url) ?? undefined;
    let target = targets.get(url);
    if (target === undefined) {
      target = parse(url);
      if (targets.size >= MAX_TARGETS) targets.clear();
      targets.set(url, target);
    }
    return target ?? undefined;
  }

  return function hotRead(req, res) {
    if (req.method !== 'GET') return false;
    const url = req.url ?? '';
    const target = targetOf(url);
    if (target === undefined || req.headers['if-none-match'] !== undefined || options.busy()) {
      return false;
    }
    const name = options.keyName(req);
    if (name === undefined && options.readsRequireKey) return false;

    const started = performance.now();
    const id = options.requestId(req.headers['x-request-id']);
    const handover: HandedOver = { id };
    let count: LimitCount | undefined;
    if (limit) {
      count = limit.take(clientId(name, req.socket.remoteAddress));
      if (count === undefined || count.current > limit.max) return handOver(req, handover);
      handover.limit = count;
    }

    const { dataType, assetType, symbol } = target;
    const at = clock.now();
    let read: CacheRead | undefined;
    try {
      read = cache.readL1(dataType, assetType, symbol);
    } catch {
      // Refused as read refuses it (a route no provider serves): the route answers why.
      return handOver(req, handover);
    }
    if (read === undefined) return handOver(req, handover);
    if (!read.found) {
      handover.read = { value: read, at };
      return handOver(req, handover);
    }
    access?.record(target.key, at);
    const answer = foundAnswer(read, symbol, assetType, dataType, visibility, at);
    // The route's headers, in its order (Node adds Date, Connection and Keep-Alive).
    const headers = ['x-request-id', id];
    if (count !== undefined) {
      headers.push(
        'x-ratelimit-limit',
        limitHeader,
        'x-ratelimit-remaining',
        String(limit!.max - count.current),
        'x-ratelimit-reset',
        String(Math.ceil(count.ttl / 1000)),
      );
    }
    headers.push(
      'cache-control',
      answer.cacheControl,
      'etag',
      answer.etag,
      'content-type',
      'application/json; charset=utf-8',
      'content-length',
      String(Buffer.byteLength(answer.body)),
    );
    res.writeHead(200, headers);
    res.end(answer.body);

    const seconds = (performance.now() - started) / 1000;
    recorder?.record('GET', 200, seconds);
    if (logger.isLevelEnabled('info')) {
      // The line Fastify's request log writes (app.ts, OneLinePerRequest), with its binding.
      logger.info({ reqId: id, ...requestLine('GET', url, 200, seconds * 1000, name) }, 'request');
    }
    return true;
  };
}

/** The read a path names, or null when the route's validation must answer it. */
function parse(url: string): Target | null {
  const match = HOT_PATH.exec(url);
  if (match === null || !CLIENT_SYMBOL_PATTERN.test(match[2]!)) return null;
  const dataType = match[1] as DataType;
  const assetType = (match[3] ?? 'equity') as AssetType;
  const symbol = match[2]!.toUpperCase();
  return { dataType, assetType, symbol, key: cacheKey(dataType, assetType, symbol) };
}

function handOver(req: IncomingMessage, handover: HandedOver): false {
  markHandedOver(req, handover);
  return false;
}
