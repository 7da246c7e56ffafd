import { z } from 'zod';

/** What a warming run prepares for (see the warmer's planner). */
export const WARM_MODES = ['scheduled', 'pre-open', 'refresh-ahead'] as const;
export type WarmCycleMode = (typeof WARM_MODES)[number];

/**
 * A warming run, fired by one of the warmer's Job Schedulers. It carries only
 * its mode: the planner reads access patterns, L2 and the market calendar
 * itself. A job without a mode (from before modes existed) is a scheduled run.
 */
export const WARM_CYCLE_JOB_NAME = 'warm-cycle';
export const warmCycleSchema = z.object({
  mode: z.enum(WARM_MODES, { error: `one of ${WARM_MODES.join(', ')}` }).default('scheduled'),
});
export type WarmCycle = z.output<typeof warmCycleSchema>;
