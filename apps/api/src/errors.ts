import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
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

/** Fastify's own client-error codes, mapped to ours. */
const FASTIFY_CLIENT_ERRORS: Readonly<Record<string, { status: number; code: string }>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'FIML_BAD_JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'FIML_BAD_JSON' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'FIML_BODY_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'FIML_UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'FIML_BAD_REQUEST' },
};

function send(
  reply: FastifyReply,
  status: number,
  body: Omit<ErrorBody, 'requestId'>,
): FastifyReply {
  return reply.status(status).send({ ...body, requestId: reply.request.id });
}

/**
 * The one place that maps errors to HTTP responses: client mistakes are 4xx
 * with a code and the offending fields, an unavailable dependency is 503 with
 * Retry-After, and only our own bugs are 500 (logged with the request id).
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const fields = error.validation.map((v) => ({
        path: v.instancePath.replace(/^\//, '').replace(/\//g, '.'),
        message: v.message ?? 'invalid',
      }));
      const where = error.validationContext ?? 'request';
      return send(reply, 400, {
        error: {
          code: 'FIML_VALIDATION',
          message: `invalid ${where}: ${fields.map((f) => `${f.path || '(' + where + ')'}: ${f.message}`).join('; ')}`,
          fields,
        },
      });
    }
    if (error instanceof InvalidJobPayloadError) {
      return send(reply, 400, {
        error: { code: 'FIML_VALIDATION', message: error.message, fields: [...error.issues] },
      });
    }
    if (error instanceof CacheUnavailableError) {
      // The cache Redis did not take a delete, publish or write: the value may
      // still be there, so the client must not be told it worked.
      request.log.warn({ err: error }, error.message);
      void reply.header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))));
      return send(reply, 503, {
        error: {
          code: error.code,
          message: `the cache is unavailable (its Redis did not take the ${error.operation}); retry later`,
        },
      });
    }
    if (error instanceof HttpError) {
      if (error.statusCode >= 500) request.log.warn({ err: error.cause ?? error }, error.message);
      void reply.headers(error.headers);
      return send(reply, error.statusCode, { error: { code: error.code, message: error.message } });
    }
    const known = FASTIFY_CLIENT_ERRORS[error.code];
    if (known)
      return send(reply, known.status, { error: { code: known.code, message: error.message } });
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      return send(reply, error.statusCode, {
        error: { code: 'FIML_BAD_REQUEST', message: error.message },
      });
    }
    request.log.error({ err: error }, 'unhandled error');
    return send(reply, 500, { error: { code: 'FIML_INTERNAL', message: 'internal error' } });
  });

  app.setNotFoundHandler((request, reply) =>
    send(reply, 404, {
      error: {
        code: 'FIML_NOT_FOUND',
        message: `No route ${request.method} ${request.url.split('?')[0]}`,
      },
    }),
  );
}
