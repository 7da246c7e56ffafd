import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';
import type { Logger } from '@fiml/runtime';
import { HttpError } from './errors.js';
import { handedOver } from './handover.js';
import type { LeasedRateLimit, LimitCount } from './leased-rate-limit.js';

export interface RequestLimitOptions {
  readonly limit: LeasedRateLimit;
  /** Requests per client per window (the limit's `max`), for the headers and the 429's message. */
  readonly max: number;
  /** Who a request counts against. */
  readonly clientOf: (request: FastifyRequest) => string;
  /** Requests never limited (operations routes). */
  readonly exempt: (request: FastifyRequest) => boolean;
  /** Where a limiter failure is logged (the request goes through). */
  readonly logger: Logger;
}

/**
 * The per-client request limit: every request but the exempt ones takes one
 * from its client's window, answers X-RateLimit-Limit, -Remaining and -Reset
 * (seconds), and past the limit 429 FIML_RATE_LIMITED with Retry-After.
 *
 * One callback hook: a request whose client holds leased requests is
 * counted synchronously, without a promise (the leases come from Redis in
 * the background, see LeasedRateLimit). It replaces @fastify/rate-limit,
 * whose async hook made three promises per request for the same answer.
 * When the limiter fails (the cache Redis is down) the request goes through,
 * without the headers: a dead Redis must not take the api down with it.
 */
export function registerRequestLimit(app: FastifyInstance, options: RequestLimitOptions): void {
  const { limit, max, clientOf, exempt, logger } = options;
  const limitHeader = String(max);
  // Said once per outage, and once when it is over: not a line per request.
  let unavailable = false;
  app.addHook('onRequest', (request, reply, done) => {
    if (exempt(request)) {
      done();
      return;
    }
    // Counted already by the hot reads, which then handed the request over.
    const counted = handedOver(request.raw)?.limit;
    if (counted !== undefined) {
      answer(reply, counted, done);
      return;
    }
    limit.incr(clientOf(request), (error, result) => {
      if (error || result === undefined) {
        if (!unavailable) {
          unavailable = true;
          logger.warn(
            { err: error },
            'the request limit cannot reach the cache Redis; requests go through unlimited until it is back',
          );
        }
        done();
        return;
      }
      if (unavailable) {
        unavailable = false;
        logger.info('the request limit reaches the cache Redis again');
      }
      answer(reply, result, done);
    });
  });

  /** Sets the limit headers; past the limit, refuses with 429. */
  function answer(reply: FastifyReply, count: LimitCount, done: HookHandlerDoneFunction): void {
    const reset = Math.ceil(count.ttl / 1000);
    void reply.header('x-ratelimit-limit', limitHeader);
    if (count.current <= max) {
      void reply.header('x-ratelimit-remaining', max - count.current);
      void reply.header('x-ratelimit-reset', reset);
      done();
      return;
    }
    void reply.header('x-ratelimit-remaining', 0);
    void reply.header('x-ratelimit-reset', reset);
    done(
      new HttpError(
        429,
        'FIML_RATE_LIMITED',
        `more than ${max} requests per minute; retry in ${reset} s`,
        { 'retry-after': String(reset) },
      ),
    );
  }
}
