import type { DataType } from '@fiml/market';
import { z } from 'zod';
import { earningsEventSchema } from '../earnings/earnings-event.js';
import { dataValueSchemas, type DataValue } from '../model.js';

/**
 * The simulated provider's HTTP API, as zod schemas: the server builds these
 * bodies and the HTTP adapter validates them. See the README for the routes.
 */

/** Body of `GET /v1/providers/{id}/{dataType}`. */
export function simDataResponseSchema<D extends DataType>(dataType: D) {
  return z.object({
    provider: z.string().min(1),
    dataType: z.literal(dataType),
    /** When the simulated upstream answered (epoch ms of its clock). */
    asOf: z.number().int(),
    /** Values by symbol, for the symbols it knows. */
    data: z.record(z.string(), dataValueSchemas[dataType] as unknown as z.ZodType<DataValue<D>>),
    /** Requested symbols it does not know. */
    notFound: z.array(z.string()),
  });
}
export type SimDataResponse<D extends DataType> = z.output<
  ReturnType<typeof simDataResponseSchema<D>>
>;

/** Body of `GET /v1/earnings?from=YYYY-MM-DD&to=YYYY-MM-DD` (at most 92 days, both included). */
export const simEarningsResponseSchema = z.object({
  earnings: z.array(earningsEventSchema),
});
export type SimEarningsResponse = z.output<typeof simEarningsResponseSchema>;

/** Body of every non-2xx answer. */
export const simErrorBodySchema = z.object({
  error: z.object({
    code: z.enum([
      'bad_request',
      'unauthorized',
      'not_found',
      'rate_limited',
      'unavailable',
      'internal',
    ]),
    message: z.string(),
    /** On 429: exact milliseconds (the Retry-After header is rounded up to seconds). */
    retryAfterMs: z.number().int().nonnegative().optional(),
  }),
});
export type SimErrorBody = z.output<typeof simErrorBodySchema>;
