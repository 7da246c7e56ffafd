import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type {
  FastifyBaseLogger,
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onResponseHookHandler,
} from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { CacheUnavailableError, FetchFailedError } from '@fiml/cache';
import { ProviderError, ProviderErrorCode } from '@fiml/providers';
import { InvalidJobPayloadError } from '@fiml/queue';

/** The JSON body of every error the API returns. */
export interface ErrorBody {
  error: {
    code: string;
    message: string;
    /** For validation errors: each bad field, as a dotted path (`symbols.2`). */
    fields?: { path: string; message: string }[];
  };
  requestId: string;
}

/** An error whose HTTP status and code the API chose on purpose. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HttpError';
  }
}

/**
 * A miss the api did not fetch because our own limiter keeps the rest of the
 * provider's window for the batch-scheduler (not the upstream's 429): the key
 * is queued for the scheduler's next pooled call, and a retry after
 * Retry-After is served from the cache.
 */
export const UPSTREAM_BUDGET_SPENT = 'FIML_UPSTREAM_BUDGET_SPENT';

/**
 * When a failed read failed only because the provider's call budget left to
 * the api was spent: the ms until a call fits again. Undefined for every other
 * failure. The cache surfaces the loader's error as the FetchFailedError's
 * cause, and the registry's error is the last provider's: a budget refusal at
 * the primary that a fallback answered with another failure is not this.
 */
export function budgetSpentRetryAfterMs(error: unknown): number | undefined {
  const cause: unknown = error instanceof FetchFailedError ? error.cause : error;
  if (!(cause instanceof ProviderError) || cause.code !== ProviderErrorCode.BUDGET_EXHAUSTED) {
    return undefined;
  }
  return cause.retryAfterMs ?? 0;
}

/** A Retry-After value: whole seconds, at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** The 503 of a miss refused for budget (see {@link UPSTREAM_BUDGET_SPENT}). */
export function budgetSpentError(what: string, retryAfterMs: number, cause: unknown): HttpError {
  const seconds = retryAfterSeconds(retryAfterMs);
  return new HttpError(
    503,
    UPSTREAM_BUDGET_SPENT,
    `${what} is not cached and the provider's call budget is spent; it is queued for the next call, retry in ${seconds} s`,
    { 'retry-after': String(seconds) },
    { cause },
  );
}

/** Longest text of the client's own (a path, a field name) echoed in an error message. */
const MAX_ECHO_CHARS = 120;
/** Most fields one validation error lists; the message says how many more there were. */
const MAX_FIELDS = 20;

/** The client's text in a message: quoted as JSON, and cut when long (a 10 KB symbol stays in the client's logs). */
export function echo(text: string): string {
  const shown = text.length > MAX_ECHO_CHARS ? `${text.slice(0, MAX_ECHO_CHARS)}…` : text;
  return JSON.stringify(shown);
}

/**
 * Fastify's own client errors, mapped to ours with fixed messages: theirs
 * echo the request (a content type, a URL, a JSON parser's view of the body).
 */
const FASTIFY_CLIENT_ERRORS: Readonly<
  Record<string, { readonly status: number; readonly code: string; readonly message: string }>
> = {
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    code: 'FIML_BAD_JSON',
    message: 'the body is not valid JSON',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: 'FIML_BAD_JSON',
    message: 'the body is empty but its content type is application/json',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    code: 'FIML_BODY_TOO_LARGE',
    message: 'the body is larger than this api accepts',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'FIML_UNSUPPORTED_MEDIA_TYPE',
    message: 'the body must be application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: 'FIML_BAD_REQUEST',
    message: 'Content-Length does not match the body',
  },
  FST_ERR_CTP_INVALID_TYPE: {
    status: 400,
    code: 'FIML_BAD_REQUEST',
    message: 'the Content-Type header is not valid',
  },
  // Before routing (Fastify's frameworkErrors).
  FST_ERR_BAD_URL: {
    status: 400,
    code: 'FIML_BAD_URL',
    message: 'the URL is not valid (bad percent-encoding)',
  },
  FST_ERR_MAX_PARAM_LENGTH: {
    status: 414,
    code: 'FIML_URI_TOO_LONG',
    message: 'a path segment of the URL is too long',
  },
};

