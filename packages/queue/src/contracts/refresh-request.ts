import { ASSET_TYPES, DATA_TYPES, SYMBOL_PATTERN } from '@fiml/market';
import type { JobsOptions } from 'bullmq';
import { z } from 'zod';

/**
 * The refresh request: "fetch these symbols' data from upstream now and write
 * it to the cache". Produced by other services (through {@link RefreshProducer}),
 * the api (POST /v1/refresh) and the warmer; consumed by the batch-scheduler.
 * Producer and consumer validate with this one schema.
 */

export const REFRESH_JOB_NAME = 'refresh';

/** Most symbols one request may carry; larger sets are split by the producer's caller. */
export const MAX_SYMBOLS_PER_REQUEST = 500;

export const PRIORITIES = ['urgent', 'normal', 'low'] as const;

/**
 * Why a refresh was asked for: `request` (another service or POST /v1/refresh
 * asked), `stale` (a reader was served a stale entry), `warm` (the warmer
 * expects a read), `miss` (a reader found nothing cached and the api could not
 * fetch it because the provider's budget left to the api was spent; the
 * reader was told to retry). Optional in the payload: a v1 request without it
 * is a `request`.
 */
export const REFRESH_REASONS = ['request', 'stale', 'warm', 'miss', 'ahead'] as const;
export type RefreshReason = (typeof REFRESH_REASONS)[number];
export type RefreshPriority = (typeof PRIORITIES)[number];

/**
 * BullMQ priorities (1 is served first). `urgent` is a reader waiting on a
 * stale value; `normal` another service's request; `low` the warmer's guesses.
 */
export const BULLMQ_PRIORITY: Readonly<Record<RefreshPriority, number>> = {
  urgent: 1,
  normal: 5,
  low: 10,
};

/** One symbol: trimmed, upper-cased, matching `SYMBOL_PATTERN` from @fiml/market. */
export const symbolSchema = z
  .string()
  .trim()
  .toUpperCase()
  .regex(
    SYMBOL_PATTERN,
    'not a symbol (1-10 letters or digits, optionally "." or "-" and up to 5 more)',
  );

export const refreshRequestSchema = z.object({
  /** Symbols to refresh; normalized to upper case, duplicates removed (first occurrence kept). */
  symbols: z
    .array(symbolSchema)
    .min(1, 'at least one symbol')
    .max(MAX_SYMBOLS_PER_REQUEST, `at most ${MAX_SYMBOLS_PER_REQUEST} symbols`)
    .transform((symbols) => [...new Set(symbols)]),
  assetType: z.enum(ASSET_TYPES, { error: `one of ${ASSET_TYPES.join(', ')}` }),
  dataType: z.enum(DATA_TYPES, { error: `one of ${DATA_TYPES.join(', ')}` }),
  priority: z.enum(PRIORITIES, { error: `one of ${PRIORITIES.join(', ')}` }).default('normal'),
  /** When the data must be fresh by: an ISO 8601 instant with offset. The scheduler flushes before it. */
  deadline: z.iso.datetime({ offset: true, error: 'an ISO 8601 instant with offset' }).optional(),
  /** Why it was asked for; absent means `request` (payloads from before the field stay valid). */
  reason: z.enum(REFRESH_REASONS, { error: `one of ${REFRESH_REASONS.join(', ')}` }).optional(),
  /**
   * Refresh a key only if its cached entry was fetched longer ago than this
   * many ms (an entry fetched since the request was made is fresh enough).
   * Absent: refresh whatever is cached. v2; v1 payloads go without it.
   */
  ifOlderThanMs: z
    .number({ error: 'an integer number of ms >= 0' })
    .int('an integer number of ms >= 0')
    .min(0, 'an integer number of ms >= 0')
    .optional(),
  /** Who asked ("api", "warmer", a service name): for logs, metrics and pollution accounting. */
  source: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, '1-64 letters, digits, ".", "_", ":" or "-"'),
});

/** What a producer passes (priority may be omitted; any array of symbols will do). */
export type RefreshRequestInput = Omit<z.input<typeof refreshRequestSchema>, 'symbols'> & {
  readonly symbols: readonly string[];
};
/** What a consumer receives: validated and normalized. */
export type RefreshRequest = z.output<typeof refreshRequestSchema>;

/**
 * Default job options of refresh jobs. Retries with backoff ride out a
 * provider's bad minute; finished jobs are trimmed by age and count so the
 * queue Redis stays bounded.
 */
export const REFRESH_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 3_600, count: 1_000 },
  removeOnFail: { age: 7 * 24 * 3_600, count: 10_000 },
} as const satisfies JobsOptions;
