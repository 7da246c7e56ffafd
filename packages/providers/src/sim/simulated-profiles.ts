import type { ProviderCapabilities } from '../provider.js';
import type { RateLimitWindow } from '../rate-limit/rate-limit-window.js';

/**
 * A lognormal distribution given by its median and 99th percentile, the way
 * latency is usually described (market-week.md: median 120 ms, p99 400 ms).
 */
export interface LatencyModel {
  readonly medianMs: number;
  readonly p99Ms: number;
}

/** One simulated upstream's model: what it serves and how it behaves. */
export interface SimulatedProfile {
  /** The provider id it is known by in routes ("sim-equities"). */
  readonly id: string;
  readonly capabilities: ProviderCapabilities;
  readonly maxBatchSize: number;
  /** The limits the simulated upstream enforces (429 beyond them) and advertises. */
  readonly rateLimits: readonly RateLimitWindow[];
  readonly latency: LatencyModel;
  /** Share of calls answered 5xx. */
  readonly failureRate: number;
  /**
   * Whether it publishes the market's earnings calendar (the provider then has
   * `earningsCalendar`). @defaultValue false
   */
  readonly earnings?: boolean;
}

export type SimulatedProfileName = 'equities-batch' | 'crypto-batch' | 'reference-single';

/**
 * The default model: the three upstreams of ../shared/workloads/market-week.md.
 * Every field can be overridden per instance.
 */
export const SIMULATED_PROFILES: Readonly<Record<SimulatedProfileName, SimulatedProfile>> = {
  'equities-batch': {
    id: 'sim-equities',
    capabilities: { assetTypes: ['equity'], dataTypes: ['price'] },
    maxBatchSize: 100,
    rateLimits: [{ limit: 300, windowMs: 60_000 }],
    latency: { medianMs: 120, p99Ms: 400 },
    failureRate: 0.005,
  },
  'crypto-batch': {
    id: 'sim-crypto',
    capabilities: { assetTypes: ['crypto'], dataTypes: ['price'] },
    maxBatchSize: 250,
    rateLimits: [{ limit: 30, windowMs: 60_000 }],
    latency: { medianMs: 200, p99Ms: 600 },
    failureRate: 0.005,
  },
  'reference-single': {
    id: 'sim-reference',
    capabilities: { assetTypes: ['equity', 'crypto'], dataTypes: ['fundamentals', 'news'] },
    maxBatchSize: 1,
    rateLimits: [{ limit: 60, windowMs: 60_000 }],
    latency: { medianMs: 250, p99Ms: 900 },
    failureRate: 0.005,
    // The reference upstream serves fundamentals (with nextEarningsDate), so it owns the calendar.
    earnings: true,
  },
};

export const SIMULATED_PROFILE_NAMES = Object.keys(SIMULATED_PROFILES) as SimulatedProfileName[];

/** A profile by name or id, with overrides applied. Undefined when neither matches. */
export function findSimulatedProfile(nameOrId: string): SimulatedProfile | undefined {
  if (nameOrId in SIMULATED_PROFILES) return SIMULATED_PROFILES[nameOrId as SimulatedProfileName];
  return Object.values(SIMULATED_PROFILES).find((p) => p.id === nameOrId);
}
