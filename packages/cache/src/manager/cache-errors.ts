import type { AssetType, DataType } from '@fiml/market';

/** Thrown by `read`/`readMany` for a route with no loader. */
export class NoLoaderError extends Error {
  readonly code = 'FIML_CACHE_NO_LOADER';
  constructor(dataType: DataType, assetType: AssetType) {
    super(`no loader serves ${assetType} ${dataType}`);
    this.name = 'NoLoaderError';
  }
}

/** A fetch function broke its contract (resolved undefined, or a value of undefined). */
export class InvalidFetchResultError extends TypeError {
  readonly code = 'FIML_CACHE_INVALID_FETCH_RESULT';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidFetchResultError';
  }
}

/** Thrown when an upstream fetch fails and no stale value can stand in. */
export class FetchFailedError extends Error {
  readonly code = 'FIML_CACHE_FETCH_FAILED';
  constructor(key: string, options: { cause: unknown }) {
    super(`fetching ${key} failed and nothing is cached to serve instead`, options);
    this.name = 'FetchFailedError';
  }
}

/** A fetch outlived its hard timeout; the key is free for the next read. */
export class FetchTimeoutError extends Error {
  readonly code = 'FIML_CACHE_FETCH_TIMEOUT';
  constructor(what: string, timeoutMs: number) {
    super(`${what} did not settle within ${timeoutMs} ms`);
    this.name = 'FetchTimeoutError';
  }
}

/**
 * The cache Redis did not take a write, a delete or an invalidation (it failed,
 * or the circuit breaker is open). The caller must not report success: the
 * value may still be in L2. `retryAfterMs` says when the breaker tries Redis again.
 */
export class CacheUnavailableError extends Error {
  readonly code = 'FIML_CACHE_UNAVAILABLE';
  readonly operation: string;
  readonly retryAfterMs: number;
  constructor(operation: string, retryAfterMs: number, options?: { cause?: unknown }) {
    super(`the cache Redis did not take the ${operation}; retry in ${retryAfterMs} ms`, options);
    this.name = 'CacheUnavailableError';
    this.operation = operation;
    this.retryAfterMs = retryAfterMs;
  }
}
