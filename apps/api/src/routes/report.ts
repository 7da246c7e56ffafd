import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { HttpError } from '../errors.js';
import { errorResponse } from '../route-conventions.js';

export interface ReportRoutesOptions {
  /** Builds the cache analytics report (hit rates, latency percentiles, pollution, recommendations). */
  readonly report?: () => unknown;
  /** The last warming runs (newest first, at most `limit`) and the warm ledger's totals. */
  readonly warming?: (limit: number) => Promise<unknown>;
}

const MAX_WARMING_RUNS = 50;

/**
 * GET /v1/cache/report: what the cache analytics see, and what they recommend
 * changing. GET /v1/cache/warming: the warmer's last runs, their precision so
 * far and their top choices with reasons.
 */
export const reportRoutes: FastifyPluginAsync<ReportRoutesOptions> = (app, options) => {
  const { report, warming } = options;
  if (report) {
    app.get(
      '/v1/cache/report',
      {
        config: { access: 'read' },
        schema: {
          summary: 'Cache analytics report with recommendations',
          response: {
            200: z
              .record(z.string(), z.unknown())
              .describe(
                'Hit rates by data type and level, latency percentiles, pollution, evictions and recommendations (see @fiml/cache analytics)',
              ),
          },
        },
      },
      () => report(),
    );
  }
  if (warming) {
    app.get<{ Querystring: { limit?: number } }>(
      '/v1/cache/warming',
      {
        config: { access: 'read' },
        schema: {
          summary:
            'Warming runs: precision, keys warmed, upstream calls and top choices with reasons',
          querystring: z.object({
            limit: z.coerce.number().int().min(1).max(MAX_WARMING_RUNS).optional(),
          }),
          response: {
            200: z.object({
              totals: z
                .record(z.string(), z.unknown())
                .describe(
                  'The warm ledger’s totals: keys warmed, read, precision (null before any)',
                ),
              runs: z
                .array(z.record(z.string(), z.unknown()))
                .describe(
                  'The last warming runs, newest first, with their outcomes and top choices',
                ),
            }),
            503: errorResponse(
              'FIML_WARM_LEDGER_UNAVAILABLE: the cache Redis is unreachable; see Retry-After',
            ),
          },
        },
      },
      async (request) => {
        try {
          return await warming(request.query.limit ?? 10);
        } catch (error) {
          throw new HttpError(
            503,
            'FIML_WARM_LEDGER_UNAVAILABLE',
            'the warm ledger (cache Redis) is unreachable; retry shortly',
            { 'retry-after': '5' },
            { cause: error },
          );
        }
      },
    );
  }
  return Promise.resolve();
};
