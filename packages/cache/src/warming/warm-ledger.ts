import type { Cluster, Redis } from 'ioredis';
import { systemClock, type Clock } from '@fiml/market';
import { KEY_SCHEME_VERSION, cacheKeySpace } from '../cache-keys.js';
import { callScript, defineScript } from '../lua/lua-script.js';
import { WARM_READ, WARM_SWEEP, WARM_WRITTEN } from './warm-scripts.js';

/** What became of the entries warmed for one run (or for all runs, `all`). */
export interface WarmOutcomes {
  /** Entries written for the run's warming requests. */
  readonly warmed: number;
  /** Read while fresh: the warming paid off. */
  readonly used: number;
  /** Fresh no longer (or replaced) and never read: the call was spent for nothing. */
  readonly wasted: number;
  /** Upstream calls spent on them (a batch's calls shared over its keys). */
  readonly calls: number;
  /** used / (used + wasted); undefined while nothing is settled. */
  readonly precision: number | undefined;
}

/** One choice of a run, as the api shows it. */
export interface WarmChoiceRecord {
  readonly key: string;
  readonly score: number;
  readonly reason: string;
  readonly detail: string;
}

/** A warming run as the warmer recorded it. */
export interface WarmRunRecord {
  readonly id: string;
  /** 'scheduled', 'pre-open' or 'refresh-ahead'. */
  readonly mode: string;
  /** Epoch ms. */
  readonly startedAt: number;
  readonly finishedAt: number;
  /** Keys the access history held, and keys the planner considered. */
  readonly tracked: number;
  /** Keys requested from the batch-scheduler. */
  readonly requested: number;
  /** Why the others were not chosen, by reason. */
  readonly skipped: Readonly<Record<string, number>>;
  /** The best choices, with their reasons (at most `topChoices`). */
  readonly top: readonly WarmChoiceRecord[];
}

export interface WarmLedgerOptions {
  /** The cache Redis. */
  readonly redis: Redis | Cluster;
  /** @defaultValue 'fiml' */
  readonly keyPrefix?: string;
  /** @defaultValue systemClock */
  readonly clock?: Clock;
  /** Runs kept for the api to show. @defaultValue 50 */
  readonly maxRuns?: number;
  /** A planned key never written is forgotten after this long, ms. @defaultValue 1 day */
  readonly plannedTtlMs?: number;
}

/** Candidates handed to the sweep script per call. */
const SWEEP_CHUNK = 500;

/**
 * The warmer's books: which entries were written for warming, and whether
 * each was read before its freshness ended. The warmer plans keys (run id per
 * key), the batch-scheduler records the entries it wrote for them, the api
 * records reads of entries written by the warmer, and the warmer's sweep
 * settles the ones that went stale unread. Precision is used / (used + wasted)
 * over settled entries, per run and overall: exact, not sampled.
 *
 * In the cache Redis, under one hash tag (one Cluster slot):
 *
 *   <prefix>:v2:warm:{<prefix>:warm}:ledger    HASH key -> "fetchedAt|softExpiresAt|runId"
 *   <prefix>:v2:warm:{<prefix>:warm}:planned   HASH key -> "runId|plannedAt"
 *   <prefix>:v2:warm:{<prefix>:warm}:counts    HASH "<runId>:warmed|used|wasted|calls" -> n
 *   <prefix>:v2:warm:{<prefix>:warm}:runs      LIST of run records (JSON), newest first
 *
 * Everything is bounded: the ledger and the planned hash by the number of
 * distinct keys warmed, the runs and their counters by `maxRuns`.
 */
export class WarmLedger {
  readonly #redis: Redis | Cluster;
  readonly #clock: Clock;
  readonly #maxRuns: number;
  readonly #plannedTtlMs: number;
  readonly #keys: { ledger: string; counts: string; planned: string; runs: string };

  constructor(options: WarmLedgerOptions) {
    const prefix = options.keyPrefix ?? 'fiml';
    cacheKeySpace(prefix); // validates the prefix
    const base = `${prefix}:${KEY_SCHEME_VERSION}:warm:{${prefix}:warm}:`;
    this.#keys = {
      ledger: `${base}ledger`,
      counts: `${base}counts`,
      planned: `${base}planned`,
      runs: `${base}runs`,
    };
    this.#redis = options.redis;
    this.#clock = options.clock ?? systemClock;
    this.#maxRuns = options.maxRuns ?? 50;
    this.#plannedTtlMs = options.plannedTtlMs ?? 86_400_000;
    for (const script of [WARM_WRITTEN, WARM_READ, WARM_SWEEP]) defineScript(this.#redis, script);
  }

  /** The warmer: these keys are requested for run `runId` (their entries will count toward it). */
  async plan(runId: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    assertRunId(runId);
    const stamp = `${runId}|${Math.floor(this.#clock.now())}`;
    const args: string[] = [];
    for (const key of keys) args.push(key, stamp);
    await this.#redis.hset(this.#keys.planned, ...args);
  }

