import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import {
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Logger, ReadinessCheck, Registry } from '@fiml/observability';
import { registerErrorHandling } from './errors.js';
import { opsRoutes } from './routes/ops.js';
import { refreshRoutes, type RefreshEnqueuer } from './routes/refresh.js';

export interface AppDeps {
  readonly logger: Logger;
  readonly registry: Registry;
  /** Checks behind /readyz, by name: the queue and cache Redis roles. */
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
  readonly refresh: RefreshEnqueuer;
  /** Largest request body accepted. @defaultValue 65536 */
  readonly bodyLimitBytes?: number;
}

/** A request id: the caller's X-Request-Id when it is sane, otherwise a fresh UUID. */
function requestId(header: string | string[] | undefined): string {
  return typeof header === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(header)
    ? header
    : randomUUID();
}

/**
 * One log line per request, written when the response is sent: method, URL,
 * status and time, under the request id. (Fastify's default writes two.)
 */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(
    error: Error | null,
    request: Parameters<LogController['requestCompleted']>[1],
    reply: Parameters<LogController['requestCompleted']>[2],
  ): void {
    const line = {
      method: request.method,
      url: request.url,
      statusCode: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request failed');
    else reply.log.info(line, 'request');
  }
}

/**
 * Builds the API without listening, from explicit dependencies, so tests run
 * it with `app.inject()` and no environment. The composition root (main.ts)
 * supplies real connections and calls `listen`.
 */
export function buildApp(deps: AppDeps) {
  // Typed as Fastify's base logger so plugins written against the default instance type fit.
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance,
    bodyLimit: deps.bodyLimitBytes ?? 64 * 1024,
    genReqId: (req) => requestId(req.headers['x-request-id']),
    logController: new OneLinePerRequest(),
  }).withTypeProvider<ZodTypeProvider>();

  // JSON only: a text/plain body gets 415, not a confusing "expected object".
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook('onSend', (request, reply, payload, done) => {
    void reply.header('x-request-id', request.id);
    done(null, payload);
  });
  registerErrorHandling(app);

  void app.register(opsRoutes, { registry: deps.registry, readiness: deps.readiness });
  void app.register(refreshRoutes, { refresh: deps.refresh });
  return app;
}

export type App = ReturnType<typeof buildApp>;
