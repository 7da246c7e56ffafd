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

/** `redis+cluster://[user:password@]host:port[,host:port…][/0]` (the runtime reads it into seeds). */
const CLUSTER_URL =
  /^rediss?\+cluster:\/\/(?:[^@/]*@)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?(?:,(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?)*\/?0?$/;

export const redisUrl = () =>
  z.string().refine((s) => {
    if (CLUSTER_URL.test(s)) return true;
    try {
      const { protocol } = new URL(s);
      return protocol === 'redis:' || protocol === 'rediss:';
    } catch {
      return false;
    }
  }, 'not a redis:// or rediss:// URL, nor a Redis Cluster as redis+cluster://host:port,host:port');

export const hostname = () =>
  z.string().regex(/^[A-Za-z0-9.:[\]-]+$/, 'not a host name or IP address');

/**
 * Whether a text is a cron pattern as BullMQ's Job Scheduler reads it: 5
 * fields, or 6 with seconds first. The field count is checked here because
 * cron-parser fills missing fields in: it reads "" as every minute and "6" as
 * every minute of Saturdays.
 */
function isCronPattern(text: string): boolean {
  const fields = text.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5 && fields.length !== 6) return false;
  try {
    CronExpressionParser.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A cron pattern as BullMQ's Job Scheduler reads it (5 fields, or 6 with seconds). */
export const cronPattern = () => z.string().refine(isCronPattern, 'not a valid cron pattern');

const HOUR_LIST = /^\s*\d{1,2}(?:\s*,\s*\d{1,2})*\s*$/;

/**
 * A schedule: a cron pattern, or the original FIML's list of hours ("0,6,12,18",
 * on the hour), which becomes the cron pattern `0 0,6,12,18 * * *`. The value
 * is always the cron pattern.
 */
export const cronOrHourList = () =>
  z.string().transform((text, ctx) => {
    if (HOUR_LIST.test(text)) {
      const hours = [...new Set(text.split(',').map((h) => Number(h.trim())))].sort(
        (a, b) => a - b,
      );
      const bad = hours.find((h) => h > 23);
      if (bad === undefined) return `0 ${hours.join(',')} * * *`;
      ctx.issues.push({ code: 'custom', message: `${bad} is not an hour 0-23`, input: text });
      return z.NEVER;
    }
    if (isCronPattern(text)) return text.trim();
    ctx.issues.push({
      code: 'custom',
      message: 'not a valid cron pattern (5 or 6 fields) or list of hours 0-23 (0,6,12,18)',
      input: text,
    });
    return z.NEVER;
  });

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
