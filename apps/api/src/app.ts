import { randomBytes } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import underPressure from '@fastify/under-pressure';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';

import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Cluster, Redis } from 'ioredis';
import { cacheKeySpace } from '@fiml/cache';
import type { Clock } from '@fiml/market';
import { HTTP_UNKNOWN_METHOD, HTTP_UNMATCHED_ROUTE, type HttpMetrics } from '@fiml/observability';
import { type Logger, type ReadinessCheck, type Registry } from '@fiml/runtime';
import {
  QueueName,
  REFRESH_JOB_NAME,
  WARM_CYCLE_JOB_NAME,
  refreshRequestSchema,
  warmCycleSchema,
} from '@fiml/queue';
import { clientOf, keyIdentifier, registerAuth, type AuthOptions } from './auth.js';
import {
  HttpError,
  clientErrorHandler,
  frameworkErrorHandler,
  registerErrorHandling,
} from './errors.js';
import { handedOver } from './handover.js';
import { SINGLE_READ_ROUTE, createHotReads } from './hot-reads.js';
import { LeasedRateLimit } from './leased-rate-limit.js';
import { registerQueueBoard } from './queue-board.js';
import { registerRequestLimit } from './request-limit.js';
import { lazyRequestLoggers, requestLine } from './request-logger.js';
import {
  dataRoutes,
  type AccessLog,
  type BudgetSpentMiss,
  type DataCache,
  type ReadGate,
} from './routes/data.js';
import { opsRoutes } from './routes/ops.js';
import { refreshRoutes, type RefreshEnqueuer } from './routes/refresh.js';
import { reportRoutes } from './routes/report.js';
import { installRouteConventions } from './route-conventions.js';

export interface AppDeps {
  readonly logger: Logger;
  readonly registry: Registry;
  readonly clock: Clock;
  /** Checks behind /readyz, by name: the queue and cache Redis roles. */
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
  readonly refresh: RefreshEnqueuer;
  /** The read path (a CacheManager). */
  readonly cache: DataCache;
  /** Queues a miss the api did not fetch for budget for the batch-scheduler; absent: nothing is queued. */
  readonly refreshMiss?: (miss: BudgetSpentMiss) => Promise<unknown>;
  /** Where reads are counted for the warmer. */
  readonly access?: AccessLog;
  /** Per-client upstream shares (an UpstreamGate). Absent: no per-client bound. */
  readonly gate?: ReadGate;
  /** The cache analytics report served at GET /v1/cache/report. */
  readonly report?: () => unknown;
  /** The warming runs and totals served at GET /v1/cache/warming. */
  readonly warming?: (limit: number) => Promise<unknown>;
  readonly auth: AuthOptions;
  /** Per-key request limits shared through Redis; absent or 0 per minute: no limit. */
  readonly rateLimit?: {
    readonly perMinute: number;
    readonly redis?: Redis | Cluster;
    /** CACHE_KEY_PREFIX: counters live under `<prefix>:v2:limit:` (see `cacheKeySpace`). */
    readonly keyPrefix: string;
  };
  /** Answer 503 above this event-loop delay; absent or 0: never. */
  readonly maxEventLoopDelayMs?: number;
  /** How often the event-loop delay is sampled. @defaultValue 1000 */
  readonly pressureSampleIntervalMs?: number;
  /** The queue dashboard; absent: not served. */
  readonly queueBoard?: {
    readonly connection: Redis | Cluster;
    readonly prefix: string;
    readonly discoveryIntervalMs?: number;
  };
  /** Largest request body accepted. @defaultValue 65536 */
  readonly bodyLimitBytes?: number;
  /** Counts every response by route template (fiml_http_*); absent: not counted. */
  readonly httpMetrics?: HttpMetrics;
  /**
   * Whether single reads that L1 answers are served before Fastify routes
   * them (hot-reads.ts; needs `cache.readL1`). @defaultValue true
   */
  readonly hotReads?: boolean;
}

/** Routes that must answer even when the process is overloaded or a client is over its limit. */
const OPERATIONS_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Request ids of this process: a random 72-bit prefix, drawn once, and a
 * counter ("q3Jx0v9aZk8i-1f4"). Unique across instances and restarts with
 * the odds of a UUID's, and a fraction of the cost of a UUID per request.
 */
function requestIds(): () => string {
  const prefix = `${randomBytes(9).toString('base64url')}-`;
  let next = 0;
  return () => prefix + (++next).toString(36);
}

