import type { Clock, DataType } from '@fiml/market';
import type { CacheLevel } from '../cache-events.js';
import type { CacheEntry } from '../l2/cache-entry.js';
import type { L2Read } from '../l2/l2-store.js';
import { FetchFailedError, InvalidFetchResultError } from './cache-errors.js';
import type { CacheEmitter } from './cache-emitter.js';
import type { Flights } from './flights.js';
import type { Freshness, Phase } from './freshness.js';
import type { L1Value, TierStore } from './tier-store.js';
import type { CacheLogger, CacheRead } from './types.js';

/** A tier's answer to a read, and the phase it was in. */
export interface TierAnswer {
  readonly read: CacheRead;
  readonly phase: Exclude<Phase, 'expired'>;
  readonly level: CacheLevel;
}

const MAX_REMEMBERED_KEYS = 10_000;

/**
 * The steps of one read, shared by every read method: answer from L1, answer
 * from an L2 read, and the upstream step (the key's single flight, bounded,
 * with stale data standing in when the fetch fails or passes its soft
 * timeout). Each step emits its event: hit, stale-served, miss.
 */
export class ReadPath {
  readonly #tiers: TierStore;
  readonly #freshness: Freshness;
  readonly #flights: Flights;
  readonly #events: CacheEmitter;
  readonly #clock: Clock;
  readonly #logger: CacheLogger;
  readonly #softTimeoutMs: number;
  readonly #corruptLogged = new Set<string>();

  constructor(options: {
    tiers: TierStore;
    freshness: Freshness;
    flights: Flights;
    events: CacheEmitter;
    clock: Clock;
    logger: CacheLogger;
    softTimeoutMs: number;
  }) {
    this.#tiers = options.tiers;
    this.#freshness = options.freshness;
    this.#flights = options.flights;
    this.#events = options.events;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#softTimeoutMs = options.softTimeoutMs;
  }

  /**
   * L1's answer, or undefined when L1 has nothing usable (an expired entry is
   * removed). An answer in phase `revalidate` was served stale: the caller
   * asks for its refresh (no closure per read on the hit path).
   */
  fromL1(key: string, now: number, started: number): TierAnswer | undefined {
    const held = this.#tiers.l1.get(key);
    if (!held) return undefined;
    const phase = this.#freshness.phase(held.entry, now);
    if (phase === 'expired') {
      this.#tiers.l1.delete(key);
      this.#tiers.emitEvict(key, held, 'expired');
      return undefined;
    }
    return this.#answer(key, held, 'l1', phase, started);
  }

