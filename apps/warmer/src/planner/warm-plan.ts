import type { AccessStats } from '@fiml/cache';
import type { AssetType, DataType, NyseCalendar, TimeRange } from '@fiml/market';
import type { EarningsEvent } from '@fiml/providers';

/**
 * What a warming run is for:
 * - `scheduled`: a cycle of CACHE_WARMING_SCHEDULE; prepares for the reads
 *   expected until the next cycle.
 * - `pre-open`: CACHE_WARMING_PREOPEN_MINUTES before 09:30 ET on trading
 *   days; prepares equity keys for the open.
 * - `refresh-ahead`: during sessions, every CACHE_WARMING_REFRESH_AHEAD_SECONDS;
 *   renews hot keys already cached whose freshness ends before the next such run.
 */
export type WarmMode = 'scheduled' | 'pre-open' | 'refresh-ahead';
export const WARM_MODES: readonly WarmMode[] = ['scheduled', 'pre-open', 'refresh-ahead'];

/** A key's entry in L2 as the planner needs it (absent: no entry). */
export interface L2State {
  /** Epoch ms the entry stops being fresh (reads after it get it stale and trigger a refresh). */
  readonly softExpiresAt: number;
  /** Epoch ms the entry is gone. */
  readonly hardExpiresAt: number;
}

/** What one provider can spend on this run. */
export interface ProviderBudget {
  /** Calls its tightest rate window still allows over the run's window. */
  readonly remainingCalls: number;
  /** Calls left to reads and other refreshes, never planned. @defaultValue 0 */
  readonly reserveCalls?: number;
  /** Keys per call: the provider's max batch size (capped by CACHE_BATCH_SIZE, if the caller wants). */
  readonly maxBatchSize: number;
}

/** The earnings facts the planner reads (an {@link EarningsEvent} fits). */
export type PlannerEarningsEvent = Pick<EarningsEvent, 'symbol' | 'date' | 'session' | 'at'>;

/** Knobs of the scoring; defaults in {@link DEFAULT_PLANNER_TUNING}. */
export interface PlannerTuning {
  /**
   * Least probability of at least one useful read for a key to be chosen, per
   * mode. Below it a refresh is more likely wasted than used.
   * @defaultValue { scheduled: 0.3, 'pre-open': 0.3, 'refresh-ahead': 0.5 }
   */
  readonly minProbability?: Partial<Readonly<Record<WarmMode, number>>>;
  /**
   * Idle time (since the last read) that costs nothing; equities also get
   * every non-trading day in between for free (a Friday-hot symbol is still
   * hot on Monday). @defaultValue 86_400_000 (1 day)
   */
  readonly recencyGraceMs?: number;
  /** Past the grace, the recency factor halves every this long. @defaultValue 172_800_000 (2 days) */
  readonly recencyHalfLifeMs?: number;
  /** An earnings release this long after the window still raises it. @defaultValue 43_200_000 (12 h) */
  readonly earningsLeadMs?: number;
  /** An earnings release this long before the window still raises it. @defaultValue 86_400_000 (24 h) */
  readonly earningsTailMs?: number;
  /**
   * Reads of a symbol's keys are multiplied by this around its earnings
   * (market-week.md models x20 over the day; a conservative share of it).
   * @defaultValue 4
   */
  readonly earningsReadMultiplier?: number;
}

export const DEFAULT_PLANNER_TUNING = {
  minProbability: { scheduled: 0.3, 'pre-open': 0.3, 'refresh-ahead': 0.5 },
  recencyGraceMs: 86_400_000,
  recencyHalfLifeMs: 172_800_000,
  earningsLeadMs: 43_200_000,
  earningsTailMs: 86_400_000,
  earningsReadMultiplier: 4,
} as const satisfies Required<PlannerTuning>;

