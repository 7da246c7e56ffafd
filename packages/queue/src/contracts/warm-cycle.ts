import { z } from 'zod';

/**
 * A warming cycle, fired by the warmer's Job Scheduler. It carries no input:
 * the planner reads access patterns and the market calendar itself.
 */
export const WARM_CYCLE_JOB_NAME = 'warm-cycle';
export const warmCycleSchema = z.object({});
export type WarmCycle = z.output<typeof warmCycleSchema>;
