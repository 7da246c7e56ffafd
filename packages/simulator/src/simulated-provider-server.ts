import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ASSET_TYPES,
  isAssetType,
  isDataType,
  normalizeSymbol,
  systemClock,
  type Clock,
} from '@fiml/market';
import type { Logger } from '@fiml/runtime';
import {
  type AssetRef,
  type SimEarningsResponse,
  type SimErrorBody,
  SIMULATED_PROFILE_NAMES,
  type SimulatedProfile,
  type SimulatedProfileName,
} from '@fiml/providers';
import { SimulatedMarket, type SimulatedMarketOptions } from './simulated-market.js';
import { SimulatedUpstream } from './simulated-upstream.js';

const DAY_MS = 86_400_000;
/** Longest earnings-calendar range one request may ask for. */
const MAX_CALENDAR_DAYS = 92;

export interface SimulatedProviderServerOptions {
  readonly seed: number | string;
  /** @defaultValue '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @defaultValue 0 */
  readonly port?: number;
  /** @defaultValue systemClock */
  readonly clock?: Clock;
  /** Universe sizes and walk parameters of the market (its seed is `seed`). */
  readonly market?: Omit<SimulatedMarketOptions, 'seed'>;
  /** The upstreams served. @defaultValue the three of market-week.md */
  readonly profiles?: readonly (SimulatedProfileName | SimulatedProfile)[];
  /** Overrides every profile's failure rate (share of calls answered 503). */
  readonly failureRate?: number;
  /** Wait each call's modeled latency before answering. @defaultValue false */
  readonly delay?: boolean;
  /** Multiplies modeled latencies when `delay` is on (0.1 for a fast demo). @defaultValue 1 */
  readonly latencyScale?: number;
  /** How to wait when `delay` is on. @defaultValue a setTimeout promise */
  readonly sleep?: (ms: number) => Promise<void>;
  /** When set, every /v1 request must send it in `x-api-key` (to exercise key handling). */
  readonly apiKey?: string;
  readonly logger?: Logger;
}

export interface SimulatedProviderServer {
  /** http://host:port, without a trailing slash. */
  readonly url: string;
  readonly port: number;
  readonly market: SimulatedMarket;
  /** The upstreams by provider id. */
  readonly upstreams: ReadonlyMap<string, SimulatedUpstream>;
  /** Stops accepting, ends open connections, resolves when closed. Idempotent. */
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: SimErrorBody['error'],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(body.message);
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  res
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
    .end(JSON.stringify(body));
}

const badRequest = (message: string) => new HttpError(400, { code: 'bad_request', message });

function parseDay(value: string | null, name: string): number {
  if (
    !value ||
    !/^\d{4}-\d{2}-\d{2}$/.test(value) ||
    !Number.isFinite(Date.parse(`${value}T00:00:00Z`))
  ) {
    throw badRequest(`${name} must be a YYYY-MM-DD date`);
  }
  return Date.parse(`${value}T00:00:00Z`);
}

/**
 * Serves the simulated upstreams over HTTP, so the default deployment runs
 * the real HTTP adapter path (timeouts, 429s with Retry-After, 5xx, JSON
 * validation) against a deterministic market. The API is in the README.
 */
