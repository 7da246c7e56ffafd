import { PROFILE_BUCKETS, type AccessStats } from '@fiml/cache';
import { NYSE_TIME_ZONE, type NyseCalendar, type TimeRange } from '@fiml/market';
import { expectedReadsBetween, readsPerOccurrence, sliceWindow } from './expected-reads.js';
import {
  DEFAULT_PLANNER_TUNING,
  WARM_SKIP_CODES,
  type PlannerEarningsEvent,
  type ProviderPlan,
  type WarmChoice,
  type WarmPlan,
  type WarmPlanInput,
  type WarmReasonCode,
  type WarmSkipCode,
} from './warm-plan.js';

/** Longest stretch of idle days the recency factor looks through for non-trading days. */
const MAX_IDLE_DAYS_SCANNED = 14;

const hhmm = new Intl.DateTimeFormat('en-GB', {
  timeZone: NYSE_TIME_ZONE,
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});
/** "09:12" on the exchange clock. */
const clockTime = (instant: number): string => hhmm.format(instant);

/** A scored key that passed every test but the budget. */
interface Candidate {
  readonly stats: AccessStats;
  readonly score: number;
  readonly probability: number;
  readonly expectedReads: number;
  readonly code: WarmReasonCode;
  readonly detail: string;
  readonly earnings: PlannerEarningsEvent | undefined;
}

/**
 * Chooses the keys a warming run refreshes. Pure: the same input gives the
 * same plan, no clock is read and nothing is fetched.
 *
 * 1. For each access record, the reads expected in the window from its
 *    time-of-day profile (see expected-reads.ts): equity session buckets
 *    count only while a session is open, so a pre-open run on Thanksgiving
 *    finds nothing to do. Reads around the symbol's earnings are multiplied.
 * 2. Only the reads that the refresh can turn into hits count: those after
 *    the current entry goes stale (at once when it is missing) and before
 *    the refreshed value would. A key fresh through the window is skipped.
 * 3. Score = P(at least one such read) = 1 - exp(-expected), times a recency
 *    factor for keys not read lately (non-trading days excused for equities).
 *    Below the mode's least probability a key is skipped.
 * 4. Greedy by score within budgets: a key joins its (provider, data type,
 *    asset type) batch while it has room, or starts a new batch while the
 *    provider has calls left; never more than `maxKeys` keys in all.
 */
