import { DATA_TYPES, type DataType } from '@fiml/market';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * The TTLs of one data type, in milliseconds, by what the market is doing
 * when the entry is written.
 */
export interface TtlRow {
  /** Equities in the regular session (09:30 to the close). */
  readonly marketHours: number;
  /** Equities outside the regular session on a trading day or weeknight: pre-market, after-hours, overnight. */
  readonly afterHours: number;
  /**
   * Equities while the market is closed for a weekend or holiday: the entry
   * lives until the market reopens (04:00 pre-market), but at most this long,
   * and never less than `afterHours`. Set it at or below `afterHours` to
   * switch the extension off for a data type.
   */
  readonly weekendHoliday: number;
  /** Crypto, at any time: it trades 24/7. */
  readonly crypto: number;
}

export type TtlColumn = keyof TtlRow;
export const TTL_COLUMNS: readonly TtlColumn[] = [
  'marketHours',
  'afterHours',
  'weekendHoliday',
  'crypto',
];

/** TTLs per data type. */
export type TtlTable = { readonly [D in DataType]: TtlRow };

/**
 * Longer than any scheduled closure (the longest, an early close before a
 * holiday weekend such as Christmas 2026, runs 17:00 Thursday to 04:00
 * Monday, 83 h), so by default a weekend entry lives exactly until reopening.
 */
const UNTIL_REOPEN = 96 * HOUR;

/**
 * ../shared/DESIGN.md "Default TTLs": price 5 min / 20 min / 1 min,
 * fundamentals 24 h / 48 h / 24 h, news 10 min / 15 min / 10 min (market
 * hours / after hours / crypto), plus the weekend-and-holiday extension.
 */
export const DEFAULT_TTL_TABLE: TtlTable = deepFreezeTable({
  price: {
    marketHours: 5 * MINUTE,
    afterHours: 20 * MINUTE,
    weekendHoliday: UNTIL_REOPEN,
    crypto: 1 * MINUTE,
  },
  fundamentals: {
    marketHours: 24 * HOUR,
    afterHours: 48 * HOUR,
    weekendHoliday: UNTIL_REOPEN,
    crypto: 24 * HOUR,
  },
  news: {
    marketHours: 10 * MINUTE,
    afterHours: 15 * MINUTE,
    weekendHoliday: UNTIL_REOPEN,
    crypto: 10 * MINUTE,
  },
});

/** Jitter: each TTL is scaled by a random factor in [1 - j, 1 + j]. */
export const DEFAULT_TTL_JITTER = 0.1;
/** Beyond ±50 % a TTL is no longer "about" the configured value. */
export const MAX_TTL_JITTER = 0.5;

/**
 * Throws a RangeError when a table lacks a data type or holds a TTL that is
 * not a positive, finite number of milliseconds.
 */
export function assertTtlTable(table: TtlTable): void {
  for (const dataType of DATA_TYPES) {
    const row = (table as Partial<TtlTable>)[dataType];
    if (row === undefined) throw new RangeError(`TTL table has no row for ${dataType}`);
    for (const column of TTL_COLUMNS) {
      const ms = row[column];
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) {
        throw new RangeError(
          `TTL ${dataType}.${column} must be a positive number of ms, got ${String(ms)}`,
        );
      }
    }
  }
}

export function assertJitter(jitter: number): void {
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= MAX_TTL_JITTER)) {
    throw new RangeError(
      `TTL jitter must be a fraction from 0 to ${MAX_TTL_JITTER}, got ${String(jitter)}`,
    );
  }
}

function deepFreezeTable(table: TtlTable): TtlTable {
  for (const row of Object.values(table)) Object.freeze(row);
  return Object.freeze(table);
}