/** Codes and fixed messages of the other 4xx a plugin may raise (a static file's 403, say). */
function clientStatus(status: number): { code: string; message: string } {
  switch (status) {
    case 401:
      return { code: 'FIML_UNAUTHORIZED', message: 'an API key is required' };
    case 403:
      return { code: 'FIML_FORBIDDEN', message: 'not allowed' };
    case 404:
      return { code: 'FIML_NOT_FOUND', message: 'not found' };
    case 405:
      return { code: 'FIML_METHOD_NOT_ALLOWED', message: 'method not allowed' };
    case 413:
      return { code: 'FIML_BODY_TOO_LARGE', message: 'the body is larger than this api accepts' };
    case 415:
      return { code: 'FIML_UNSUPPORTED_MEDIA_TYPE', message: 'the body must be application/json' };
    default:
      return { code: 'FIML_BAD_REQUEST', message: 'the request is malformed' };
  }
}

/** The error body of one answer, and the request id header with it (also on answers that skipped the hooks). */
export function sendError(
  reply: FastifyReply,
  status: number,
  error: ErrorBody['error'],
): FastifyReply {
  return reply
    .status(status)
    .header('x-request-id', reply.request.id)
    .type('application/json; charset=utf-8')
    .send({ error, requestId: reply.request.id });
}

/** A JSON body Node's parser or a JSON.parse refused: a SyntaxError Fastify marked 400. */
function isJsonSyntaxError(error: FastifyError): boolean {
  return error instanceof SyntaxError && error.statusCode === 400;
}

/**
 * The one place that maps errors to HTTP responses: client mistakes are 4xx
 * with a code and the offending fields, an unavailable dependency is 503 with
 * Retry-After, and only our own bugs are 500 (logged with the request id).
 * No body carries a stack trace, a file path, an internal URL or an
 * upstream's error text: messages are ours, and the client's own text is
 * echoed only quoted and cut ({@link echo}).
 */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const all = error.validation.map((v) => ({
      path: v.instancePath.replace(/^\//, '').replace(/\//g, '.').slice(0, MAX_ECHO_CHARS),
      message: (v.message ?? 'invalid').slice(0, 2 * MAX_ECHO_CHARS),
    }));
    const fields = all.slice(0, MAX_FIELDS);
    const where = error.validationContext ?? 'request';
    const more = all.length > fields.length ? ` (and ${all.length - fields.length} more)` : '';
    return sendError(reply, 400, {
      code: 'FIML_VALIDATION',
      message: `invalid ${where}: ${fields.map((f) => `${f.path || '(' + where + ')'}: ${f.message}`).join('; ')}${more}`,
      fields,
    });
  }
  if (error instanceof InvalidJobPayloadError) {
    return sendError(reply, 400, {
      code: 'FIML_VALIDATION',
      message: error.message,
      fields: [...error.issues],
    });
  }
  if (error instanceof CacheUnavailableError) {
    // The cache Redis did not take a delete, publish or write: the value may
    // still be there, so the client must not be told it worked.
    request.log.warn({ err: error }, error.message);
    void reply.header('retry-after', String(retryAfterSeconds(error.retryAfterMs)));
    return sendError(reply, 503, {
      code: error.code,
      message: `the cache is unavailable (its Redis did not take the ${error.operation}); retry later`,
    });
  }
  if (error instanceof HttpError) {
    if (error.statusCode >= 500) request.log.warn({ err: error.cause ?? error }, error.message);
    void reply.headers(error.headers);
    return sendError(reply, error.statusCode, { code: error.code, message: error.message });
  }
  const known = FASTIFY_CLIENT_ERRORS[error.code];
  if (known) return sendError(reply, known.status, { code: known.code, message: known.message });
  if (isJsonSyntaxError(error)) {
    return sendError(reply, 400, { code: 'FIML_BAD_JSON', message: 'the body is not valid JSON' });
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    request.log.info({ err: error }, 'client error');
    return sendError(reply, error.statusCode, clientStatus(error.statusCode));
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendError(reply, 500, { code: 'FIML_INTERNAL', message: 'internal error' });
}

