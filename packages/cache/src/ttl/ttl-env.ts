import type { DataType } from '@fiml/market';
import {
  DEFAULT_TTL_JITTER,
  DEFAULT_TTL_TABLE,
  MAX_TTL_JITTER,
  assertTtlTable,
  type TtlColumn,
  type TtlRow,
  type TtlTable,
} from './ttl-table.js';

/**
 * TTL settings from environment variables. The names keep the original FIML's
 * CACHE_TTL_PRICE and CACHE_TTL_FUNDAMENTALS (market-hours TTLs, in seconds)
 * and add one variable per data type and session in the same pattern.
 * @fiml/config owns env loading; it folds {@link TTL_ENV_VARS} into its schema
 * and docs/CONFIGURATION.md and calls {@link parseTtlEnv}.
 */

/** What an operator needs to know about one TTL variable. */
export interface TtlEnvVar {
  readonly name: string;
  /** The value used when the variable is unset or empty, as text. */
  readonly default: string;
  /** The accepted form, as a person would say it. */
  readonly expected: string;
  readonly description: string;
}

/** The TTL (and jitter) an env override produced. */
export interface TtlSettings {
  readonly table: TtlTable;
  /** See {@link DEFAULT_TTL_JITTER}. */
  readonly jitter: number;
}

/** One bad variable: the same shape as @fiml/config's ConfigProblem. */
export interface TtlEnvProblem {
  readonly variable: string;
  readonly problem: string;
  readonly expected: string;
}

export type TtlEnvResult =
  | { readonly ok: true; readonly settings: TtlSettings }
  | { readonly ok: false; readonly problems: readonly TtlEnvProblem[] };

/** Thrown by {@link ttlSettingsFromEnv}; lists every bad variable at once. */
export class TtlEnvError extends Error {
  readonly code = 'FIML_TTL_ENV_INVALID';
  readonly problems: readonly TtlEnvProblem[];

  constructor(problems: readonly TtlEnvProblem[]) {
    const lines = problems.map((p) => `  - ${p.variable}: ${p.problem}; expected ${p.expected}`);
    super(`Invalid cache TTL configuration: ${problems.length} to fix.\n${lines.join('\n')}`);
    this.name = 'TtlEnvError';
    this.problems = problems;
  }
}

/** 30 days: a TTL beyond it is a typo (milliseconds for seconds), not a policy. */
const MAX_TTL_SECONDS = 30 * 24 * 3600;
const SECONDS_EXPECTED = `whole seconds from 1 to ${MAX_TTL_SECONDS}`;
const JITTER_EXPECTED = `a fraction from 0 to ${MAX_TTL_JITTER} (0 disables jitter)`;

interface TtlVarSpec {
  readonly name: string;
  readonly dataType: DataType;
  readonly column: TtlColumn;
  readonly what: string;
}

const SESSION_SUFFIX: Readonly<Record<TtlColumn, string>> = {
  marketHours: '',
  afterHours: '_AFTER_HOURS',
  weekendHoliday: '_WEEKEND_HOLIDAY',
  crypto: '_CRYPTO',
};

const SESSION_WORDS: Readonly<Record<TtlColumn, string>> = {
  marketHours: 'written during the NYSE regular session (09:30 to the close, exchange time)',
  afterHours:
    'written outside the regular session on a trading day or weeknight (pre-market, after-hours, overnight)',
  weekendHoliday:
    'written while the NYSE is closed for a weekend or holiday: the entry lives until the market reopens (04:00 pre-market) but at most this long, and never less than the after-hours TTL',
  crypto: 'for crypto assets, at any time',
};

const DATA_TYPE_ORDER: readonly DataType[] = ['price', 'fundamentals', 'news'];
const COLUMN_ORDER: readonly TtlColumn[] = [
  'marketHours',
  'afterHours',
  'weekendHoliday',
  'crypto',
];

const SPECS: readonly TtlVarSpec[] = DATA_TYPE_ORDER.flatMap((dataType) =>
  COLUMN_ORDER.map((column) => ({
    name: `CACHE_TTL_${dataType.toUpperCase()}${SESSION_SUFFIX[column]}`,
    dataType,
    column,
    what: SESSION_WORDS[column],
  })),
);

