import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import {
  type AccessSnapshot,
  type AccessStats,
  type CacheEntry,
  type TtlPolicy,
  type WarmLedger,
  type WarmOutcomes,
} from '@fiml/cache';
import type { AssetType, Clock, DataType, NyseCalendar, TimeRange } from '@fiml/market';
import type { Logger } from '@fiml/runtime';
import { reservedCalls, type EarningsEvent, type ProviderRegistry } from '@fiml/providers';
import {
  MAX_SYMBOLS_PER_REQUEST,
  type EnqueuedRefresh,
  type RefreshRequestInput,
} from '@fiml/queue';
import {
  inSession,
  nextScheduledRunAt,
  openWindow,
  planWarming,
  refreshAheadWindow,
  type L2State,
  type ProviderBudget,
  type WarmMode,
  type WarmPlan,
} from './planner/index.js';

export interface WarmCycleSettings {
  /** CACHE_WARMING_SCHEDULE (a cron pattern, hour lists already turned into one) and its zone. */
  readonly schedule: { readonly pattern: string; readonly tz: string };
  /** CACHE_WARMING_BATCH_SIZE: most keys one run requests. */
  readonly maxKeys: number;
  /** CACHE_WARMING_REFRESH_AHEAD_SECONDS (0: off). */
  readonly refreshAheadSeconds: number;
  /** The access history's decay half-life, ms. */
  readonly halfLifeMs: number;
  /**
   * How long before a deadline the batch-scheduler sends a key (its
   * REFRESH_FETCH_TIMEOUT_MS, at least 1 s): a pre-open refresh is written
   * about then, and its freshness counts from there.
   */
  readonly deadlineLeadMs: number;
  /** Choices kept on a run's record for the api. @defaultValue 10 */
  readonly topChoices?: number;
}

export interface WarmCycleDeps {
  readonly history: {
    read(asOf: number): Promise<AccessSnapshot>;
    prune(now: number): Promise<number>;
  };
  readonly ledger: Pick<WarmLedger, 'sweep' | 'plan' | 'recordRun' | 'totals' | 'pending'>;
  /** L2, read only. */
  readonly cache: { peek(keys: readonly string[]): Promise<(CacheEntry | undefined)[]> };
  readonly providers: Pick<
    ProviderRegistry,
    'route' | 'remaining' | 'provider' | 'earningsCalendar'
  >;
  /** Where warming requests go: the batch-scheduler's refresh queue. */
  readonly enqueue: (request: RefreshRequestInput) => Promise<EnqueuedRefresh>;
  readonly ttl: TtlPolicy;
  readonly calendar: NyseCalendar;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly settings: WarmCycleSettings;
}

/** What one run did, for logs, metrics and the job's return value. */
export interface WarmRunResult {
  readonly id: string;
  readonly mode: WarmMode;
  /** False when the mode had nothing to do now (refresh-ahead outside a session, pre-open on a holiday). */
  readonly ran: boolean;
  readonly why?: string;
  readonly tracked: number;
  readonly requested: number;
  readonly requests: number;
  readonly skipped: Readonly<Record<string, number>>;
  /** Access records skipped as unreadable (corrupt) or not ours (foreign). */
  readonly badRecords: { readonly corrupt: number; readonly foreign: number };
  /** Warmed entries the sweep found stale and unread. */
  readonly sweptWasted: number;
  readonly expectedReads: number;
  readonly durationMs: number;
}

export interface WarmCycleEvents {
  run: [result: WarmRunResult];
  /** The ledger's totals after a run (precision, entries, calls), for the gauges. */
  totals: [totals: WarmOutcomes & { readonly pending: number }];
}

/** Keys whose L2 state is read per peek. */
const PEEK_CHUNK = 500;
/** Earnings calendars are asked once per this long (they change daily at most). */
const EARNINGS_TTL_MS = 6 * 3_600_000;
const DAY_MS = 86_400_000;

/**
 * One warming run: settle the books, read what was read and when, look at
 * L2 and the market (calendar, earnings, budgets), plan, and hand the chosen
 * keys to the batch-scheduler as warming requests. The warmer never calls a
 * provider for data itself; only the earnings calendar, once in a while.
 *
 * Warming requests are low priority (they never spend a fallback provider's
 * budget and, without a deadline, wait for a low-load window or an idle
 * budget). Pre-open and refresh-ahead requests carry a deadline (the open;
 * each key's soft expiry), so the batch-scheduler sends them just in time
 * rather than in the night.
 */
export class WarmCycle extends EventEmitter<WarmCycleEvents> {
  readonly #deps: WarmCycleDeps;
  readonly #log: Logger;
  #earnings:
    | { readonly from: number; readonly at: number; readonly events: readonly EarningsEvent[] }
    | undefined;

  constructor(deps: WarmCycleDeps) {
    super();
    this.#deps = deps;
    this.#log = deps.logger.child({ component: 'warm-cycle' });
  }