/** The answer to a request no route matched: 404, the path echoed (cut when long). */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split('?', 1)[0] ?? '';
  return sendError(reply, 404, {
    code: 'FIML_NOT_FOUND',
    message: `No route ${request.method} ${path.length > MAX_ECHO_CHARS ? echo(path) : path}`,
  });
}

/**
 * Fastify's errors before routing (its `frameworkErrors` option): bad
 * percent-encoding, a path parameter over maxParamLength. No hook runs for
 * them, so the handler sets what the hooks would (the request id).
 */
export function frameworkErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const known = FASTIFY_CLIENT_ERRORS[error.code];
  if (known) return sendError(reply, known.status, { code: known.code, message: known.message });
  request.log.error({ err: error }, 'unhandled error before routing');
  return sendError(reply, 500, { code: 'FIML_INTERNAL', message: 'internal error' });
}

/** Errors of Node's HTTP parser, mapped to ours (see {@link clientErrorResponse}). */
function parserError(code = ''): { status: number; code: string; message: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        code: 'FIML_HEADERS_TOO_LARGE',
        message: 'the request line and headers are larger than this api accepts',
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'FIML_REQUEST_TIMEOUT', message: 'the request took too long' };
    default:
      return { status: 400, code: 'FIML_BAD_REQUEST', message: 'the HTTP request is malformed' };
  }
}

/**
 * The raw HTTP response to a request Node's parser refused (too large
 * headers, a malformed request line), in the api's error format, with a
 * fresh request id: `{ status, requestId, text }`. Written straight to the
 * socket by the api's clientErrorHandler (Fastify never saw the request).
 */
export function clientErrorResponse(
  code: string | undefined,
  requestId: string,
): { status: number; text: string } {
  const { status, ...error } = parserError(code);
  const body = JSON.stringify({ error, requestId });
  const text =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `X-Request-Id: ${requestId}\r\n` +
    'Connection: close\r\n\r\n' +
    body;
  return { status, text };
}

/**
 * Fastify's `clientErrorHandler`: answers a request Node's HTTP parser
 * refused (431 for too large headers, 408, 400) in the api's format with a
 * fresh request id, then closes the connection. `onAnswer` counts it.
 */
export function clientErrorHandler(
  log: Pick<FastifyBaseLogger, 'debug'>,
  onAnswer: (status: number) => void = () => undefined,
): (error: Error & { code?: string }, socket: Socket) => void {
  return (error, socket) => {
    // A reset connection, or one already gone: nobody to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const requestId = randomUUID();
    const { status, text } = clientErrorResponse(error.code, requestId);
    onAnswer(status);
    log.debug({ reqId: requestId, code: error.code, statusCode: status }, 'malformed HTTP request');
    // A response of an earlier request still being written on this connection: nothing more can go.
    const inFlight = (socket as Socket & { _httpMessage?: unknown })._httpMessage;
    if (!socket.writable || inFlight) {
      socket.destroy();
      return;
    }
    socket.end(text);
    // What the client is still sending is read and dropped, so closing the connection does not
    // reset it before the client has read the answer; a client that never stops is cut off.
    socket.resume();
    socket.setTimeout(CLIENT_ERROR_LINGER_MS, () => socket.destroy());
  };
}

/** How long a connection refused by the parser may keep sending before it is closed. */
const CLIENT_ERROR_LINGER_MS = 5_000;

/**
 * Installs the error handler and the not-found handler on the root instance.
 * `notFoundHooks` are lifecycle hooks of the not-found route (Fastify runs the
 * global hooks there too, and these after them).
 */
export function registerErrorHandling(
  app: FastifyInstance,
  notFoundHooks: { readonly onResponse?: onResponseHookHandler } = {},
): void {
  app.setErrorHandler(errorHandler);
  // Fastify runs any lifecycle hook given here; its typings list only preValidation and preHandler.
  app.setNotFoundHandler(
    notFoundHooks as Parameters<FastifyInstance['setNotFoundHandler']>[0],
    notFoundHandler,
  );
}