  /** An L2 read's answer (filling L1), or undefined for a miss, a corrupt or an expired entry. */
  fromL2(
    key: string,
    l2Read: L2Read | undefined,
    since: number,
    now: number,
    started: number,
  ): TierAnswer | undefined {
    if (!l2Read || l2Read.status === 'miss') return undefined;
    if (l2Read.status === 'corrupt') {
      if (!this.#corruptLogged.has(key)) {
        if (this.#corruptLogged.size >= MAX_REMEMBERED_KEYS) this.#corruptLogged.clear();
        this.#corruptLogged.add(key);
        this.#logger.warn(
          { key, err: l2Read.error },
          'corrupt L2 entry; treating as a miss and overwriting',
        );
      }
      this.#events.emit('error', {
        component: 'l2',
        operation: 'decode',
        error: l2Read.error,
        key,
      });
      return undefined;
    }
    const phase = this.#freshness.phase(l2Read.entry, now);
    if (phase === 'expired') return undefined;
    this.#corruptLogged.delete(key);
    const held = this.#tiers.fillL1(key, l2Read.entry, now, since);
    // L1 may hold a newer entry than this reply: answer with what L1 kept.
    const heldPhase = held.entry === l2Read.entry ? phase : this.#freshness.phase(held.entry, now);
    if (heldPhase === 'expired') return undefined;
    return this.#answer(key, held, 'l2', heldPhase, started);
  }

  /**
   * The upstream step, after the tiers missed: joins or starts the key's
   * flight. When the fetch fails, or is still running at the soft timeout, a
   * stale entry (`fallback`) answers instead; without one the read fails with
   * {@link FetchFailedError}.
   */
  async fetchThrough(
    key: string,
    dataType: DataType,
    fetch: () => Promise<CacheEntry | Error>,
    fallback: TierAnswer | undefined,
    started: number,
  ): Promise<CacheRead> {
    const flight = this.#flights.join(key, fetch);
    try {
      const entry = await (fallback ? this.#orSoftTimeout(flight) : flight);
      if (entry === SOFT_TIMEOUT) return this.#serveStale(key, dataType, fallback!, 'soft-timeout');
      this.#events.emit('miss', { key, dataType, latencyMs: performance.now() - started });
      return this.toRead(key, entry, 'upstream', false);
    } catch (error) {
      // A broken fetch function is a bug to surface, not an outage to paper over.
      if (error instanceof InvalidFetchResultError) throw error;
      if (fallback) return this.#serveStale(key, dataType, fallback, 'fetch-error');
      this.#events.emit('miss', { key, dataType, latencyMs: performance.now() - started });
      throw new FetchFailedError(key, { cause: error });
    }
  }

  /**
   * A miss the app did not admit for fetching (see ReadOptions.admitFetch):
   * served stale when a stale-if-error fallback exists, as a failed fetch
   * would be, else a miss failing with the app's refusal as its cause.
   */
  refused(
    key: string,
    dataType: DataType,
    refusal: Error,
    fallback: TierAnswer | undefined,
    started: number,
  ): CacheRead {
    if (fallback) return this.#serveStale(key, dataType, fallback, 'fetch-error');
    this.#events.emit('miss', { key, dataType, latencyMs: performance.now() - started });
    throw new FetchFailedError(key, { cause: refusal });
  }

  toRead(key: string, entry: CacheEntry, from: CacheLevel | 'upstream', stale: boolean): CacheRead {
    return {
      key,
      from,
      stale,
      found: entry.kind === 'value',
      value: entry.kind === 'value' ? entry.value : undefined,
      entry,
    };
  }

  #orSoftTimeout(flight: Promise<CacheEntry>): Promise<CacheEntry | typeof SOFT_TIMEOUT> {
    let timer: NodeJS.Timeout | undefined;
    const soft = new Promise<typeof SOFT_TIMEOUT>((resolve) => {
      timer = setTimeout(() => resolve(SOFT_TIMEOUT), this.#softTimeoutMs);
      timer.unref();
    });
    return Promise.race([flight, soft]).finally(() => clearTimeout(timer));
  }

  #serveStale(
    key: string,
    dataType: DataType,
    fallback: TierAnswer,
    reason: 'fetch-error' | 'soft-timeout',
  ): CacheRead {
    this.#events.emit('stale-served', {
      key,
      dataType,
      level: fallback.level,
      ageMs: this.#clock.now() - fallback.read.entry.softExpiresAt,
      reason,
    });
    return fallback.read;
  }

  #answer(
    key: string,
    held: L1Value,
    level: CacheLevel,
    phase: Exclude<Phase, 'expired'>,
    started: number,
  ): TierAnswer {
    const { entry } = held;
    const stale = phase !== 'fresh';
    const read = this.toRead(key, entry, level, stale);
    if (phase === 'stale-if-error') return { read, phase, level };
    held.read = true;
    this.#events.emit('hit', {
      key,
      dataType: entry.dataType,
      level,
      latencyMs: performance.now() - started,
      stale,
      writer: entry.writer,
      fetchedAt: entry.fetchedAt,
    });
    if (phase === 'revalidate') {
      this.#events.emit('stale-served', {
        key,
        dataType: entry.dataType,
        level,
        ageMs: this.#clock.now() - entry.softExpiresAt,
        reason: 'revalidate',
      });
    }
    return { read, phase, level };
  }
}

const SOFT_TIMEOUT: unique symbol = Symbol('soft-timeout');