  /** The batch-scheduler: entries it wrote for warming requests, with each one's share of upstream calls. */
  async written(
    entries: readonly {
      readonly key: string;
      readonly fetchedAt: number;
      readonly softExpiresAt: number;
      readonly callShare: number;
    }[],
  ): Promise<void> {
    if (entries.length === 0) return;
    const args: string[] = [];
    for (const e of entries) {
      args.push(
        e.key,
        String(Math.floor(e.fetchedAt)),
        String(Math.floor(e.softExpiresAt)),
        String(e.callShare),
      );
    }
    await callScript(
      this.#redis,
      WARM_WRITTEN,
      [this.#keys.ledger, this.#keys.counts, this.#keys.planned],
      args,
    );
  }

  /** The api: reads of entries the warmer wrote (`fetchedAt` names the entry). Resolves how many became used. */
  async read(
    reads: readonly { readonly key: string; readonly fetchedAt: number; readonly at: number }[],
  ): Promise<number> {
    if (reads.length === 0) return 0;
    const args: string[] = [];
    for (const r of reads) {
      args.push(r.key, String(Math.floor(r.fetchedAt)), String(Math.floor(r.at)));
    }
    return Number(
      await callScript(this.#redis, WARM_READ, [this.#keys.ledger, this.#keys.counts], args),
    );
  }

  /** The warmer: settles entries whose freshness ended unread as wasted; resolves how many. */
  async sweep(): Promise<number> {
    const now = this.#clock.now();
    let wasted = 0;
    for (const [kind, key] of [
      ['l', this.#keys.ledger],
      ['p', this.#keys.planned],
    ] as const) {
      let cursor = '0';
      do {
        const [next, flat] = await this.#redis.hscan(key, cursor, 'COUNT', SWEEP_CHUNK);
        cursor = next;
        const args: string[] = [
          String(Math.floor(now)),
          String(Math.floor(now - this.#plannedTtlMs)),
        ];
        for (let i = 0; i < flat.length; i += 2) {
          const value = flat[i + 1]!;
          if (kind === 'l' ? softOf(value) <= now : plannedAt(value) < now - this.#plannedTtlMs) {
            args.push(kind, flat[i]!);
          }
        }
        if (args.length > 2) {
          wasted += Number(
            await callScript(
              this.#redis,
              WARM_SWEEP,
              [this.#keys.ledger, this.#keys.counts, this.#keys.planned],
              args,
            ),
          );
        }
      } while (cursor !== '0');
    }
    return wasted;
  }

  /** The warmer: records a finished run (the oldest beyond `maxRuns` go, with their counters). */
  async recordRun(run: WarmRunRecord): Promise<void> {
    assertRunId(run.id);
    const dropped = await this.#redis.lrange(this.#keys.runs, this.#maxRuns - 1, -1);
    const pipeline = this.#redis.multi();
    pipeline.lpush(this.#keys.runs, JSON.stringify(run));
    pipeline.ltrim(this.#keys.runs, 0, this.#maxRuns - 1);
    const gone = dropped.flatMap((json) => {
      const id = parseRun(json)?.id;
      return id ? OUTCOMES.map((o) => `${id}:${o}`) : [];
    });
    if (gone.length > 0) pipeline.hdel(this.#keys.counts, ...gone);
    await pipeline.exec();
  }

  /** The last runs, newest first, each with what became of its entries so far. */
  async runs(limit = 10): Promise<(WarmRunRecord & { readonly outcomes: WarmOutcomes })[]> {
    const records = (await this.#redis.lrange(this.#keys.runs, 0, Math.max(0, limit - 1)))
      .map(parseRun)
      .filter((r): r is WarmRunRecord => r !== undefined);
    if (records.length === 0) return [];
    const fields = records.flatMap((r) => OUTCOMES.map((o) => `${r.id}:${o}`));
    const values = await this.#redis.hmget(this.#keys.counts, ...fields);
    return records.map((record, i) => ({
      ...record,
      outcomes: outcomesOf(values.slice(i * OUTCOMES.length, (i + 1) * OUTCOMES.length)),
    }));
  }

  /** Totals over every run. */
  async totals(): Promise<WarmOutcomes> {
    return outcomesOf(
      await this.#redis.hmget(this.#keys.counts, ...OUTCOMES.map((o) => `all:${o}`)),
    );
  }

  /** Warmed entries not yet settled (read, or gone stale). */
  pending(): Promise<number> {
    return this.#redis.hlen(this.#keys.ledger);
  }
}

const OUTCOMES = ['warmed', 'used', 'wasted', 'calls'] as const;

function outcomesOf(values: readonly (string | null)[]): WarmOutcomes {
  const [warmed, used, wasted, calls] = values.map((v) => Number(v ?? 0));
  const settled = used! + wasted!;
  return {
    warmed: warmed!,
    used: used!,
    wasted: wasted!,
    calls: calls!,
    precision: settled > 0 ? used! / settled : undefined,
  };
}

function softOf(ledgerValue: string): number {
  const soft = Number(ledgerValue.split('|')[1]);
  // A field we cannot read settles at once (as wasted) rather than staying forever.
  return Number.isFinite(soft) ? soft : Number.NEGATIVE_INFINITY;
}

function plannedAt(value: string): number {
  const at = Number(value.slice(value.lastIndexOf('|') + 1));
  return Number.isFinite(at) ? at : Number.NEGATIVE_INFINITY;
}

function parseRun(json: string): WarmRunRecord | undefined {
  try {
    const run = JSON.parse(json) as Partial<WarmRunRecord>;
    return typeof run.id === 'string' && typeof run.startedAt === 'number'
      ? (run as WarmRunRecord)
      : undefined;
  } catch {
    return undefined;
  }
}

function assertRunId(id: string): void {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(id) || id === 'all') {
    throw new RangeError(
      `a warm run id is 1-64 of [A-Za-z0-9._-] and not "all", got ${JSON.stringify(id)}`,
    );
  }
}
