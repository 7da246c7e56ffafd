import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { cacheKey, type CacheRead } from '@fiml/cache';
import { ASSET_TYPES, DATA_TYPES, type AssetType, type Clock, type DataType } from '@fiml/market';
import type { HttpRouteRecorder } from '@fiml/observability';
import type { Logger } from '@fiml/runtime';
import type { LimitCount } from './leased-rate-limit.js';
import { markHandedOver, type HandedOver } from './handover.js';
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

  return function hotRead(req, res) {
    if (req.method !== 'GET') return false;
    const url = req.url ?? '';
    const match = HOT_PATH.exec(url);
    if (match === null || req.headers['if-none-match'] !== undefined || options.busy()) {
      return false;
    }
    const sent = match[2]!;
    if (!CLIENT_SYMBOL_PATTERN.test(sent)) return false;
    const name = options.keyName(req);
    if (name === undefined && options.readsRequireKey) return false;

    const started = performance.now();
    const id = options.requestId(req.headers['x-request-id']);
    const handover: HandedOver = { id };
    let count: LimitCount | undefined;
    if (limit) {
      count = limit.take(name === undefined ? `ip:${req.socket.remoteAddress}` : `key:${name}`);
      if (count === undefined || count.current > limit.max) return handOver(req, handover);
      handover.limit = count;
    }

    const dataType = match[1] as DataType;
    const assetType = (match[3] ?? 'equity') as AssetType;
    const symbol = sent.toUpperCase();
    const at = clock.now();
    const read = cache.readL1(dataType, assetType, symbol);
    if (read === undefined) return handOver(req, handover);
    if (!read.found) {
      handover.read = { value: read, at };
      return handOver(req, handover);
    }
    access?.record(cacheKey(dataType, assetType, symbol), at);
    const answer = foundAnswer(read, symbol, assetType, dataType, visibility, clock.now());
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
      logger.info(
        {
          reqId: id,
          method: 'GET',
          url,
          statusCode: 200,
          ms: Math.round(seconds * 100_000) / 100,
          key: name,
        },
        'request',
      );
    }
    return true;
  };
}

function handOver(req: IncomingMessage, handover: HandedOver): false {
  markHandedOver(req, handover);
  return false;
}
