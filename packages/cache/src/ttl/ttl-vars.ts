import { envVar, type EnvVar } from '@fiml/config';
import { z } from 'zod';
import { TTL_ENV_VARS, parseTtlEnv } from './ttl-env.js';

/**
 * The cache TTL variables (CACHE_TTL_PRICE, …, CACHE_TTL_JITTER) for every
 * process that writes the cache. `ttl-env.ts` owns their meaning, defaults
 * and validation (TTL_ENV_VARS, parseTtlEnv); this file declares them as
 * config variables with the names as literal types, so app configs stay
 * typed, and checks at load time that the list matches exactly.
 */
export const TTL_VAR_NAMES = [
  'CACHE_TTL_PRICE',
  'CACHE_TTL_PRICE_AFTER_HOURS',
  'CACHE_TTL_PRICE_WEEKEND_HOLIDAY',
  'CACHE_TTL_PRICE_CRYPTO',
  'CACHE_TTL_FUNDAMENTALS',
  'CACHE_TTL_FUNDAMENTALS_AFTER_HOURS',
  'CACHE_TTL_FUNDAMENTALS_WEEKEND_HOLIDAY',
  'CACHE_TTL_FUNDAMENTALS_CRYPTO',
  'CACHE_TTL_NEWS',
  'CACHE_TTL_NEWS_AFTER_HOURS',
  'CACHE_TTL_NEWS_WEEKEND_HOLIDAY',
  'CACHE_TTL_NEWS_CRYPTO',
  'CACHE_TTL_JITTER',
] as const;
export type TtlVarName = (typeof TTL_VAR_NAMES)[number];

const known = TTL_ENV_VARS.map((v) => v.name);
if (known.length !== TTL_VAR_NAMES.length || TTL_VAR_NAMES.some((name) => !known.includes(name))) {
  throw new Error(
    `@fiml/config's TTL variable list is out of date with @fiml/market: market has ${known.join(', ')}`,
  );
}

/** The raw string, validated by market's own parser (so the rules live in one place). */
function ttlValue(name: string) {
  return z.string().superRefine((raw, ctx) => {
    const result = parseTtlEnv({ [name]: raw });
    if (!result.ok)
      ctx.addIssue({ code: 'custom', message: result.problems[0]?.problem ?? 'invalid' });
  });
}

export const ttlVars = Object.fromEntries(
  TTL_ENV_VARS.map((v) => [
    v.name,
    envVar(ttlValue(v.name), {
      description: v.description,
      expected: v.expected,
      default: v.default,
    }),
  ]),
) as Readonly<Record<TtlVarName, EnvVar<string>>>;

/** The TTL variables of a parsed config, as the strings `ttlSettingsFromEnv` reads. */
export function ttlEnvOf(config: Readonly<Record<TtlVarName, string>>): Record<TtlVarName, string> {
  return Object.fromEntries(TTL_VAR_NAMES.map((name) => [name, config[name]])) as Record<
    TtlVarName,
    string
  >;
}
