import type { Clock } from '@fiml/market';
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