/** A request id: the caller's X-Request-Id when it is sane, otherwise the next of this process. */
function requestId(header: string | string[] | undefined, fresh: () => string): string {
  return typeof header === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(header) ? header : fresh();
}

/**
 * One log line per request, written when the response is sent: method, URL,
 * status, time and the API key's name, under the request id. (Fastify's
 * default writes two.)
 */
class OneLinePerRequest extends LogController {
  constructor(private readonly root: Logger) {
    super();
  }

  override incomingRequest(): void {}
  override requestCompleted(
    error: Error | null,
    request: Parameters<LogController['requestCompleted']>[1],
    reply: Parameters<LogController['requestCompleted']>[2],
  ): void {
    // The root logger decides: request loggers inherit its level.
    if (!error && !this.root.isLevelEnabled('info')) return;
    const line = requestLine(
      request.method,
      request.url,
      reply.statusCode,
      reply.elapsedTime,
      request.apiKeyName,
    );
    if (error) reply.log.error({ ...line, err: error }, 'request failed');
    else reply.log.info(line, 'request');
  }
}

/** The server options Fastify hands a serverFactory, defaults applied (Fastify sets them so). */
interface ServerTimeouts {
  readonly http?: ServerOptions;
  readonly keepAliveTimeout: number;
  readonly requestTimeout: number;
  readonly connectionTimeout: number;
  readonly maxRequestsPerSocket: number;
}

/**
 * Builds the API without listening, from explicit dependencies, so tests run
 * it with `app.inject()` and no environment. The composition root (main.ts)
 * supplies real connections and calls `listen`.
 */
