import { DateTime } from 'luxon';
import {
  type AssetType,
  type Clock,
  DATA_TYPES,
  type DataType,
  type ExchangeDay,
  isAssetType,
  isDataType,
  type MarketSession,
  NYSE_TIME_ZONE,
  NyseCalendar,
  type Random,
  randomSeed,
  SeededRandom,
  systemClock,
} from '@fiml/market';
import {
  DEFAULT_TTL_JITTER,
  DEFAULT_TTL_TABLE,
  assertJitter,
  assertTtlTable,
  type TtlColumn,
  type TtlTable,
} from './ttl-table.js';

/**
 * The market-aware freshness policy: how long a cache entry written now stays
 * fresh. A pure function of (data type, asset type, instant, table, jitter,
 * random draw) over the NYSE calendar; the cache asks it on every write.
 *
 * Rules, by what the market is doing at the write (equities):
 * - regular session -> the market-hours TTL;
 * - pre-market, after-hours, or a weeknight between two trading days -> the
 *   after-hours TTL ("after hours" means every equity instant outside the
 *   regular session, since prices still move in the extended sessions and the
 *   design only extends weekends and holidays);
 * - closed for a weekend or holiday (the closed stretch contains a whole
 *   non-trading day, as from Friday 20:00 to Monday 04:00) -> until the market
 *   reopens at 04:00 pre-market, at most the weekend/holiday TTL, at least the
 *   after-hours TTL.
 * Then, for every equity entry: expiry <= next regular open + its market-hours
 * TTL (the design's invariant), and a weekend extension never passes the
 * reopening. Crypto uses its column at all times.
 *
 * Jitter spreads expiries: the TTL is scaled by a factor in [1 - j, 1 + j].
 * When a limit binds (the invariant or the reopening), the TTL is the time to
 * that limit scaled by a factor in [1 - j, 1] instead, so clamped keys do not
 * all expire at the same instant (at 09:35 after a busy pre-market, say) and
 * the limits still hold.
 */

/** Which TTL column chose the base TTL. */
export type TtlRule = TtlColumn;

/**
 * The limit that cut the TTL short, if any:
 * - `next-open`: next regular open + market-hours TTL (the invariant);
 * - `reopen`: the end of a weekend or holiday closure.
 */
export type TtlBound = 'none' | 'next-open' | 'reopen';

export interface TtlRequest {
  readonly dataType: DataType;
  readonly assetType: AssetType;
  /** The write instant, epoch ms (from the injected Clock). */
  readonly now: number;
}

export interface TtlContext {
  readonly calendar: NyseCalendar;
  /** Validated with {@link assertTtlTable} by {@link TtlPolicy}. */
  readonly table: TtlTable;
  /** 0 to 0.5. */
  readonly jitter: number;
  readonly random: Random;
}

export interface TtlDecision {
  readonly dataType: DataType;
  readonly assetType: AssetType;
  /** The column that set the base TTL. */
  readonly rule: TtlRule;
  /** The session at the write. */
  readonly session: MarketSession;
  readonly writtenAt: number;
  /** Whole milliseconds, >= 1. */
  readonly ttlMs: number;
  /** writtenAt + ttlMs: when the entry stops being fresh. */
  readonly expiresAt: number;
  /** The rule's TTL before jitter and limits. */
  readonly baseTtlMs: number;
  /** The jitter factor applied (ttl = min(base, limit) * factor). 1 when jitter is off. */
  readonly jitterFactor: number;
  readonly bound: TtlBound;
  /** Equities: the next regular open at or after the write. */
  readonly nextOpen?: number;
  /** Equities: nextOpen + market-hours TTL, the latest expiry allowed. */
  readonly latestExpiry?: number;
  /** Weekend/holiday closures: when the market reopens (04:00 pre-market). */
  readonly reopensAt?: number;
  /** Weekend/holiday closures: the whole non-trading days of the closure. */
  readonly closedFor?: readonly ExchangeDay[];
}

/** A decision and the rule that applied, in words. */
export interface TtlExplanation extends TtlDecision {
  readonly explanation: string;
}