  async run(mode: WarmMode): Promise<WarmRunResult> {
    const { clock, ledger, history } = this.#deps;
    const startedAt = clock.now();
    const id = runId(mode, startedAt);
    const sweptWasted = await ledger.sweep();
    const window = this.#window(mode, startedAt);
    if ('skip' in window) {
      const result = idle(id, mode, window.skip, sweptWasted, clock.now() - startedAt);
      await this.#publishTotals();
      this.emit('run', result);
      return result;
    }
    const snapshot = await history.read(startedAt);
    if (snapshot.corrupt > 0 || snapshot.foreign > 0) {
      this.#log.warn(
        { corrupt: snapshot.corrupt, foreign: snapshot.foreign },
        'skipped access records that are not ours or unreadable',
      );
    }
    const l2 = await this.#l2(snapshot.stats);
    const plan = planWarming({
      now: startedAt,
      mode,
      window,
      stats: snapshot.stats,
      l2,
      // Nothing read, nothing to plan: no calendar call either.
      events: snapshot.stats.length > 0 ? await this.#earningsAround(window) : [],
      calendar: this.#deps.calendar,
      halfLifeMs: this.#deps.settings.halfLifeMs,
      route: (assetType, dataType) => this.#deps.providers.route(assetType, dataType)[0]?.id,
      budgets: await this.#budgets(snapshot.stats),
      maxKeys: this.#deps.settings.maxKeys,
      freshUntilIfWarmed: (stats) => this.#freshUntil(stats, mode, window, startedAt),
    });
    const requests = await this.#request(id, mode, plan, window, l2);
    const finishedAt = clock.now();
    await ledger.recordRun({
      id,
      mode,
      startedAt,
      finishedAt,
      tracked: snapshot.stats.length,
      requested: plan.choices.length,
      skipped: plan.skipped,
      top: plan.choices.slice(0, this.#deps.settings.topChoices ?? 10).map((c) => ({
        key: c.key,
        score: round(c.score),
        reason: c.reason.code,
        detail:
          c.reason.detail +
          (c.earnings ? `; earnings ${c.earnings.date} ${c.earnings.session}` : ''),
      })),
    });
    if (mode === 'scheduled') await history.prune(startedAt);
    const result: WarmRunResult = {
      id,
      mode,
      ran: true,
      tracked: snapshot.stats.length,
      requested: plan.choices.length,
      requests,
      skipped: plan.skipped,
      badRecords: { corrupt: snapshot.corrupt, foreign: snapshot.foreign },
      sweptWasted,
      expectedReads: round(plan.expectedReads),
      durationMs: finishedAt - startedAt,
    };
    await this.#publishTotals();
    this.#log.info(result, 'warming run done');
    this.emit('run', result);
    return result;
  }

  /** The reads a run prepares for, or why it has nothing to do now. */
  #window(mode: WarmMode, now: number): TimeRange | { skip: string } {
    const { calendar, settings } = this.#deps;
    if (mode === 'scheduled') {
      return {
        start: now,
        end: nextScheduledRunAt(settings.schedule.pattern, settings.schedule.tz, now),
      };
    }
    if (mode === 'pre-open') {
      const open = openWindow(calendar.exchangeDayAt(now).date, calendar);
      if (!open) return { skip: 'not a trading day' };
      if (open.end <= now) return { skip: 'the open has passed' };
      return open;
    }
    if (!inSession(now, calendar)) return { skip: 'outside the regular session' };
    return (
      refreshAheadWindow(now, settings.refreshAheadSeconds) ?? { skip: 'refresh-ahead is off' }
    );
  }

  /**
   * Until when a value warmed for this run would stay fresh: written at once
   * for a scheduled run, just before the open for a pre-open run (its
   * requests carry the open as deadline), before expiry for refresh-ahead.
   */
  #freshUntil(stats: AccessStats, mode: WarmMode, window: TimeRange, now: number): number {
    const writtenAt =
      mode === 'pre-open' ? Math.max(now, window.start - this.#deps.settings.deadlineLeadMs) : now;
    return writtenAt + this.#deps.ttl.ttl(stats.dataType, stats.assetType, writtenAt).ttlMs;
  }

  async #l2(stats: readonly AccessStats[]): Promise<Map<string, L2State>> {
    const state = new Map<string, L2State>();
    for (let i = 0; i < stats.length; i += PEEK_CHUNK) {
      const keys = stats.slice(i, i + PEEK_CHUNK).map((s) => s.key);
      const entries = await this.#deps.cache.peek(keys);
      entries.forEach((entry, j) => {
        if (entry) {
          state.set(keys[j]!, {
            softExpiresAt: entry.softExpiresAt,
            hardExpiresAt: entry.hardExpiresAt,
          });
        }
      });
    }
    return state;
  }

  /** Earnings releases from a day before the window to a day after it (cached for hours). */
  async #earningsAround(window: TimeRange): Promise<readonly EarningsEvent[]> {
    const now = this.#deps.clock.now();
    const from = window.start - DAY_MS;
    const cached = this.#earnings;
    if (cached && cached.from <= from && now - cached.at < EARNINGS_TTL_MS) return cached.events;
    // One call per calendar provider, keeping a tenth of its window for reads.
    const result = await this.#deps.providers.earningsCalendar(from, window.end + 3 * DAY_MS, {
      keep: (id) => this.#keepFor(id),
    });
    for (const error of result.errors) {
      this.#log.warn(
        { provider: error.provider, err: error.error },
        'no earnings calendar from a provider',
      );
    }
    this.#earnings = { from, at: now, events: result.events };
    return result.events;
  }

  #keepFor(providerId: string): number | undefined {
    const windows = this.#deps.providers.provider(providerId)?.rateLimits ?? [];
    const tightest = Math.min(...windows.map((w) => w.limit));
    return Number.isFinite(tightest) ? reservedCalls(tightest) : undefined;
  }

  /** What each provider the tracked keys route to can spend now, less the share kept for readers. */
  async #budgets(stats: readonly AccessStats[]): Promise<Map<string, ProviderBudget>> {
    const ids = new Set<string>();
    const routes = new Set<string>();
    for (const s of stats) {
      const route = `${s.assetType}:${s.dataType}`;
      if (routes.has(route)) continue;
      routes.add(route);
      const id = this.#deps.providers.route(s.assetType, s.dataType)[0]?.id;
      if (id) ids.add(id);
    }
    const budgets = new Map<string, ProviderBudget>();
    for (const id of ids) {
      const provider = this.#deps.providers.provider(id);
      if (!provider) continue;
      const budget = await this.#deps.providers.remaining(id);
      const tightest = [...budget.windows].sort((a, b) => a.remaining - b.remaining)[0];
      budgets.set(id, {
        remainingCalls: tightest ? budget.remaining : Number.MAX_SAFE_INTEGER,
        reserveCalls: tightest ? reservedCalls(tightest.limit) : 0,
        maxBatchSize: provider.maxBatchSize,
      });
    }
    return budgets;
  }

  /** Books the choices for this run and sends them as warming requests; resolves how many requests. */
  async #request(
    id: string,
    mode: WarmMode,
    plan: WarmPlan,
    window: TimeRange,
    l2: ReadonlyMap<string, L2State>,
  ): Promise<number> {
    if (plan.choices.length === 0) return 0;
    await this.#deps.ledger.plan(
      id,
      plan.choices.map((c) => c.key),
    );
    // One request per (asset type, data type, deadline), at most MAX_SYMBOLS_PER_REQUEST symbols.
    const groups = new Map<
      string,
      { assetType: AssetType; dataType: DataType; deadline?: number; symbols: string[] }
    >();
    for (const choice of plan.choices) {
      const deadline = deadlineOf(mode, window, l2.get(choice.key));
      const groupKey = `${choice.assetType}:${choice.dataType}:${deadline ?? ''}`;
      let group = groups.get(groupKey);
      if (!group) {
        group = {
          assetType: choice.assetType,
          dataType: choice.dataType,
          ...(deadline === undefined ? {} : { deadline }),
          symbols: [],
        };
        groups.set(groupKey, group);
      }
      group.symbols.push(choice.symbol);
    }
    let requests = 0;
    for (const group of groups.values()) {
      for (let i = 0; i < group.symbols.length; i += MAX_SYMBOLS_PER_REQUEST) {
        await this.#deps.enqueue({
          symbols: group.symbols.slice(i, i + MAX_SYMBOLS_PER_REQUEST),
          assetType: group.assetType,
          dataType: group.dataType,
          priority: 'low',
          reason: 'warm',
          source: `warmer:${id}`,
          ...(group.deadline === undefined
            ? {}
            : { deadline: new Date(group.deadline).toISOString() }),
        });
        requests += 1;
      }
    }
    return requests;
  }

  async #publishTotals(): Promise<void> {
    try {
      const [totals, pending] = await Promise.all([
        this.#deps.ledger.totals(),
        this.#deps.ledger.pending(),
      ]);
      this.emit('totals', { ...totals, pending });
    } catch (error) {
      this.#log.warn({ err: error }, 'could not read the warm ledger totals');
    }
  }
}