export function planWarming(input: WarmPlanInput): WarmPlan {
  const tuning = { ...DEFAULT_PLANNER_TUNING, ...input.tuning };
  const minProbability = {
    ...DEFAULT_PLANNER_TUNING.minProbability,
    ...input.tuning?.minProbability,
  }[input.mode];
  const { now, window, calendar } = input;
  const skipped = Object.fromEntries(WARM_SKIP_CODES.map((c) => [c, 0])) as Record<
    WarmSkipCode,
    number
  >;
  const slices = sliceWindow(window, calendar);
  const earningsBySymbol = indexEarnings(input.events, window, tuning);
  const span = `${clockTime(window.start)}-${clockTime(window.end)} ET`;

  const candidates: Candidate[] = [];
  for (const stats of input.stats) {
    if (!isWellFormed(stats)) {
      skipped.invalid += 1;
      continue;
    }
    const isEquity = stats.assetType === 'equity';
    const state = input.l2.get(stats.key);
    const present = state !== undefined && state.hardExpiresAt > now;
    if (input.mode === 'pre-open' && !isEquity) {
      skipped.mode += 1;
      continue;
    }
    if (input.mode === 'refresh-ahead' && !present) {
      // Missing keys are the read path's and the scheduled runs' business.
      skipped.mode += 1;
      continue;
    }
    const freshUntil = present ? state.softExpiresAt : Number.NEGATIVE_INFINITY;
    if (freshUntil >= window.end) {
      skipped.fresh += 1;
      continue;
    }
    const from = Math.max(window.start, freshUntil, now);
    const warmedUntil = input.freshUntilIfWarmed?.(stats, now) ?? Number.POSITIVE_INFINITY;
    const to = Math.min(window.end, warmedUntil);
    if (to <= from) {
      skipped['expires-first'] += 1;
      continue;
    }

    const decay = now > stats.asOf ? Math.pow(0.5, (now - stats.asOf) / input.halfLifeMs) : 1;
    const rates = readsPerOccurrence(stats.profile, isEquity, input.halfLifeMs, decay);
    const earnings = isEquity ? earningsBySymbol.get(stats.symbol) : undefined;
    const expectedReads =
      expectedReadsBetween(rates, slices, isEquity, from, to) *
      (earnings ? tuning.earningsReadMultiplier : 1);
    const probability = 1 - Math.exp(-expectedReads);
    const score = probability * recencyFactor(stats, now, calendar, tuning);
    if (!(score >= minProbability) || expectedReads <= 0) {
      skipped.unlikely += 1;
      continue;
    }
    const code: WarmReasonCode = !present
      ? 'missing'
      : state.softExpiresAt <= now
        ? 'stale'
        : 'expiring';
    const state_ =
      code === 'missing'
        ? 'missing'
        : code === 'stale'
          ? `stale since ${clockTime(freshUntil)}`
          : `fresh until ${clockTime(freshUntil)}`;
    const reads = `${expectedReads.toFixed(1)} reads expected ${clockTime(from)}-${clockTime(to)} ET`;
    const event = earnings ? `; earnings ${earnings.date} ${earnings.session}` : '';
    candidates.push({
      stats,
      score,
      probability,
      expectedReads,
      code,
      detail: `${state_}, ${reads}${event} (window ${span})`,
      earnings,
    });
  }

  candidates.sort((a, b) => b.score - a.score || compareText(a.stats.key, b.stats.key));

  const usage = new Map<string, { calls: number; keys: number; allowed: number }>();
  for (const [provider, budget] of input.budgets) {
    const allowed = Math.max(0, Math.floor(budget.remainingCalls - (budget.reserveCalls ?? 0)));
    usage.set(provider, { calls: 0, keys: 0, allowed });
  }
  /** Keys in each (provider, data type, asset type) group: a new call starts at every multiple of the batch size. */
  const groups = new Map<string, number>();
  const choices: WarmChoice[] = [];
  let expectedTotal = 0;
  for (const c of candidates) {
    if (choices.length >= Math.max(0, input.maxKeys)) {
      skipped.cap += 1;
      continue;
    }
    const provider = input.route(c.stats.assetType, c.stats.dataType);
    if (provider === undefined) {
      skipped['no-route'] += 1;
      continue;
    }
    const budget = input.budgets.get(provider);
    const used = usage.get(provider);
    if (budget === undefined || used === undefined) {
      skipped.budget += 1;
      continue;
    }
    const group = `${provider}\u0000${c.stats.dataType}\u0000${c.stats.assetType}`;
    const inGroup = groups.get(group) ?? 0;
    const batchSize = Math.max(1, Math.floor(budget.maxBatchSize));
    const needsCall = inGroup % batchSize === 0;
    if (needsCall && used.calls >= used.allowed) {
      skipped.budget += 1;
      continue;
    }
    if (needsCall) used.calls += 1;
    used.keys += 1;
    groups.set(group, inGroup + 1);
    expectedTotal += c.expectedReads;
    choices.push({
      key: c.stats.key,
      dataType: c.stats.dataType,
      assetType: c.stats.assetType,
      symbol: c.stats.symbol,
      provider,
      score: c.score,
      probability: c.probability,
      expectedReads: c.expectedReads,
      reason: { code: c.code, detail: c.detail },
      ...(c.earnings ? { earnings: c.earnings } : {}),
    });
  }

  const providers: ProviderPlan[] = [...usage.entries()]
    .map(([provider, u]) => ({
      provider,
      calls: u.calls,
      keys: u.keys,
      allowedCalls: u.allowed,
    }))
    .sort((a, b) => compareText(a.provider, b.provider));

  return {
    mode: input.mode,
    now,
    window: { start: window.start, end: window.end },
    choices,
    skipped,
    considered: input.stats.length,
    providers,
    expectedReads: expectedTotal,
  };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A record the planner can use: a foreign or corrupted one is skipped and counted, never fatal. */
function isWellFormed(stats: AccessStats): boolean {
  return (
    typeof stats.key === 'string' &&
    typeof stats.symbol === 'string' &&
    (stats.assetType === 'equity' || stats.assetType === 'crypto') &&
    (stats.dataType === 'price' ||
      stats.dataType === 'fundamentals' ||
      stats.dataType === 'news') &&
    Number.isFinite(stats.frequency) &&
    stats.frequency >= 0 &&
    Number.isFinite(stats.lastAccessAt) &&
    Number.isFinite(stats.asOf) &&
    Array.isArray(stats.profile) &&
    stats.profile.length === PROFILE_BUCKETS &&
    stats.profile.every((n) => Number.isFinite(n) && n >= 0)
  );
}

/**
 * The earliest release per symbol that matters to the window: one from
 * `earningsLeadMs` after the window to `earningsTailMs` before it.
 */
function indexEarnings(
  events: readonly PlannerEarningsEvent[],
  window: TimeRange,
  tuning: { readonly earningsLeadMs: number; readonly earningsTailMs: number },
): Map<string, PlannerEarningsEvent> {
  const bySymbol = new Map<string, PlannerEarningsEvent>();
  for (const event of events) {
    if (event.at < window.start - tuning.earningsTailMs) continue;
    if (event.at >= window.end + tuning.earningsLeadMs) continue;
    const known = bySymbol.get(event.symbol);
    if (!known || event.at < known.at) bySymbol.set(event.symbol, event);
  }
  return bySymbol;
}

/**
 * 1 for a key read within the grace period, halving every
 * `recencyHalfLifeMs` after it. For equities the whole non-trading days since
 * the last read are added to the grace: nobody reads a quote on Sunday.
 */
function recencyFactor(
  stats: AccessStats,
  now: number,
  calendar: NyseCalendar,
  tuning: { readonly recencyGraceMs: number; readonly recencyHalfLifeMs: number },
): number {
  let idle = now - stats.lastAccessAt - tuning.recencyGraceMs;
  if (idle <= 0) return 1;
  if (stats.assetType === 'equity')
    idle -= nonTradingTimeBetween(stats.lastAccessAt, now, calendar);
  if (idle <= 0) return 1;
  return Math.pow(0.5, idle / tuning.recencyHalfLifeMs);
}

/** Length of the whole non-trading days (weekends, holidays) between two instants, up to two weeks. */
function nonTradingTimeBetween(from: number, to: number, calendar: NyseCalendar): number {
  let total = 0;
  let day = calendar.exchangeDayAt(from);
  for (let i = 0; i < MAX_IDLE_DAYS_SCANNED && day.range.end <= to; i++) {
    day = calendar.exchangeDayAt(day.range.end);
    if (day.range.end > to) break;
    if (day.status !== 'trading') total += day.range.end - day.range.start;
  }
  return total;
}
