import type { FastifyInstance, RouteOptions, onResponseHookHandler } from 'fastify';
import { z } from 'zod';
import {
  HTTP_UNMATCHED_ROUTE,
  type HttpMetrics,
  type HttpRouteRecorder,
} from '@fiml/observability';
import type { AccessLevel } from './auth.js';

/** The body of every error answer, as documented in OpenAPI (see ErrorBody in errors.ts). */
export const errorBodySchema = z.object({
  error: z.object({
    /** A stable code (`FIML_VALIDATION`, `FIML_UNAUTHORIZED`, …). */
    code: z.string(),
    message: z.string(),
    /** For validation errors: each bad field, as a dotted path (`symbols.2`). */
    fields: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
  /** The request id, also in the `x-request-id` header. */
  requestId: z.string(),
});

/** An error response of a route, documented with what it means there. */
export function errorResponse(description: string) {
  return errorBodySchema.describe(description);
}

const COMMON_ERRORS = {
  400: errorResponse('Invalid request: FIML_VALIDATION names each bad field in `error.fields`'),
  401: errorResponse('FIML_UNAUTHORIZED: no API key, or one that is not valid'),
  413: errorResponse('FIML_BODY_TOO_LARGE'),
  415: errorResponse('FIML_UNSUPPORTED_MEDIA_TYPE: the body must be application/json'),
  429: errorResponse('FIML_RATE_LIMITED: over the per-key request limit; see Retry-After'),
  500: errorResponse('FIML_INTERNAL: a bug on our side, logged under the request id'),
  503: errorResponse(
    'FIML_OVERLOADED, or a dependency is unavailable (FIML_QUEUE_UNAVAILABLE, FIML_CACHE_UNAVAILABLE, FIML_UPSTREAM_*); see Retry-After',
  ),
} as const;

/** OpenAPI security requirements by access level: who must (or may) present a key. */
function securityOf(access: AccessLevel, readsRequireKey: boolean): Record<string, string[]>[] {
  const key = [{ apiKey: [] }, { bearerAuth: [] }];
  if (access === 'write' || access === 'admin') return key;
  if (access === 'read') return readsRequireKey ? key : [{}, ...key];
  return [];
}

export interface RouteConventionOptions {
  /** Counts every response by route template; absent: not counted. */
  readonly httpMetrics?: HttpMetrics;
  readonly readsRequireKey: boolean;
  /** Whether the per-key request limit is on (then every limited route may answer 429). */
  readonly rateLimited: boolean;
}

/** The response-counting hook of one route: the one onResponse hook a request runs for metrics. */
function countingHook(recorder: HttpRouteRecorder): onResponseHookHandler {
  return function countResponse(request, reply, done) {
    recorder.record(request.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  };
}

/**
 * What every route gets without writing it: its responses counted under its
 * template (one onResponse hook per route, holding its recorder, so a
 * request neither looks up nor builds its route label), and in OpenAPI the
 * key it needs (per operation, so "Try it out" sends it) and the error
 * answers every route can give. Must be installed before any route is
 * registered. Returns the counting hook of the not-found route.
 */
export function installRouteConventions(
  app: FastifyInstance,
  options: RouteConventionOptions,
): { unmatchedHook: onResponseHookHandler | undefined } {
  const { httpMetrics } = options;
  app.addHook('onRoute', (route: RouteOptions) => {
    if (httpMetrics) {
      const hook = countingHook(httpMetrics.route(route.url));
      const existing = route.onResponse;
      route.onResponse =
        existing === undefined
          ? [hook]
          : [...(Array.isArray(existing) ? existing : [existing]), hook];
    }
    document(route, options);
  });
  const unmatched = httpMetrics?.route(HTTP_UNMATCHED_ROUTE);
  return { unmatchedHook: unmatched && countingHook(unmatched) };
}

/** Adds the security requirement and the common error responses to a documented route's schema. */
function document(route: RouteOptions, options: RouteConventionOptions): void {
  const schema = route.schema as
    (Record<string, unknown> & { hide?: boolean; response?: Record<string, unknown> }) | undefined;
  if (schema?.hide) return;
  const access = (route.config as { access?: AccessLevel } | undefined)?.access ?? 'public';
  const security = securityOf(access, options.readsRequireKey);
  if (!schema) {
    // An undocumented operations route (/healthz, /metrics): it needs no key.
    route.schema = { security };
    return;
  }
  const errors: Record<string, unknown> = { 500: COMMON_ERRORS[500], 503: COMMON_ERRORS[503] };
  if (schema.params || schema.querystring || schema.body) errors[400] = COMMON_ERRORS[400];
  const needsKey =
    access === 'write' || access === 'admin' || (access === 'read' && options.readsRequireKey);
  if (needsKey) errors[401] = COMMON_ERRORS[401];
  if (schema.body) {
    errors[413] = COMMON_ERRORS[413];
    errors[415] = COMMON_ERRORS[415];
  }
  if (options.rateLimited) errors[429] = COMMON_ERRORS[429];
  route.schema = {
    ...schema,
    security,
    // The route's own answers win over the common ones (a 503 it describes more precisely).
    response: { ...errors, ...schema.response },
  };
}