/** Computes the TTL of one write. Throws TypeError for an unknown data or asset type. */
export function computeTtl(request: TtlRequest, context: TtlContext): TtlDecision {
  const { dataType, assetType, now } = request;
  if (!isDataType(dataType)) {
    throw new TypeError(
      `unknown data type ${JSON.stringify(dataType)}; expected one of ${DATA_TYPES.join(', ')}`,
    );
  }
  if (!isAssetType(assetType)) {
    throw new TypeError(
      `unknown asset type ${JSON.stringify(assetType)}; expected equity or crypto`,
    );
  }
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw new RangeError(`now must be a finite epoch-ms instant, got ${String(now)}`);
  }
  const row = context.table[dataType];

  if (assetType === 'crypto') {
    const factor = symmetricFactor(context);
    const ttlMs = Math.max(1, Math.floor(row.crypto * factor));
    return {
      dataType,
      assetType,
      rule: 'crypto',
      session: 'open',
      writtenAt: now,
      ttlMs,
      expiresAt: now + ttlMs,
      baseTtlMs: row.crypto,
      jitterFactor: factor,
      bound: 'none',
    };
  }

  const { calendar } = context;
  const window = calendar.sessionWindowAt(now);
  const nextOpen = calendar.nextOpen(now);
  const latestExpiry = nextOpen + row.marketHours;

  let rule: TtlRule;
  let base: number;
  let limit = latestExpiry;
  let limitKind: TtlBound = 'next-open';
  let closure: Pick<TtlDecision, 'reopensAt' | 'closedFor'> = {};

  if (window.session === 'regular') {
    rule = 'marketHours';
    base = row.marketHours;
  } else if (window.session === 'closed' && window.nonTradingDays.length > 0) {
    closure = { reopensAt: window.end, closedFor: window.nonTradingDays };
    const extension = Math.min(window.end - now, row.weekendHoliday);
    if (extension > row.afterHours) {
      rule = 'weekendHoliday';
      base = extension;
      // The extension exists because nothing trades until the reopening; past
      // it, pre-market prices move, so it is a hard limit like the invariant.
      if (window.end < limit) {
        limit = window.end;
        limitKind = 'reopen';
      }
    } else {
      rule = 'afterHours';
      base = row.afterHours;
    }
  } else {
    rule = 'afterHours';
    base = row.afterHours;
  }

  const room = limit - now;
  let ttl: number;
  let factor: number;
  let bound: TtlBound;
  if (base >= room) {
    factor = downwardFactor(context);
    ttl = room * factor;
    bound = limitKind;
  } else {
    factor = symmetricFactor(context);
    ttl = base * factor;
    bound = 'none';
    if (ttl > room) {
      ttl = room;
      bound = limitKind;
    }
  }
  // floor keeps expiresAt <= limit; room is at least the market-hours TTL
  // (nextOpen >= now), so the floor of 1 ms never breaks a limit.
  const ttlMs = Math.max(1, Math.floor(ttl));
  return {
    dataType,
    assetType,
    rule,
    session: window.session,
    writtenAt: now,
    ttlMs,
    expiresAt: now + ttlMs,
    baseTtlMs: base,
    jitterFactor: factor,
    bound,
    nextOpen,
    latestExpiry,
    ...closure,
  };
}

/** {@link computeTtl} plus the rule that applied, in words. */
export function explainTtl(request: TtlRequest, context: TtlContext): TtlExplanation {
  const decision = computeTtl(request, context);
  return { ...decision, explanation: describeTtlDecision(decision, context.calendar) };
}

/** Words for a decision, for logs, the analytics report and debugging. */
export function describeTtlDecision(decision: TtlDecision, calendar: NyseCalendar): string {
  const d = decision;
  const subject = `${d.dataType} (${d.assetType}) written ${formatInstant(d.writtenAt)}`;
  const jitter = d.jitterFactor === 1 ? 'no jitter' : `jitter x${d.jitterFactor.toFixed(3)}`;
  const result = `TTL ${formatDuration(d.ttlMs)}, fresh until ${formatInstant(d.expiresAt)}`;
  if (d.assetType === 'crypto') {
    return `${subject}: crypto trades 24/7, crypto TTL ${formatDuration(d.baseTtlMs)}; ${jitter}; ${result}.`;
  }
  const day = calendar.exchangeDayAt(d.writtenAt);
  const when = describeSession(d, day);
  let why: string;
  switch (d.rule) {
    case 'marketHours':
      why = `market-hours TTL ${formatDuration(d.baseTtlMs)}`;
      break;
    case 'afterHours':
      why =
        d.reopensAt === undefined
          ? `after-hours TTL ${formatDuration(d.baseTtlMs)}`
          : `after-hours TTL ${formatDuration(d.baseTtlMs)} (longer than the weekend/holiday extension to the reopening ${formatInstant(d.reopensAt)})`;
      break;
    case 'weekendHoliday': {
      const reopensAt = d.reopensAt ?? Number.NaN;
      why =
        d.writtenAt + d.baseTtlMs >= reopensAt
          ? `weekend/holiday extension: lives until the market reopens ${formatInstant(reopensAt)}, ${formatDuration(d.baseTtlMs)}`
          : `weekend/holiday TTL ${formatDuration(d.baseTtlMs)} (shorter than the time until the market reopens ${formatInstant(reopensAt)})`;
      break;
    }
    case 'crypto':
      why = `crypto TTL ${formatDuration(d.baseTtlMs)}`;
      break;
  }
  const limits: string[] = [];
  if (d.bound === 'next-open' && d.nextOpen !== undefined) {
    limits.push(
      `capped so it does not outlive the next open ${formatInstant(d.nextOpen)} by more than the market-hours TTL (latest ${formatInstant(d.latestExpiry ?? Number.NaN)}), jittered only shorter`,
    );
  }
  if (d.bound === 'reopen') limits.push('capped at the reopening, jittered only shorter');
  return [`${subject} ${when}: ${why}`, ...limits, jitter, result].join('; ') + '.';
}

