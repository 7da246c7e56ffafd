import type { Clock } from '@fiml/market';
import type { HttpJsonRequest } from '../http/http-json.js';
import type { FetchOptions } from '../provider.js';
import type { RateLimitWindow } from '../rate-limit/rate-limit-window.js';

/** Options every HTTP adapter takes. */
export interface HttpAdapterOptions {
  /** The API's origin (and base path, where it has one); defaults to the public API. */
  readonly baseUrl?: string;
  readonly apiKey?: string;
  /** Per call, including reading the body. @defaultValue 5000 */
  readonly timeoutMs?: number;
  /**
   * Most bytes of an answer's body (after decompression); a longer one is a
   * BAD_RESPONSE, its connection dropped. @defaultValue 16 MiB (DEFAULT_MAX_RESPONSE_BYTES)
   */
  readonly maxResponseBytes?: number;
  /** The limits the limiter enforces. @defaultValue the adapter's documented free-plan limits */
  readonly rateLimits?: readonly RateLimitWindow[];
  /** @defaultValue the adapter's documented batch size */
  readonly maxBatchSize?: number;
  /** The provider id in routes and events. @defaultValue the adapter's name ("polygon") */
  readonly id?: string;
  /** @defaultValue systemClock */
  readonly clock?: Clock;
  /** @defaultValue the global fetch (Node 20's undici) */
  readonly fetch?: typeof fetch;
}

export const DEFAULT_TIMEOUT_MS = 5_000;

/** `base` + `path`, tolerating a trailing slash on the base and keeping any base path. */
export function joinUrl(base: string, path: string): URL {
  return new URL(`${base.replace(/\/+$/, '')}${path}`);
}

/** One upstream call of an HTTP adapter, as {@link httpRequest} assembles it. */
export interface AdapterCall {
  /** The adapter's provider id. */
  readonly providerId: string;
  /** The adapter's configuration (its timeout and fetch are read here). */
  readonly options: HttpAdapterOptions;
  readonly clock: Clock;
  readonly url: URL;
  /** The caller's options (its cancellation). */
  readonly call: FetchOptions;
  /** The API's authentication headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** Retry-After assumed when a 429 carries none (the API's shortest window). */
  readonly defaultRetryAfterMs: number;
}

/**
 * The request of one upstream call, assembled the same way by every HTTP
 * adapter: the configured timeout, body bound and fetch, and the caller's
 * cancellation.
 */
export function httpRequest(c: AdapterCall): HttpJsonRequest {
  return {
    providerId: c.providerId,
    url: c.url,
    headers: c.headers,
    timeoutMs: c.options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    clock: c.clock,
    defaultRetryAfterMs: c.defaultRetryAfterMs,
    ...(c.options.maxResponseBytes === undefined
      ? {}
      : { maxResponseBytes: c.options.maxResponseBytes }),
    ...(c.call.signal ? { signal: c.call.signal } : {}),
    ...(c.options.fetch ? { fetch: c.options.fetch } : {}),
  };
}
