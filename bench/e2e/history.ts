/**
 * The access history a running deployment has when the replayed slice starts: the reads its api
 * recorded over the previous week and earlier the same day, written into the cache Redis through
 * the api's own recorder (@fiml/cache AccessRecorder, same key prefix and settings), each read at
 * its own virtual instant. Without it the warmer plans from a few minutes of reads, finds every
 * key `unlikely`, and warms nothing (what the first end-to-end runs showed).
 *
 * As in the week simulator (bench/week/run.ts): the previous week comes from the same generator a
 * week earlier with another seed (seed + 1,000,000), so its popularity and earnings differ, and
 * its assets are mapped onto this week's universe by index.
 */
import { Redis } from 'ioredis';
import { AccessRecorder } from '@fiml/cache';
import {
  MarketWeek,
  workloadKey,
  type WorkloadAsset,
  type WorkloadRequest,
} from '../workload/market-week.js';

export interface HistoryPlan {
  /** The week whose slice is replayed. */
  readonly week: MarketWeek;
  readonly seed: number;
  /** The replay's first instant: this week's reads before it are history. */
  readonly until: number;
}

export interface HistorySeeded {
  readonly reads: number;
  readonly keys: number;
  readonly previousWeek: { readonly from: string; readonly seed: number };
  readonly sameDayUntil: string;
  readonly ms: number;
}

function previousWeek(date: string): string {
  const t = Date.parse(`${date}T12:00:00Z`) - 7 * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

/** Writes the history into the cache Redis at `redisUrl` (CACHE_KEY_PREFIX `fiml`). */
export async function seedAccessHistory(
  redisUrl: string,
  plan: HistoryPlan,
): Promise<HistorySeeded> {
  const t0 = performance.now();
  const assets = plan.week.assets;
  const startDate = previousWeek(plan.week.parameters.startDate);
  const historySeed = plan.seed + 1_000_000;
  const before = new MarketWeek({ seed: historySeed, startDate });
  const today = new MarketWeek({
    seed: plan.seed,
    window: { from: plan.week.weekStart, to: plan.until },
  });
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  const recorder = new AccessRecorder({
    redis,
    keyPrefix: 'fiml',
    // The merge decays and sweeps relative to its clock: the replay's start, not this machine's date.
    clock: { now: () => plan.until },
    // One flush at the end: every key's reads are folded into one pending record first.
    flushIntervalMs: 3_600_000,
    maxPendingKeys: 1_000_000,
    keysPerCall: 256,
  });
  let failure: Error | undefined;
  recorder.on('error', (error) => (failure ??= error));
  let reads = 0;
  const keys = new Set<string>();
  const record = (
    requests: Iterable<WorkloadRequest>,
    map: (a: WorkloadAsset) => WorkloadAsset,
  ) => {
    for (const request of requests) {
      for (const asset of request.assets) {
        const key = workloadKey(request.dataType, map(asset));
        recorder.record(key, request.at);
        keys.add(key);
        reads += 1;
      }
    }
  };
  try {
    record(before, (a) => assets[a.id] ?? a);
    record(today, (a) => a);
    await recorder.flush();
    await recorder.close();
    if (failure) throw failure;
    if (recorder.dropped > 0)
      throw new Error(`the history recorder dropped ${recorder.dropped} reads`);
  } finally {
    redis.disconnect();
  }
  return {
    reads,
    keys: keys.size,
    previousWeek: { from: startDate, seed: historySeed },
    sameDayUntil: new Date(plan.until).toISOString(),
    ms: performance.now() - t0,
  };
}