/** Every TTL variable with its default, form and meaning, in documentation order. */
export const TTL_ENV_VARS: readonly TtlEnvVar[] = Object.freeze([
  ...SPECS.map((s) =>
    Object.freeze({
      name: s.name,
      default: String(DEFAULT_TTL_TABLE[s.dataType][s.column] / 1000),
      expected: SECONDS_EXPECTED,
      description: `TTL in seconds of ${s.dataType} entries ${s.what}.${
        s.column === 'marketHours' ? ' Same name and meaning as in the original FIML.' : ''
      }`,
    }),
  ),
  Object.freeze({
    name: 'CACHE_TTL_JITTER',
    default: String(DEFAULT_TTL_JITTER),
    expected: JITTER_EXPECTED,
    description:
      'Random spread of every TTL, as a fraction: 0.1 scales each TTL by a factor in [0.9, 1.1], so keys written together do not expire together. A TTL that would pass the next open plus its market-hours TTL (or a weekend entry the reopening) is clamped and only ever jittered shorter.',
  }),
]);

/**
 * Reads the TTL variables from a plain env record (unset or empty means the
 * default) over a base table, and reports every bad variable by name.
 * @param base @defaultValue DEFAULT_TTL_TABLE
 */
export function parseTtlEnv(
  env: Readonly<Record<string, string | undefined>>,
  base: TtlTable = DEFAULT_TTL_TABLE,
): TtlEnvResult {
  assertTtlTable(base);
  const problems: TtlEnvProblem[] = [];
  const rows: Record<DataType, Record<TtlColumn, number>> = {
    price: { ...base.price },
    fundamentals: { ...base.fundamentals },
    news: { ...base.news },
  };
  for (const spec of SPECS) {
    const raw = env[spec.name]?.trim();
    if (raw === undefined || raw === '') continue;
    const seconds = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (Number.isNaN(seconds)) {
      problems.push({
        variable: spec.name,
        problem: `not a whole number of seconds: ${JSON.stringify(raw)}`,
        expected: SECONDS_EXPECTED,
      });
    } else if (seconds < 1 || seconds > MAX_TTL_SECONDS) {
      problems.push({
        variable: spec.name,
        problem: `${seconds} is out of range`,
        expected: SECONDS_EXPECTED,
      });
    } else {
      rows[spec.dataType][spec.column] = seconds * 1000;
    }
  }
  let jitter = DEFAULT_TTL_JITTER;
  const rawJitter = env['CACHE_TTL_JITTER']?.trim();
  if (rawJitter !== undefined && rawJitter !== '') {
    const value = /^(?:\d+(?:\.\d*)?|\.\d+)$/.test(rawJitter) ? Number(rawJitter) : Number.NaN;
    if (Number.isNaN(value)) {
      problems.push({
        variable: 'CACHE_TTL_JITTER',
        problem: `not a decimal fraction: ${JSON.stringify(rawJitter)}`,
        expected: JITTER_EXPECTED,
      });
    } else if (value > MAX_TTL_JITTER) {
      problems.push({
        variable: 'CACHE_TTL_JITTER',
        problem: `${value} is out of range`,
        expected: JITTER_EXPECTED,
      });
    } else {
      jitter = value;
    }
  }
  if (problems.length > 0) return { ok: false, problems: Object.freeze(problems) };
  const table: TtlTable = Object.freeze({
    price: Object.freeze(rows.price as TtlRow),
    fundamentals: Object.freeze(rows.fundamentals as TtlRow),
    news: Object.freeze(rows.news as TtlRow),
  });
  return { ok: true, settings: Object.freeze({ table, jitter }) };
}

/**
 * {@link parseTtlEnv} for callers that want an exception: throws a
 * {@link TtlEnvError} listing every bad variable.
 */
export function ttlSettingsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  base: TtlTable = DEFAULT_TTL_TABLE,
): TtlSettings {
  const result = parseTtlEnv(env, base);
  if (!result.ok) throw new TtlEnvError(result.problems);
  return result.settings;
}
