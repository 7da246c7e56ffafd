import type { FastifyPluginAsync } from 'fastify';
import {
  checkReadiness,
  renderMetrics,
  type ReadinessCheck,
  type Registry,
} from '@fiml/observability';

export interface OpsRoutesOptions {
  readonly registry: Registry;
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
}

/** /healthz (the process is alive), /readyz (its Redis roles answer), /metrics (Prometheus). */
export const opsRoutes: FastifyPluginAsync<OpsRoutesOptions> = (app, options) => {
  app.get('/healthz', { logLevel: 'warn' }, () => ({ status: 'ok' }));

  app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
    const report = await checkReadiness(options.readiness);
    return reply.status(report.ok ? 200 : 503).send(report);
  });

  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    const { contentType, body } = await renderMetrics(options.registry);
    return reply.type(contentType).send(body);
  });
  return Promise.resolve();
};
