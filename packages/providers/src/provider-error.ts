/** Stable codes of {@link ProviderError}; callers branch on these, never on messages. */
export const ProviderErrorCode = {
  /** The upstream answered 429 (or its equivalent). `retryAfterMs` says when to try again. */
  RATE_LIMITED: 'FIML_PROVIDER_RATE_LIMITED',
  /** Our own shared limiter refused the call before it was made: the budget is spent. */
  BUDGET_EXHAUSTED: 'FIML_PROVIDER_BUDGET_EXHAUSTED',
  /** The upstream answered 5xx or an unexpected status. */
  UPSTREAM: 'FIML_PROVIDER_UPSTREAM_ERROR',
  /** No complete answer within the timeout. */
  TIMEOUT: 'FIML_PROVIDER_TIMEOUT',
  /** The connection failed (refused, reset, DNS). */
  NETWORK: 'FIML_PROVIDER_NETWORK',
  /** The body was not JSON, or JSON of the wrong shape. `body` holds its start. */
  BAD_RESPONSE: 'FIML_PROVIDER_BAD_RESPONSE',
  /** 401/403: a missing or wrong API key, or a plan that does not include the endpoint. */
  AUTH: 'FIML_PROVIDER_AUTH',
  /** Another 4xx: the request was wrong. A bug on our side or an API change. */
  BAD_REQUEST: 'FIML_PROVIDER_BAD_REQUEST',
  /**
   * The provider's answer left this symbol out (or held no usable value for
   * it) without saying the symbol does not exist. Unlike not-found, this is no
   * answer: the registry asks the next provider, and nothing is negative-cached.
   */
  OMITTED: 'FIML_PROVIDER_OMITTED',
  /**
   * The provider does not serve this asset type or data type, or cannot ask
   * its upstream about this symbol (a ticker without a CoinGecko coin id).
   */
  UNSUPPORTED: 'FIML_PROVIDER_UNSUPPORTED',
  /** The symbol does not match SYMBOL_PATTERN. */
  INVALID_SYMBOL: 'FIML_PROVIDER_INVALID_SYMBOL',
  /** No provider is configured for this (asset type, data type). */
  NO_ROUTE: 'FIML_PROVIDER_NO_ROUTE',
  /** The call was cancelled by the caller's AbortSignal. */
  ABORTED: 'FIML_PROVIDER_ABORTED',
  /** An adapter threw something unexpected: a bug, wrapped so it cannot escape as a rejection. */
  INTERNAL: 'FIML_PROVIDER_INTERNAL',
} as const;
export type ProviderErrorCode = (typeof ProviderErrorCode)[keyof typeof ProviderErrorCode];

/** Most characters of an upstream body kept on an error: enough to diagnose, never a whole page. */
export const MAX_ERROR_BODY_CHARS = 500;

/** The start of an upstream body, for an error or a log line. */
export function truncateBody(body: string, max = MAX_ERROR_BODY_CHARS): string {
  return body.length > max ? `${body.slice(0, max)}… (${body.length} chars)` : body;
}

const RETRYABLE: ReadonlySet<ProviderErrorCode> = new Set([
  ProviderErrorCode.RATE_LIMITED,
  ProviderErrorCode.BUDGET_EXHAUSTED,
  ProviderErrorCode.UPSTREAM,
  ProviderErrorCode.TIMEOUT,
  ProviderErrorCode.NETWORK,
  ProviderErrorCode.OMITTED,
]);

export interface ProviderErrorOptions {
  readonly providerId: string;
  /** HTTP status, when the upstream answered. */
  readonly status?: number;
  /** When the upstream (or our limiter) allows the next call. */
  readonly retryAfterMs?: number;
  /** The upstream body, truncated to {@link MAX_ERROR_BODY_CHARS}. */
  readonly body?: string;
  readonly cause?: unknown;
}

/**
 * Everything that can go wrong with one provider call, typed. Adapters never
 * reject: a failed call yields this error for every asset of the batch, and a
 * per-symbol failure for that symbol only. Messages never contain API keys
 * (adapters report the URL path without its query).
 */
export class ProviderError extends Error {
  readonly code: ProviderErrorCode;
  readonly providerId: string;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly body: string | undefined;

  constructor(code: ProviderErrorCode, message: string, options: ProviderErrorOptions) {
    super(
      `${options.providerId}: ${message}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'ProviderError';
    this.code = code;
    this.providerId = options.providerId;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.body = options.body === undefined ? undefined : truncateBody(options.body);
  }

  /** Whether another attempt (later, or at another provider) can succeed. */
  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }

  /** Wraps anything thrown by adapter code into a ProviderError (a ProviderError passes through). */
  static from(error: unknown, providerId: string): ProviderError {
    if (error instanceof ProviderError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new ProviderError(ProviderErrorCode.INTERNAL, `unexpected failure: ${message}`, {
      providerId,
      cause: error,
    });
  }
}
