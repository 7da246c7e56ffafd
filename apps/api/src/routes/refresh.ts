import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ASSET_TYPES, DATA_TYPES, type Clock } from '@fiml/market';
import {
  MAX_SYMBOLS_PER_REQUEST,
  PRIORITIES,
  type EnqueuedRefresh,
  type RefreshRequestInput,
} from '@fiml/queue';
import { z } from 'zod';
import { apiSymbol } from '../symbols.js';
import { HttpError } from '../errors.js';

/** The part of the refresh producer the route needs (a port, so tests can count calls). */
export interface RefreshEnqueuer {
  enqueueRefresh(input: RefreshRequestInput): Promise<EnqueuedRefresh>;
}

export interface RefreshRoutesOptions {
  readonly refresh: RefreshEnqueuer;
  /** Whose now a deadline must not be before. */
  readonly clock: Clock;
}

/** Seconds a client should wait before retrying when the queue Redis is unreachable. */
const QUEUE_RETRY_AFTER_SECONDS = 5;

/** The body of POST /v1/refresh; a deadline before `clock.now()` is refused like any bad field. */
const refreshBody = (clock: Clock) =>
  z.strictObject({
    dataType: z.enum(DATA_TYPES, { error: `one of ${DATA_TYPES.join(', ')}` }),
    assetType: z.enum(ASSET_TYPES, { error: `one of ${ASSET_TYPES.join(', ')}` }),
    symbols: z
      .array(apiSymbol)
      .min(1, 'at least one symbol')
      .max(MAX_SYMBOLS_PER_REQUEST, `at most ${MAX_SYMBOLS_PER_REQUEST} symbols`),
    priority: z.enum(PRIORITIES, { error: `one of ${PRIORITIES.join(', ')}` }).default('normal'),
    deadline: z.iso
      .datetime({ offset: true, error: 'an ISO 8601 instant with offset' })
      .refine((deadline) => Date.parse(deadline) >= clock.now(), 'in the past')
      .optional(),
  });

const accepted = z.object({
  /** Distinct symbols queued for refresh. */
  accepted: z.number().int(),
  /** Symbols dropped because the request named them more than once. */
  deduplicated: z.number().int(),
  /** One id per queued refresh job, to follow on the queue dashboard. */
  requestIds: z.array(z.string()),
});

/** POST /v1/refresh: other services ask for fresh data; the batch-scheduler fetches it. */
export const refreshRoutes: FastifyPluginAsyncZod<RefreshRoutesOptions> = (app, options) => {
  app.post(
    '/v1/refresh',
    {
      config: { access: 'write' },
      schema: {
        summary: 'Ask for fresh data: the batch-scheduler fetches it and writes the cache',
        body: refreshBody(options.clock),
        response: { 202: accepted },
      },
    },
    async (request, reply) => {
      const body = request.body;
      let enqueued: EnqueuedRefresh;
      try {
        enqueued = await options.refresh.enqueueRefresh({ ...body, source: 'api' });
      } catch (error) {
        if (error instanceof Error && error.name === 'InvalidJobPayloadError') throw error;
        throw new HttpError(
          503,
          'FIML_QUEUE_UNAVAILABLE',
          'the refresh queue is unavailable; retry later',
          { 'retry-after': String(QUEUE_RETRY_AFTER_SECONDS) },
          { cause: error },
        );
      }
      request.log.info(
        {
          jobId: enqueued.jobId,
          dataType: body.dataType,
          symbols: enqueued.request.symbols.length,
        },
        'refresh enqueued',
      );
      return reply.status(202).send({
        accepted: enqueued.request.symbols.length,
        deduplicated: body.symbols.length - enqueued.request.symbols.length,
        requestIds: [enqueued.jobId],
      });
    },
  );
  return Promise.resolve();
};