/**
 * When a warmed key is needed: the open for a pre-open run; for refresh-ahead
 * its soft expiry, rounded down to 10 s so keys expiring together share a
 * request. A scheduled run has none.
 */
function deadlineOf(
  mode: WarmMode,
  window: TimeRange,
  entry: L2State | undefined,
): number | undefined {
  if (mode === 'pre-open') return window.start;
  if (mode !== 'refresh-ahead') return undefined;
  return entry === undefined ? window.start : Math.floor(entry.softExpiresAt / 10_000) * 10_000;
}

function idle(
  id: string,
  mode: WarmMode,
  why: string,
  sweptWasted: number,
  durationMs: number,
): WarmRunResult {
  return {
    id,
    mode,
    ran: false,
    why,
    tracked: 0,
    requested: 0,
    requests: 0,
    skipped: {},
    badRecords: { corrupt: 0, foreign: 0 },
    sweptWasted,
    expectedReads: 0,
    durationMs,
  };
}

/** A run id the ledger accepts: mode, UTC minute and a random suffix (replicas may run at once). */
function runId(mode: WarmMode, at: number): string {
  const minute = new Date(at).toISOString().slice(0, 16).replace(/[-:]/g, '');
  return `${mode}-${minute}-${randomUUID().slice(0, 6)}`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
