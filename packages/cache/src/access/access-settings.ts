import { NYSE_TIME_ZONE } from '@fiml/market';
import { cacheKeySpace } from '../cache-keys.js';

const DAY_MS = 86_400_000;

/** What the recorder (which writes) and the history (which reads) must agree on. */
export interface AccessSettingsOptions {
  /** @defaultValue 'fiml' (CACHE_KEY_PREFIX) */
  readonly keyPrefix?: string;
  /**
   * After this long a read counts half in the frequency and the profile.
   * A week: the profile then remembers about ten trading days, enough for a
   * weekly rhythm and short enough to follow a symbol going cold.
   * @defaultValue 604800000 (7 days)
   */
  readonly halfLifeMs?: number;
  /**
   * A key not read for this long is deleted (by the sweeps of the merges and
   * by {@link AccessHistory.prune}); a shard not written for this long expires
   * whole in Redis. @defaultValue 1209600000 (14 days)
   */
  readonly coldAfterMs?: number;
  /** The exchange time zone of the time-of-day profile. @defaultValue 'America/New_York' */
  readonly timeZone?: string;
}

/** Settings with their defaults applied, and the Redis key names. */
export interface AccessSettings {
  readonly halfLifeMs: number;
  readonly coldAfterMs: number;
  readonly timeZone: string;
  /** The set of leaf shard ids. */
  readonly directoryKey: string;
  /** Shard `id` is this prefix + id. */
  readonly shardPrefix: string;
}

export const DEFAULT_HALF_LIFE_MS = 7 * DAY_MS;
export const DEFAULT_COLD_AFTER_MS = 14 * DAY_MS;

/** Applies the defaults; throws a RangeError naming a setting out of range. */
export function accessSettings(options: AccessSettingsOptions): AccessSettings {
  const halfLifeMs = options.halfLifeMs ?? DEFAULT_HALF_LIFE_MS;
  const coldAfterMs = options.coldAfterMs ?? DEFAULT_COLD_AFTER_MS;
  if (!Number.isFinite(halfLifeMs) || halfLifeMs < 60_000) {
    throw new RangeError(`halfLifeMs must be at least one minute, got ${halfLifeMs}`);
  }
  if (!Number.isFinite(coldAfterMs) || coldAfterMs < 60_000) {
    throw new RangeError(`coldAfterMs must be at least one minute, got ${coldAfterMs}`);
  }
  const space = cacheKeySpace(options.keyPrefix ?? 'fiml');
  return {
    halfLifeMs,
    coldAfterMs,
    timeZone: options.timeZone ?? NYSE_TIME_ZONE,
    directoryKey: `${space.access}dir`,
    shardPrefix: `${space.access}s:`,
  };
}
