import { ASSET_TYPES, DATA_TYPES } from '@fiml/market';
import { z } from 'zod';

/** A key's meta as the pending store keeps it: "priority|firstAt|deadline|attempts|warm". */
const META = /^[0-2]\|\d+\|\d+\|\d+(\|[01])?$/;

const group = {
  provider: z.string().min(1),
  assetType: z.enum(ASSET_TYPES),
  dataType: z.enum(DATA_TYPES),
  token: z.string().min(1),
};

/**
 * A batch job: keys of one group claimed together under one token (the job
 * id), each as its symbol and its meta as the claim read them (`parseMeta`
 * in pending-store.ts turns one into a ClaimedKey). Two arrays of strings
 * rather than an object per key: BullMQ encodes and decodes the payload and
 * the worker validates it, so per-key objects cost more than the batch's
 * upstream call saves. Produced and consumed by the batch-scheduler only;
 * validated on receipt like every job.
 */
/** Space-separated symbols (no symbol holds a space: SYMBOL_PATTERN). */
const PACKED_SYMBOLS = /^\S+(?: \S+)*$/;
/** Space-separated metas. */
const PACKED_METAS = /^[0-2]\|\d+\|\d+\|\d+(?:\|[01])?(?: [0-2]\|\d+\|\d+\|\d+(?:\|[01])?)*$/;

/**
 * As the flusher adds it: the claimed symbols and their metas each as one
 * space-separated string, as the claim script returns them. A batch of 100
 * keys is then two strings to encode, store and validate instead of 200.
 */
const packedBatchJob = z
  .object({
    ...group,
    symbols: z.string().regex(PACKED_SYMBOLS, 'not space-separated symbols'),
    metas: z.string().regex(PACKED_METAS, 'not space-separated pending key metas'),
  })
  .transform(({ symbols, metas, ...rest }) => ({
    ...rest,
    symbols: symbols.split(' '),
    metas: metas.split(' '),
  }))
  .refine((job) => job.metas.length === job.symbols.length, {
    message: 'one meta per symbol',
    path: ['metas'],
  });

/** Symbols and metas as arrays (jobs added before the packed form). */
const encodedBatchJob = z
  .object({
    ...group,
    symbols: z.array(z.string().min(1)).min(1),
    metas: z.array(z.string().regex(META, 'not a pending key meta')),
  })
  .refine((job) => job.metas.length === job.symbols.length, {
    message: 'one meta per symbol',
    path: ['metas'],
  });

const keyedBatchJob = z
  .object({
    ...group,
    keys: z
      .array(
        z.object({
          symbol: z.string().min(1),
          priority: z.union([z.literal(0), z.literal(1), z.literal(2)]),
          firstAt: z.number(),
          deadline: z.number().optional(),
          attempts: z.number().int().min(0),
          warm: z.boolean().default(false),
        }),
      )
      .min(1),
  })
  .transform(({ keys, ...rest }) => ({
    ...rest,
    symbols: keys.map((k) => k.symbol),
    metas: keys.map(
      (k) =>
        `${k.priority}|${Math.floor(k.firstAt)}|${Math.floor(k.deadline ?? 0)}|${k.attempts}|${k.warm ? 1 : 0}`,
    ),
  }));

export const batchJobSchema = z.union([packedBatchJob, encodedBatchJob, keyedBatchJob]);
/** A batch job as the flusher adds it. */
export type PackedBatchJob = z.input<typeof packedBatchJob>;
export type BatchJob = z.output<typeof batchJobSchema>;

/** A batch job's result, shown on the queue dashboard. */
export interface BatchOutcome {
  /** Keys this batch still owned when it ran. */
  keys: number;
  /** Upstream calls the registry made (fallbacks included). */
  upstreamCalls: number;
  written: number;
  /** Cached as not found (a provider's positive answer). */
  notFound: number;
  /** Not written: a newer entry was already there. */
  skippedNewer: number;
  /** Not fetched: cached recently enough (REFRESH_MIN_AGE_FRACTION) since it was asked for. */
  skippedFresh: number;
  /** Failed this time; back in pending after a backoff. */
  retrying: number;
  /** Stopped by the budget or a 429; back in pending, no attempt spent. */
  waitingForBudget: number;
  /** Gave up after the last attempt, with the reason. */
  failed: { symbol: string; code: string; message: string; attempts: number }[];
}

/** What a batch that ran made of its keys, one count per outcome (fiml_batch_keys_total). */
export type BatchKeyCounts = Omit<BatchOutcome, 'keys' | 'upstreamCalls' | 'failed'> & {
  failed: number;
};

/**
 * A refresh request's result at intake, shown on the queue dashboard. The
 * job completes once its keys' add is on its way to the pending store (see
 * BatchScheduler.accept): what the store made of each key comes after, in
 * `fiml_batch_intake_keys_total`.
 */
export interface IntakeOutcome {
  /** `provider:assetType:dataType`, or undefined when no provider serves the route. */
  readonly group: string | undefined;
  /** Keys handed to the group (queued there, merged with a pending key, answered by a fetch in flight, or skipped as written lately). */
  readonly accepted: number;
  /** Skipped: cached more recently than the request's `ifOlderThanMs`. */
  readonly fresh: number;
  /** No provider configured for the route. */
  readonly noRoute: number;
}