export function buildApp(deps: AppDeps) {
  // Typed as Fastify's base logger so plugins written against the default instance type fit.
  const loggerInstance: FastifyBaseLogger = deps.logger;
  // Requests refused before routing (Node's parser, Fastify's URL checks) skip every hook:
  // they are counted here, under the route label of requests no route matched.
  const unmatched = deps.httpMetrics?.route(HTTP_UNMATCHED_ROUTE);
  const freshId = requestIds();
  const nextId = (header: string | string[] | undefined) => requestId(header, freshId);
  // Set once the parts it uses exist (below); until then every request goes to Fastify.
  let hotRead: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  const app = Fastify({
    loggerInstance,
    bodyLimit: deps.bodyLimitBytes ?? 64 * 1024,
    // The hot reads answer L1 hits before Fastify routes them (hot-reads.ts); the server is
    // Fastify's own otherwise (its timeouts set as Fastify sets them).
    serverFactory: (handler, fastifyOptions) => {
      const options = fastifyOptions as unknown as ServerTimeouts;
      const server = createServer(options.http ?? {}, (req, res) => {
        if (hotRead === undefined || !hotRead(req, res)) handler(req, res);
      });
      server.keepAliveTimeout = options.keepAliveTimeout;
      server.requestTimeout = options.requestTimeout;
      server.setTimeout(options.connectionTimeout);
      if (options.maxRequestsPerSocket > 0)
        server.maxRequestsPerSocket = options.maxRequestsPerSocket;
      return server;
    },
    genReqId: (req) => handedOver(req)?.id ?? nextId(req.headers['x-request-id']),
    logController: new OneLinePerRequest(deps.logger),
    // A request's child logger is made when it logs, not for every request.
    childLoggerFactory: lazyRequestLoggers,
    // Bad percent-encoding, a path segment over maxParamLength: our format, no URL echoed.
    frameworkErrors: (error, request, reply) => {
      frameworkErrorHandler(error, request, reply);
      unmatched?.record(request.method, reply.statusCode, reply.elapsedTime / 1000);
    },
    // Too large headers (431), a malformed request line: our format, with a request id.
    clientErrorHandler: clientErrorHandler(deps.logger, (status) =>
      unmatched?.record(HTTP_UNKNOWN_METHOD, status, undefined),
    ),
  }).withTypeProvider<ZodTypeProvider>();

  // Before any route: every route is counted and documented the same way.
  const conventions = installRouteConventions(app, {
    ...(deps.httpMetrics ? { httpMetrics: deps.httpMetrics } : {}),
    readsRequireKey: deps.auth.readsRequireKey,
    rateLimited: (deps.rateLimit?.perMinute ?? 0) > 0,
  });

  // JSON only: a text/plain body gets 415, not a confusing "expected object".
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(
    app,
    conventions.unmatchedHook ? { onResponse: conventions.unmatchedHook } : {},
  );
  const identify = keyIdentifier(deps.auth);
  registerAuth(app, deps.auth, identify);
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });

  if (deps.maxEventLoopDelayMs) {
    void app.register(underPressure, {
      maxEventLoopDelay: deps.maxEventLoopDelayMs,
      sampleInterval: deps.pressureSampleIntervalMs ?? 1_000,
      retryAfter: 5,
      exposeStatusRoute: false,
      pressureHandler: (request) => {
        if (OPERATIONS_ROUTES.has(request.url.split('?')[0] ?? '')) return;
        throw new HttpError(503, 'FIML_OVERLOADED', 'the api is overloaded; retry later', {
          'retry-after': '5',
        });
      },
    });
  }
  const perMinute = deps.rateLimit?.perMinute ?? 0;
  // Shared through Redis by leases of requests, not a round trip per request; without Redis,
  // this instance's own count.
  const limit =
    deps.rateLimit && perMinute > 0
      ? new LeasedRateLimit({
          ...(deps.rateLimit.redis ? { redis: deps.rateLimit.redis } : {}),
          // The `limit` key space: a pattern delete of cache entries never touches the counters.
          keyPrefix: cacheKeySpace(deps.rateLimit.keyPrefix).limit,
          clock: deps.clock,
          max: perMinute,
          windowMs: 60_000,
        })
      : undefined;
  if (limit) {
    // Once under-pressure's hook is in (plugins load in order): an overloaded api refuses
    // a request before it counts against its client.
    app.after((error) => {
      if (error) throw error;
      registerRequestLimit(app, {
        limit,
        max: perMinute,
        clientOf,
        exempt: (request) => OPERATIONS_ROUTES.has(request.routeOptions.url ?? ''),
        logger: deps.logger,
      });
    });
  }

  void app.register(swagger, {
    openapi: {
      info: {
        title: 'fiml-cache API',
        version: '0.1.0',
        description:
          'Market data through a two-level cache, and refresh requests for the batch-scheduler.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
          bearerAuth: { type: 'http', scheme: 'bearer' },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  void app.register(swaggerUi, { routePrefix: '/docs' });

  void app.register(opsRoutes, {
    registry: deps.registry,
    readiness: deps.readiness,
    // Decorated by under-pressure (registered above) by the time a request asks.
    ...(deps.maxEventLoopDelayMs ? { overloaded: () => app.isUnderPressure() } : {}),
  });
  void app.register(refreshRoutes, { refresh: deps.refresh, clock: deps.clock });
  void app.register(dataRoutes, {
    cache: deps.cache,
    clock: deps.clock,
    privateResponses: deps.auth.readsRequireKey,
    ...(deps.access ? { access: deps.access } : {}),
    ...(deps.refreshMiss ? { refreshMiss: deps.refreshMiss } : {}),
    ...(deps.gate ? { gate: deps.gate } : {}),
  });
  if (deps.hotReads !== false && typeof deps.cache.readL1 === 'function') {
    hotRead = createHotReads({
      cache: { readL1: deps.cache.readL1.bind(deps.cache) },
      clock: deps.clock,
      logger: deps.logger,
      requestId: nextId,
      keyName: (req) => identify(req.headers).name,
      readsRequireKey: deps.auth.readsRequireKey,
      privateResponses: deps.auth.readsRequireKey,
      ...(limit ? { limit: { take: (client: string) => limit.take(client), max: perMinute } } : {}),
      // Decorated by under-pressure (registered above) by the time a request comes.
      busy: deps.maxEventLoopDelayMs ? () => closing || app.isUnderPressure() : () => closing,
      ...(deps.access ? { access: deps.access } : {}),
      ...(deps.httpMetrics ? { recorder: deps.httpMetrics.route(SINGLE_READ_ROUTE) } : {}),
    });
  }
  if (deps.report || deps.warming) {
    void app.register(reportRoutes, {
      ...(deps.report ? { report: deps.report } : {}),
      ...(deps.warming ? { warming: deps.warming } : {}),
    });
  }
  if (deps.queueBoard) {
    registerQueueBoard(app, {
      ...deps.queueBoard,
      logger: deps.logger,
      schemas: {
        [QueueName.REFRESH]: {
          description: `${REFRESH_JOB_NAME} jobs: { symbols[], assetType, dataType, priority, deadline?, reason?, ifOlderThanMs?, source } (see @fiml/queue)`,
          schema: refreshRequestSchema,
        },
        [QueueName.WARM]: {
          description: `${WARM_CYCLE_JOB_NAME} jobs from the warmer’s Job Scheduler (no payload)`,
          schema: warmCycleSchema,
        },
      },
    });
  }
  return app;
}

export type App = ReturnType<typeof buildApp>;
