import type { FastifyPluginAsync } from 'fastify';

export interface ReportRoutesOptions {
  /** Builds the cache analytics report (hit rates, latency percentiles, pollution, recommendations). */
  readonly report: () => unknown;
}

/** GET /v1/cache/report: what the cache analytics see, and what they recommend changing. */
export const reportRoutes: FastifyPluginAsync<ReportRoutesOptions> = (app, options) => {
  app.get(
    '/v1/cache/report',
    {
      config: { access: 'read' },
      schema: { summary: 'Cache analytics report with recommendations' },
    },
    () => options.report(),
  );
  return Promise.resolve();
};
