import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';

/**
 * Parsers from a raw environment string to a typed value. Each one states the
 * accepted form in its error message; the variable's doc states it for people.
 */

export const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+$/, 'not an integer')
    .transform(Number)
    .pipe(z.number().min(min, `below the minimum ${min}`).max(max, `above the maximum ${max}`));

export const port = () => integer(0, 65_535);

export const boolean = () =>
  z.stringbool({
    truthy: ['true', '1', 'yes', 'on'],
    falsy: ['false', '0', 'no', 'off'],
    case: 'insensitive',
  });

export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `not one of ${values.join(', ')}` });

export const redisUrl = () =>
  z.string().refine((s) => {
    try {
      const { protocol } = new URL(s);
      return protocol === 'redis:' || protocol === 'rediss:';
    } catch {
      return false;
    }
  }, 'not a redis:// or rediss:// URL');

export const hostname = () =>
  z.string().regex(/^[A-Za-z0-9.:[\]-]+$/, 'not a host name or IP address');

/** A cron pattern as BullMQ's Job Scheduler reads it (5 fields, or 6 with seconds). */
export const cronPattern = () =>
  z.string().refine((s) => {
    try {
      CronExpressionParser.parse(s);
      return true;
    } catch {
      return false;
    }
  }, 'not a valid cron pattern');

/** An IANA time zone name that this Node.js build knows ("America/New_York"). */
export const timeZone = () =>
  z.string().refine((s) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: s });
      return true;
    } catch {
      return false;
    }
  }, 'not an IANA time zone');

/** A Redis key prefix: letters, digits, "-", "_" and "."; no braces (we add the hash tag). */
export const keyPrefix = () =>
  z.string().regex(/^[A-Za-z0-9._-]{1,32}$/, 'not 1-32 letters, digits, ".", "_" or "-"');

/** A decimal number in [min, max] ("0.5"). */
export const decimal = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'not a decimal number')
    .transform(Number)
    .pipe(z.number().min(min, `below the minimum ${min}`).max(max, `above the maximum ${max}`));

/** Comma-separated hours of the day 0-23 ("0,1,2,3,4,5,6"); empty for none. Sorted, unique. */
export const hourList = () =>
  z.string().transform((text, ctx) => {
    const parts = text
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const bad = parts.find((p) => !/^\d{1,2}$/.test(p) || Number(p) > 23);
    if (bad !== undefined) {
      ctx.issues.push({ code: 'custom', message: `"${bad}" is not an hour 0-23`, input: text });
      return z.NEVER;
    }
    return [...new Set(parts.map(Number))].sort((a, b) => a - b);
  });

/** Comma-separated cache keys or `*` patterns (empty for none). */
export const keyPatterns = () =>
  z.string().transform((text, ctx) => {
    const patterns = text
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const bad = patterns.find((p) => p.length > 512 || /\s/.test(p));
    if (bad !== undefined) {
      ctx.issues.push({ code: 'custom', message: `"${bad}" is not a key or pattern`, input: text });
      return z.NEVER;
    }
    return patterns;
  });

/** `name:key` pairs; keys of at least 16 characters, names unique. */
export const apiKeys = () =>
  z.string().transform((text, ctx) => {
    const keys: { name: string; key: string }[] = [];
    for (const part of text
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const colon = part.indexOf(':');
      const name = part.slice(0, colon);
      const key = part.slice(colon + 1);
      const problem =
        colon <= 0
          ? 'an entry is not name:key'
          : !/^[A-Za-z0-9._-]{1,32}$/.test(name)
            ? `key name "${name}" is not 1-32 of [A-Za-z0-9._-]`
            : !/^[\x21-\x7e]{16,256}$/.test(key)
              ? `the key of "${name}" is not 16-256 visible ASCII characters`
              : keys.some((k) => k.name === name)
                ? `key name "${name}" is given twice`
                : undefined;
      if (problem) {
        ctx.issues.push({ code: 'custom', message: problem, input: '(hidden)' });
        return z.NEVER;
      }
      keys.push({ name, key });
    }
    return keys;
  });

/** A secret that may be empty (feature off), or has at least `min` characters. */
export const optionalSecret = (min: number) =>
  z
    .string()
    .refine(
      (s) => s === '' || (/^[\x21-\x7e]*$/.test(s) && s.length >= min && s.length <= 256),
      `not ${min}-256 visible ASCII characters`,
    );
