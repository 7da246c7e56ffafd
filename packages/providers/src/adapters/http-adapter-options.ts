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

/** What an adapter knows when it assembles a call: who it is and how it was configured. */
export interface HttpCaller {
  readonly id: string;
  readonly options: HttpAdapterOptions;
  readonly clock: Clock;
}

/**
 * The request of one upstream call, assembled the same way by every HTTP adapter: the
 * adapter's id, the URL, its authentication headers, the configured timeout and fetch,
 * the caller's cancellation, and the Retry-After to assume when a 429 carries none
 * (the API's shortest window).
 */
export function httpRequest(
  caller: HttpCaller,
  url: URL,
  call: FetchOptions,
  auth: {
    readonly headers: Readonly<Record<string, string>>;
    readonly defaultRetryAfterMs: number;
  },
): HttpJsonRequest {
  return {
    providerId: caller.id,
    url,
    headers: auth.headers,
    timeoutMs: caller.options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    clock: caller.clock,
    defaultRetryAfterMs: auth.defaultRetryAfterMs,
    ...(call.signal ? { signal: call.signal } : {}),
    ...(caller.options.fetch ? { fetch: caller.options.fetch } : {}),
  };
}
