import type { Clock } from '@fiml/market';
import type { z } from 'zod';
import { ProviderError, ProviderErrorCode, truncateBody } from '../provider-error.js';

/** One GET an adapter makes. */
export interface HttpJsonRequest {
  readonly providerId: string;
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** The caller's cancellation, combined with the timeout. */
  readonly signal?: AbortSignal;
  /** @defaultValue the global fetch */
  readonly fetch?: typeof fetch;
  /** Reads "now" for HTTP-date Retry-After values. */
  readonly clock: Clock;
  /** Retry-After assumed when a 429 carries none (the API's shortest window, usually). */
  readonly defaultRetryAfterMs: number;
  /**
   * Most bytes of body read (after decompression); a longer answer is a
   * BAD_RESPONSE and its connection is dropped. @defaultValue {@link DEFAULT_MAX_RESPONSE_BYTES}
   */
  readonly maxResponseBytes?: number;
}

/**
 * 16 MiB: far above any batch's answer from the adapters here (a 100-symbol
 * price answer is tens of kilobytes), and still a bounded allocation when an
 * upstream streams without end.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export interface HttpJsonResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: unknown;
}

/**
 * The URL as errors show it: origin and path only. Several APIs take the key
 * in the query string (Finnhub `token`, Polygon `apiKey`), so the query never
 * reaches a message or a log line.
 */
export function describeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/**
 * When a refused call may be retried, from `Retry-After` (seconds or an HTTP
 * date) or, failing that, `X-RateLimit-Reset` (epoch seconds, as Finnhub
 * sends). Undefined when neither is usable.
 */
export function retryAfterFrom(headers: Headers, now: number): number | undefined {
  const retryAfter = headers.get('retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.ceil(Number(retryAfter) * 1000);
    const at = Date.parse(retryAfter);
    if (Number.isFinite(at)) return Math.max(0, at - now);
  }
  const reset = headers.get('x-ratelimit-reset')?.trim();
  if (reset && /^\d+$/.test(reset)) {
    const ms = Number(reset) * 1000 - now;
    if (ms >= 0 && ms < 86_400_000) return ms;
  }
  return undefined;
}

function statusError(
  request: HttpJsonRequest,
  status: number,
  headers: Headers,
  text: string,
): ProviderError {
  const where = describeUrl(request.url);
  const common = { providerId: request.providerId, status, body: text };
  if (status === 429) {
    const retryAfterMs =
      retryAfterFrom(headers, request.clock.now()) ?? request.defaultRetryAfterMs;
    return new ProviderError(
      ProviderErrorCode.RATE_LIMITED,
      `429 from ${where}; retry after ${retryAfterMs} ms`,
      {
        ...common,
        retryAfterMs,
      },
    );
  }
  if (status === 401 || status === 403) {
    return new ProviderError(
      ProviderErrorCode.AUTH,
      `${status} from ${where} (API key missing, wrong, or not entitled)`,
      common,
    );
  }
  if (status >= 500) {
    const retryAfterMs = retryAfterFrom(headers, request.clock.now());
    return new ProviderError(ProviderErrorCode.UPSTREAM, `${status} from ${where}`, {
      ...common,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  if (status >= 400)
    return new ProviderError(ProviderErrorCode.BAD_REQUEST, `${status} from ${where}`, common);
  return new ProviderError(
    ProviderErrorCode.UPSTREAM,
    `unexpected status ${status} from ${where}`,
    common,
  );
}

/**
 * GETs JSON with a timeout. Resolves only for a 2xx with a JSON body; every
 * failure (network, timeout, cancellation, non-2xx, non-JSON) is thrown as a
 * typed {@link ProviderError} carrying the provider id and the start of the body.
 */
export async function getJson(request: HttpJsonRequest): Promise<HttpJsonResponse> {
  const where = describeUrl(request.url);
  const timeout = AbortSignal.timeout(request.timeoutMs);
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
  const doFetch = request.fetch ?? fetch;
  const maxBytes = request.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  let status: number;
  let headers: Headers;
  let text: string;
  try {
    const response = await doFetch(request.url, {
      method: 'GET',
      headers: { accept: 'application/json', ...request.headers },
      signal,
    });
    status = response.status;
    headers = response.headers;
    // The timeout covers the body too: a server that stalls mid-body is a timeout.
    const body = await readBody(response, maxBytes);
    if (body === undefined) {
      if (status >= 200 && status <= 299) {
        throw new ProviderError(
          ProviderErrorCode.BAD_RESPONSE,
          `response from ${where} is larger than ${maxBytes} bytes; not read further`,
          { providerId: request.providerId, status },
        );
      }
      text = `(a body of more than ${maxBytes} bytes, not read)`;
    } else {
      text = body;
    }
  } catch (error) {
    if (error instanceof ProviderError) throw error;
    if (timeout.aborted) {
      throw new ProviderError(
        ProviderErrorCode.TIMEOUT,
        `no answer from ${where} within ${request.timeoutMs} ms`,
        {
          providerId: request.providerId,
          cause: error,
        },
      );
    }
    if (request.signal?.aborted) {
      throw new ProviderError(ProviderErrorCode.ABORTED, `call to ${where} cancelled`, {
        providerId: request.providerId,
        cause: error,
      });
    }
    const reason =
      error instanceof Error
        ? error.cause instanceof Error
          ? error.cause.message
          : error.message
        : String(error);
    throw new ProviderError(ProviderErrorCode.NETWORK, `cannot reach ${where}: ${reason}`, {
      providerId: request.providerId,
      cause: error,
    });
  }
  if (status < 200 || status > 299) throw statusError(request, status, headers, text);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ProviderError(
      ProviderErrorCode.BAD_RESPONSE,
      `malformed JSON from ${where}: ${truncateBody(text, 80)}`,
      {
        providerId: request.providerId,
        status,
        body: text,
        cause: error,
      },
    );
  }
  return { status, headers, text, json };
}

/**
 * The body as text, or undefined past `maxBytes` (its connection dropped). A
 * body whose Content-Length says it fits and that is not compressed is read
 * whole (undici reads no more than that length); any other (chunked, or
 * compressed: a few kilobytes of gzip can inflate to gigabytes) is counted as
 * it arrives.
 */
async function readBody(response: Response, maxBytes: number): Promise<string | undefined> {
  const length = response.headers.get('content-length');
  const encoding = response.headers.get('content-encoding');
  const identity = encoding === null || encoding.trim().toLowerCase() === 'identity';
  if (identity && length !== null && /^\d+$/.test(length.trim())) {
    if (Number(length) > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      return undefined;
    }
    return response.text();
  }
  if (!response.body) return '';
  const reader = response.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const decoder = new TextDecoder();
  let read = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    read += value.byteLength;
    if (read > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    text += decoder.decode(value, { stream: true });
  }
}

/** Validates a response body; a mismatch is a BAD_RESPONSE naming the first problems. */
export function parseBody<S extends z.ZodType>(
  schema: S,
  response: HttpJsonResponse,
  request: Pick<HttpJsonRequest, 'providerId' | 'url'>,
): z.output<S> {
  const parsed = schema.safeParse(response.json);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`)
    .join('; ');
  throw new ProviderError(
    ProviderErrorCode.BAD_RESPONSE,
    `response from ${describeUrl(request.url)} does not match the expected shape (${issues})`,
    {
      providerId: request.providerId,
      status: response.status,
      body: response.text,
      cause: parsed.error,
    },
  );
}
