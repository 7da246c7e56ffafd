import type { FastifyPluginAsync } from 'fastify';
import {
  checkReadiness,
  renderMetrics,
  type CheckResult,
  type ReadinessCheck,
  type Registry,
} from '@fiml/runtime';
import { z } from 'zod';

export interface OpsRoutesOptions {
  readonly registry: Registry;
  /** Dependencies the api is better with but serves reads without: the Redis roles. */
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
  /** Whether the process is too loaded to answer reads in time (under-pressure). */
  readonly overloaded?: () => boolean;
}

/**
 * What /readyz says. The api is ready while it can serve reads in time: from
 * L1 and upstream when a Redis role is down (`degraded`, the failing checks
 * named), not while its event loop is past API_MAX_EVENT_LOOP_DELAY_MS
 * (`overloaded`, 503, so a load balancer sends reads elsewhere). A Redis
 * outage never takes every instance out of a load balancer at once.
 */
export interface ApiReadinessReport {
  readonly ok: boolean;
  readonly status: 'ready' | 'degraded' | 'overloaded';
  readonly checks: Readonly<Record<string, CheckResult>>;
}

const readinessBody = z.object({
  ok: z.boolean(),
  status: z.enum(['ready', 'degraded', 'overloaded']),
  checks: z.record(
    z.string(),
    z.object({ ok: z.boolean(), latencyMs: z.number().optional(), error: z.string().optional() }),
  ),
});

/** /healthz (the process is alive), /readyz (it can serve reads; see ApiReadinessReport), /metrics. */
export const opsRoutes: FastifyPluginAsync<OpsRoutesOptions> = (app, options) => {
  app.get(
    '/healthz',
    {
      logLevel: 'warn',
      schema: {
        summary: 'Liveness: the process answers',
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      logLevel: 'warn',
      schema: {
        summary:
          'Readiness: 200 while the api can serve reads (ready, or degraded without a Redis role), 503 when overloaded',
        response: {
          200: readinessBody.describe('ready, or degraded: the failing checks are named'),
          503: readinessBody.describe(
            'overloaded: the event loop is past API_MAX_EVENT_LOOP_DELAY_MS; send reads elsewhere',
          ),
        },
      },
    },
    async (_request, reply) => {
      const { ok, checks } = await checkReadiness(options.readiness);
      const status = options.overloaded?.() ? 'overloaded' : ok ? 'ready' : 'degraded';
      const report: ApiReadinessReport = { ok: status !== 'overloaded', status, checks };
      return reply.status(report.ok ? 200 : 503).send(report);
    },
  );

  app.get(
    '/metrics',
    {
      logLevel: 'warn',
      schema: {
        summary: 'Prometheus metrics (text exposition format; docs/METRICS.md)',
        produces: ['text/plain'],
        response: { 200: z.string().describe('Prometheus text exposition format') },
      },
    },
    async (_request, reply) => {
      const { contentType, body } = await renderMetrics(options.registry);
      return reply.type(contentType).send(body);
    },
  );
  return Promise.resolve();
};