export async function startSimulatedProviderServer(
  options: SimulatedProviderServerOptions,
): Promise<SimulatedProviderServer> {
  const clock = options.clock ?? systemClock;
  const log = options.logger?.child({ component: 'sim-provider-server' });
  const market = new SimulatedMarket({ ...options.market, seed: options.seed });
  const upstreams = new Map<string, SimulatedUpstream>();
  for (const profile of options.profiles ?? SIMULATED_PROFILE_NAMES) {
    const upstream = new SimulatedUpstream({
      market,
      profile,
      clock,
      ...(options.failureRate === undefined ? {} : { failureRate: options.failureRate }),
    });
    upstreams.set(upstream.id, upstream);
  }
  const sleep =
    options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const latencyScale = options.latencyScale ?? 1;

  async function data(
    res: ServerResponse,
    upstream: SimulatedUpstream,
    dataTypeText: string,
    query: URLSearchParams,
  ) {
    if (!isDataType(dataTypeText)) throw badRequest(`unknown data type "${dataTypeText}"`);
    const assetType = query.get('assetType');
    if (!isAssetType(assetType))
      throw badRequest(`assetType must be one of ${ASSET_TYPES.join(', ')}`);
    const raw = (query.get('symbols') ?? '').split(',').filter((s) => s.trim() !== '');
    const symbols: string[] = [];
    for (const text of raw) {
      const symbol = normalizeSymbol(text);
      if (!symbol) throw badRequest(`not a symbol: ${JSON.stringify(text)}`);
      if (!symbols.includes(symbol)) symbols.push(symbol);
    }
    const assets: AssetRef[] = symbols.map((symbol) => ({ symbol, assetType }));
    const answer = upstream.call(dataTypeText, assets);
    if (options.delay) await sleep(answer.latencyMs * latencyScale);
    switch (answer.status) {
      case 'bad-request':
        throw badRequest(answer.message);
      case 'rate-limited':
        throw new HttpError(
          429,
          {
            code: 'rate_limited',
            message: 'rate limit exceeded',
            retryAfterMs: answer.retryAfterMs,
          },
          { 'retry-after': String(Math.ceil(answer.retryAfterMs / 1000)) },
        );
      case 'failed':
        throw new HttpError(answer.httpStatus, {
          code: 'unavailable',
          message: 'simulated upstream failure',
        });
      case 'ok':
        return send(res, 200, {
          provider: upstream.id,
          dataType: dataTypeText,
          asOf: answer.asOf,
          data: Object.fromEntries(answer.data),
          notFound: answer.notFound,
        });
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const parts = url.pathname.split('/').filter(Boolean);
    if (req.method !== 'GET') {
      throw new HttpError(
        405,
        { code: 'bad_request', message: `${req.method} is not allowed` },
        { allow: 'GET' },
      );
    }
    if (url.pathname === '/healthz') return send(res, 200, { status: 'ok' });
    if (parts[0] !== 'v1')
      throw new HttpError(404, { code: 'not_found', message: `no route ${url.pathname}` });
    if (options.apiKey !== undefined && req.headers['x-api-key'] !== options.apiKey) {
      throw new HttpError(401, { code: 'unauthorized', message: 'missing or wrong x-api-key' });
    }
    if (parts[1] === 'providers' && parts.length === 2) {
      return send(res, 200, {
        providers: [...upstreams.values()].map((u) => ({ ...u.profile, budget: u.budget() })),
      });
    }
    if (parts[1] === 'providers' && parts.length === 4) {
      const upstream = upstreams.get(parts[2]!);
      if (!upstream)
        throw new HttpError(404, { code: 'not_found', message: `no provider "${parts[2]!}"` });
      return data(res, upstream, parts[3]!, url.searchParams);
    }
    if (parts[1] === 'universe' && parts.length === 2) {
      const assetType = url.searchParams.get('assetType');
      if (!isAssetType(assetType))
        throw badRequest(`assetType must be one of ${ASSET_TYPES.join(', ')}`);
      return send(res, 200, { assetType, symbols: market.universe[assetType] });
    }
    if (parts[1] === 'earnings' && parts.length === 2) {
      const from = parseDay(url.searchParams.get('from'), 'from');
      const to = parseDay(url.searchParams.get('to'), 'to');
      if (to < from || to - from > MAX_CALENDAR_DAYS * DAY_MS) {
        throw badRequest(`to must be on or after from, at most ${MAX_CALENDAR_DAYS} days later`);
      }
      const body: SimEarningsResponse = { earnings: market.earningsCalendar(from, to) };
      return send(res, 200, body);
    }
    throw new HttpError(404, { code: 'not_found', message: `no route ${url.pathname}` });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) {
        log?.debug({ url: req.url?.split('?')[0], status: error.status }, 'sim request refused');
        if (!res.headersSent) send(res, error.status, { error: error.body }, error.headers);
        return;
      }
      log?.error({ err: error, url: req.url?.split('?')[0] }, 'sim request failed');
      if (!res.headersSent)
        send(res, 500, { error: { code: 'internal', message: 'internal error' } });
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';
  const shownHost =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    market,
    upstreams,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive sockets would hold close() open until they time out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