function describeSession(d: TtlDecision, day: ExchangeDay): string {
  const early = day.earlyClose ? ` (early close: ${day.reason ?? 'early close'})` : '';
  switch (d.session) {
    case 'regular':
      return `in the regular session${early}`;
    case 'pre-market':
      return 'in the pre-market session';
    case 'after-hours':
      return `in the after-hours session${early}`;
    case 'closed': {
      if (d.closedFor === undefined || d.closedFor.length === 0) return 'while closed overnight';
      const reasons = [...new Set(d.closedFor.map((x) => x.reason ?? 'the weekend'))];
      return `while closed for ${reasons.join(' and ')}`;
    }
    case 'open':
      return '';
  }
}

export interface TtlPolicyOptions {
  /** @defaultValue a new NyseCalendar() with the default overrides */
  readonly calendar?: NyseCalendar;
  /** Milliseconds per data type and column. @defaultValue DEFAULT_TTL_TABLE */
  readonly table?: TtlTable;
  /** Fraction from 0 (off) to 0.5. @defaultValue 0.1 */
  readonly jitter?: number;
  /** @defaultValue a SeededRandom seeded from the OS ({@link randomSeed}) */
  readonly random?: Random;
  /** Supplies `now` when a call omits it. @defaultValue systemClock */
  readonly clock?: Clock;
}

/**
 * {@link computeTtl} with its context bound: what the cache holds. The table
 * and jitter are validated once here, not on every write.
 */
export class TtlPolicy {
  readonly calendar: NyseCalendar;
  readonly table: TtlTable;
  readonly jitter: number;
  readonly #context: TtlContext;
  readonly #clock: Clock;

  constructor(options: TtlPolicyOptions = {}) {
    this.calendar = options.calendar ?? new NyseCalendar();
    this.table = options.table ?? DEFAULT_TTL_TABLE;
    this.jitter = options.jitter ?? DEFAULT_TTL_JITTER;
    assertTtlTable(this.table);
    assertJitter(this.jitter);
    this.#clock = options.clock ?? systemClock;
    this.#context = {
      calendar: this.calendar,
      table: this.table,
      jitter: this.jitter,
      random: options.random ?? new SeededRandom(randomSeed()),
    };
  }

  /** The TTL of an entry written at `now`. @param now @defaultValue clock.now() */
  ttl(dataType: DataType, assetType: AssetType, now: number = this.#clock.now()): TtlDecision {
    return computeTtl({ dataType, assetType, now }, this.#context);
  }

  /** {@link TtlPolicy.ttl} plus the rule that applied, in words. */
  explainTtl(
    dataType: DataType,
    assetType: AssetType,
    now: number = this.#clock.now(),
  ): TtlExplanation {
    return explainTtl({ dataType, assetType, now }, this.#context);
  }
}

function symmetricFactor(context: TtlContext): number {
  return context.jitter === 0 ? 1 : 1 + context.jitter * (2 * context.random.next() - 1);
}

function downwardFactor(context: TtlContext): number {
  return context.jitter === 0 ? 1 : 1 - context.jitter * context.random.next();
}

function formatInstant(ms: number): string {
  return DateTime.fromMillis(ms, { zone: NYSE_TIME_ZONE, locale: 'en-US' }).toFormat(
    'ccc yyyy-LL-dd HH:mm:ss ZZZZ',
  );
}

/** "20 min", "31 h 30 min", "2 d 4 h", "1 min 3.5 s". */
export function formatDuration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms);
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
  ];
  for (const [size, name] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n} ${name}`);
    rest -= n * size;
  }
  if (rest > 0 || parts.length === 0) {
    const seconds = rest / 1000;
    parts.push(`${Number.isInteger(seconds) ? seconds : seconds.toFixed(3).replace(/0+$/, '')} s`);
  }
  return parts.join(' ');
}