/** Everything one planning decision depends on. No I/O happens behind any of it. */
export interface WarmPlanInput {
  /** The instant of planning (from the injected Clock); the refreshes are written about then. */
  readonly now: number;
  readonly mode: WarmMode;
  /**
   * The reads to prepare for, [start, end): `[now, nextRunAt)` for a scheduled
   * run, the open for a pre-open run (see schedule.ts), `[now, next refresh-ahead run)`.
   */
  readonly window: TimeRange;
  readonly stats: readonly AccessStats[];
  /** L2 state by key; a key not in the map has no entry. */
  readonly l2: ReadonlyMap<string, L2State>;
  readonly events: readonly PlannerEarningsEvent[];
  readonly calendar: NyseCalendar;
  /** The access store's decay half-life: turns decayed counts back into reads per day. */
  readonly halfLifeMs: number;
  /** Which provider a refresh of (asset type, data type) goes to; undefined: none. */
  readonly route: (assetType: AssetType, dataType: DataType) => string | undefined;
  readonly budgets: ReadonlyMap<string, ProviderBudget>;
  /** Most keys chosen (CACHE_WARMING_BATCH_SIZE). */
  readonly maxKeys: number;
  /**
   * Until when a value refreshed at `writtenAt` stays fresh (the TTL policy
   * without jitter). A refresh that would go stale before the reads it is for
   * is not made. @defaultValue fresh through the window
   */
  readonly freshUntilIfWarmed?: (stats: AccessStats, writtenAt: number) => number;
  readonly tuning?: PlannerTuning;
}

/** Why a key was chosen: the state of its entry. */
export type WarmReasonCode =
  /** No entry in L2 (or past its hard expiry). */
  | 'missing'
  /** The entry is already stale (served stale while a read refreshes it). */
  | 'stale'
  /** The entry goes stale inside the window, before reads expected after it. */
  | 'expiring';

export interface WarmReason {
  readonly code: WarmReasonCode;
  /** For people: "fresh until 09:12 ET, 3.2 reads expected 09:12-09:30 ET". */
  readonly detail: string;
}

export interface WarmChoice {
  readonly key: string;
  readonly dataType: DataType;
  readonly assetType: AssetType;
  readonly symbol: string;
  readonly provider: string;
  /** Priority among the run's candidates: probability × recency. */
  readonly score: number;
  /** Probability of at least one read while the refreshed value is fresh and the old one is not. */
  readonly probability: number;
  /** Reads expected in that span (after the earnings multiplier). */
  readonly expectedReads: number;
  readonly reason: WarmReason;
  /** The earnings release that raised the key, if one did. */
  readonly earnings?: PlannerEarningsEvent;
}

/** Why a candidate was not chosen. */
export type WarmSkipCode =
  /** The access record is malformed or foreign (bad profile, non-finite figures). */
  | 'invalid'
  /** Not for this mode: crypto in a pre-open run, a key without an entry in refresh-ahead. */
  | 'mode'
  /** Its entry stays fresh through the window. */
  | 'fresh'
  /** A value refreshed now would go stale before the reads it is for. */
  | 'expires-first'
  /** Below the mode's least probability. */
  | 'unlikely'
  /** No provider serves its (asset type, data type). */
  | 'no-route'
  /** Its provider's budget for the run is spent. */
  | 'budget'
  /** The run's key cap (CACHE_WARMING_BATCH_SIZE) is reached. */
  | 'cap';

export const WARM_SKIP_CODES: readonly WarmSkipCode[] = [
  'invalid',
  'mode',
  'fresh',
  'expires-first',
  'unlikely',
  'no-route',
  'budget',
  'cap',
];

/** What one provider is asked for by the plan. */
export interface ProviderPlan {
  readonly provider: string;
  /** Calls the plan's keys need: one per started batch of one (data type, asset type). */
  readonly calls: number;
  readonly keys: number;
  /** Calls the budget allowed (remaining minus reserve). */
  readonly allowedCalls: number;
}

export interface WarmPlan {
  readonly mode: WarmMode;
  readonly now: number;
  readonly window: TimeRange;
  /** Chosen keys, highest score first. */
  readonly choices: readonly WarmChoice[];
  /** Candidates not chosen, by reason (every code present, zeros included). */
  readonly skipped: Readonly<Record<WarmSkipCode, number>>;
  /** Access records looked at. */
  readonly considered: number;
  /** Per provider with chosen keys or a budget, sorted by id. */
  readonly providers: readonly ProviderPlan[];
  /** Sum of the choices' expected useful reads: what the run hopes to turn into hits. */
  readonly expectedReads: number;
}
