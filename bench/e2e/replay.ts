/**
 * The load generator of the end-to-end benchmark: replays market-week requests against the api
 * over HTTP, each at its own instant (open loop), and measures from outside what a client sees.
 *
 * Why not autocannon (which the stress run uses): autocannon is a closed loop, each connection
 * sending its next request when the previous answer arrived, so a slow answer delays the requests
 * behind it and the arrival process is no longer the workload's (and the latency of the requests
 * that should have been sent meanwhile is never measured: coordinated omission). Here every
 * request is sent when its `at` comes, whatever is still in flight, through an undici Pool, and
 * latency runs from that intended instant, so a backlog anywhere (the api, the pool, this
 * process) shows in the figures instead of slowing the workload down.
 */
import * as hdr from 'hdr-histogram-js';
import { Pool } from 'undici';
import type { DataType } from '@fiml/market';
import type { WorkloadRequest } from '../workload/market-week.js';

/** What one asset read came to, from the api's answer. */
export type ReadOutcome = 'l1' | 'l2' | 'stale' | 'miss' | 'not-found' | 'failed';
export const READ_OUTCOMES: readonly ReadOutcome[] = [
  'l1',
  'l2',
  'stale',
  'miss',
  'not-found',
  'failed',
];

export interface ReplayOptions {
  readonly apiUrl: string;
  /** In time order. */
  readonly requests: readonly WorkloadRequest[];
  /** Virtual instant the replay starts at (the warm-up's start, or the slice's). */
  readonly from: number;
  /** The processes' clock: real time + this = virtual time. */
  readonly clockOffsetMs: number;
  /** Pool connections to the api. @defaultValue 256 */
  readonly connections?: number;
  /** A request without its answer after this long counts as failed. @defaultValue 30000 */
  readonly timeoutMs?: number;
  /** Width of the timeline's buckets, virtual ms. @defaultValue 60000 */
  readonly bucketMs?: number;
  /**
   * Requests before this virtual instant are a warm-up: sent like the others (they fill the caches
   * and the access history) but counted only in `warmup`, never in the figures.
   * @defaultValue `from` (no warm-up)
   */
  readonly measureFrom?: number;
  /** Called once, when the first measured request is due (to snapshot counters then). */
  readonly onMeasureStart?: () => void;
  /** Called about once a second with the requests sent and answered so far. */
  readonly onProgress?: (sent: number, answered: number) => void;
}

/** A latency distribution in ms, from an HDR histogram of µs. */
export interface LatencySummary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

export interface ReadCounts {
  reads: number;
  outcomes: Record<ReadOutcome, number>;
}

export interface TimelineBucket {
  /** Virtual start of the bucket. */
  readonly from: number;
  requests: number;
  failedRequests: number;
  reads: ReadCounts;
  latency?: LatencySummary;
}

export interface ReplayResult {
  readonly requests: number;
  readonly answered: number;
  /** Requests that got no 2xx answer (an HTTP error status or no answer at all). */
  readonly failedRequests: number;
  readonly statusCodes: Record<string, number>;
  /** Error codes of non-2xx answers (the api's `error.code`) and transport errors (undici's code). */
  readonly errorCodes: Record<string, number>;
  readonly reads: ReadCounts;
  readonly readsByDataType: Record<string, ReadCounts>;
  /** Per request, from its intended instant to the end of its body. */
  readonly latency: LatencySummary;
  readonly latencyByDataType: Record<string, LatencySummary>;
  /** The same, of the requests answered 2xx only (a refusal is fast; this is what served reads cost). */
  readonly latencyOk: LatencySummary;
  readonly latencySingle: LatencySummary;
  readonly latencyBatch: LatencySummary;
  /**
   * Per request, by the slowest kind of read it held (a batch with one miss is a `miss` request):
   * which reads the latency comes from. Order, fastest kind first: l1, l2, not-found, stale, miss,
   * failed (any read without data, a refusal included).
   */
  readonly latencyByOutcome: Partial<Record<ReadOutcome, LatencySummary>>;
  /** How late requests left this process (a backlog here would show): ms. */
  readonly sendLag: { readonly p99: number; readonly max: number };
  /** Real ms from the first intended send to the last answer. */
  readonly wallMs: number;
  /** Answered requests (and asset reads) per real second over wallMs. */
  readonly throughput: { readonly requestsPerSecond: number; readonly readsPerSecond: number };
  /** When the replay had to start later than the slice's start (ms); the processes saw it shifted. */
  readonly startedLateMs: number;
  readonly timeline: readonly TimelineBucket[];
  /** The warm-up's requests and reads (not in any figure above). */
  readonly warmup: {
    readonly requests: number;
    readonly failedRequests: number;
    readonly reads: ReadCounts;
  };
}

const newHistogram = (): hdr.Histogram =>
  hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  });

export function summarize(h: hdr.Histogram): LatencySummary {
  const ms = (us: number): number => Math.round(us) / 1000;
  return {
    count: h.totalCount,
    mean: ms(h.mean),
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p95: ms(h.getValueAtPercentile(95)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
  };
}

const emptyReads = (): ReadCounts => ({
  reads: 0,
  outcomes: { l1: 0, l2: 0, stale: 0, miss: 0, 'not-found': 0, failed: 0 },
});

/** The api path of a request: one symbol, or a batch of one asset type. */
export function requestPath(request: WorkloadRequest): string {
  const query = request.assetType === 'crypto' ? '?assetType=crypto' : '';
  if (!request.batch) {
    return `/v1/data/${request.dataType}/${encodeURIComponent(request.assets[0]!.symbol)}${query}`;
  }
  const symbols = request.assets.map((a) => encodeURIComponent(a.symbol)).join(',');
  return `/v1/data/${request.dataType}?symbols=${symbols}&assetType=${request.assetType}`;
}

interface SingleBody {
  cache?: string;
}
interface BatchBody {
  results?: { status?: string; cache?: string }[];
}
interface ErrorBody {
  error?: { code?: string };
}

/** Kinds of read from the one expected fastest to the slowest (the class of a mixed batch). */
const SEVERITY: Record<ReadOutcome, number> = {
  l1: 0,
  l2: 1,
  'not-found': 2,
  stale: 3,
  miss: 4,
  failed: 5,
};
const slowest = (outcomes: readonly ReadOutcome[]): ReadOutcome =>
  outcomes.reduce<ReadOutcome>((a, b) => (SEVERITY[b] > SEVERITY[a] ? b : a), 'l1');

function outcomeOf(label: string | undefined): ReadOutcome {
  return label === 'l1' || label === 'l2' || label === 'stale' || label === 'miss'
    ? label
    : 'failed';
}

/** Replays `requests` at their instants and resolves when every one is answered or timed out. */
export async function replay(options: ReplayOptions): Promise<ReplayResult> {
  const bucketMs = options.bucketMs ?? 60_000;
  const measureFrom = options.measureFrom ?? options.from;
  const warmup = { requests: 0, failedRequests: 0, reads: emptyReads() };
  let measuring = false;
  let warmupAnswered = 0;
  let firstMeasuredDue: number | undefined;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const pool = new Pool(options.apiUrl, {
    connections: options.connections ?? 256,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 60_000,
  });

  const all = newHistogram();
  const okLatency = newHistogram();
  const single = newHistogram();
  const batch = newHistogram();
  const lag = newHistogram();
  const byType = new Map<DataType, hdr.Histogram>();
  const byOutcome = new Map<ReadOutcome, hdr.Histogram>();
  const recordOutcome = (outcome: ReadOutcome, us: number): void => {
    let h = byOutcome.get(outcome);
    if (!h) byOutcome.set(outcome, (h = newHistogram()));
    h.recordValue(us);
  };
  const readsByType = new Map<DataType, ReadCounts>();
  const reads = emptyReads();
  const statusCodes: Record<string, number> = {};
  const errorCodes: Record<string, number> = {};
  const buckets = new Map<number, TimelineBucket & { histogram: hdr.Histogram }>();
  let answered = 0;
  let failedRequests = 0;
  let lastAnswerAt = 0;

  const count = (type: DataType, bucket: ReadCounts, outcome: ReadOutcome, n = 1): void => {
    let mine = readsByType.get(type);
    if (!mine) readsByType.set(type, (mine = emptyReads()));
    for (const counts of [reads, mine, bucket]) {
      counts.reads += n;
      counts.outcomes[outcome] += n;
    }
  };
  const bucketOf = (at: number) => {
    const start = measureFrom + Math.floor((at - measureFrom) / bucketMs) * bucketMs;
    let bucket = buckets.get(start);
    if (!bucket) {
      bucket = {
        from: start,
        requests: 0,
        failedRequests: 0,
        reads: emptyReads(),
        histogram: newHistogram(),
      };
      buckets.set(start, bucket);
    }
    return bucket;
  };

  async function send(request: WorkloadRequest, due: number): Promise<void> {
    if (request.at < measureFrom) return sendWarmup(request);
    const bucket = bucketOf(request.at);
    bucket.requests += 1;
    lag.recordValue(Math.max(0, Math.round((performance.now() - due) * 1000)));
    let status = 0;
    let text = '';
    try {
      const response = await pool.request({ method: 'GET', path: requestPath(request) });
      status = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      const code = (error as { code?: string }).code ?? (error as Error).name;
      errorCodes[code] = (errorCodes[code] ?? 0) + 1;
    }
    const now = performance.now();
    lastAnswerAt = Math.max(lastAnswerAt, now);
    answered += 1;
    const us = Math.max(1, Math.round((now - due) * 1000));
    for (const h of [all, request.batch ? batch : single, bucket.histogram]) h.recordValue(us);
    let typed = byType.get(request.dataType);
    if (!typed) byType.set(request.dataType, (typed = newHistogram()));
    typed.recordValue(us);
    statusCodes[String(status)] = (statusCodes[String(status)] ?? 0) + 1;
    if (status >= 200 && status < 300) okLatency.recordValue(us);

    const n = request.assets.length;
    if (status < 200 || status >= 300) {
      failedRequests += 1;
      bucket.failedRequests += 1;
      if (status !== 0) {
        let code = `HTTP ${status}`;
        try {
          code = (JSON.parse(text) as ErrorBody).error?.code ?? code;
        } catch {
          // not JSON: the status stands for it
        }
        errorCodes[code] = (errorCodes[code] ?? 0) + 1;
      }
      const outcome = status === 404 ? 'not-found' : 'failed';
      count(request.dataType, bucket.reads, outcome, n);
      recordOutcome(outcome, us);
      return;
    }
    try {
      if (!request.batch) {
        const outcome = outcomeOf((JSON.parse(text) as SingleBody).cache);
        count(request.dataType, bucket.reads, outcome);
        recordOutcome(outcome, us);
        return;
      }
      const results = (JSON.parse(text) as BatchBody).results ?? [];
      const seen: ReadOutcome[] = results.length < n ? ['failed'] : [];
      for (const r of results) {
        const outcome =
          r.status === 'ok'
            ? outcomeOf(r.cache)
            : r.status === 'not-found'
              ? 'not-found'
              : 'failed';
        count(request.dataType, bucket.reads, outcome);
        seen.push(outcome);
        if (r.status !== 'ok' && r.status !== 'not-found') {
          const code = `batch item ${r.status ?? 'unknown'}`;
          errorCodes[code] = (errorCodes[code] ?? 0) + 1;
        }
      }
      // Symbols the answer left out (it never should) count as failed reads.
      if (results.length < n) count(request.dataType, bucket.reads, 'failed', n - results.length);
      recordOutcome(slowest(seen), us);
    } catch {
      errorCodes['unparsable body'] = (errorCodes['unparsable body'] ?? 0) + 1;
      count(request.dataType, bucket.reads, 'failed', n);
      recordOutcome('failed', us);
    }
  }

  /** A warm-up request: its reads count in `warmup` only. */
  async function sendWarmup(request: WorkloadRequest): Promise<void> {
    warmup.requests += 1;
    let outcomes: ReadOutcome[] = [];
    try {
      const response = await pool.request({ method: 'GET', path: requestPath(request) });
      const text = await response.body.text();
      if (response.statusCode >= 200 && response.statusCode < 300) {
        outcomes = request.batch
          ? ((JSON.parse(text) as BatchBody).results ?? []).map((r) =>
              r.status === 'ok' ? outcomeOf(r.cache) : 'failed',
            )
          : [outcomeOf((JSON.parse(text) as SingleBody).cache)];
      } else warmup.failedRequests += 1;
    } catch {
      warmup.failedRequests += 1;
    }
    warmupAnswered += 1;
    for (let i = 0; i < request.assets.length; i++) {
      warmup.reads.reads += 1;
      warmup.reads.outcomes[outcomes[i] ?? 'failed'] += 1;
    }
  }

  // Virtual instant -> performance.now() instant, through one reading of both clocks.
  const basePerf = performance.now();
  const baseVirtual = Date.now() + options.clockOffsetMs;
  const startedLateMs = Math.max(0, baseVirtual - options.from);
  const dueOf = (at: number): number => basePerf + (at - baseVirtual) + startedLateMs;

  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  const progress = setInterval(() => options.onProgress?.(sent, answered + warmupAnswered), 1_000);
  try {
    for (const request of options.requests) {
      const due = dueOf(request.at);
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      if (!measuring && request.at >= measureFrom) {
        measuring = true;
        firstMeasuredDue = due;
        options.onMeasureStart?.();
      }
      const p = send(request, due).finally(() => inFlight.delete(p));
      inFlight.add(p);
      sent += 1;
    }
    await Promise.all(inFlight);
  } finally {
    clearInterval(progress);
    options.onProgress?.(sent, answered + warmupAnswered);
    await pool.close();
  }

  const wallMs = Math.max(1, lastAnswerAt - (firstMeasuredDue ?? lastAnswerAt));
  const latencyByDataType: Record<string, LatencySummary> = {};
  for (const [type, h] of byType) latencyByDataType[type] = summarize(h);
  const latencyByOutcome: Partial<Record<ReadOutcome, LatencySummary>> = {};
  for (const outcome of READ_OUTCOMES) {
    const h = byOutcome.get(outcome);
    if (h) latencyByOutcome[outcome] = summarize(h);
  }
  const readsByDataType: Record<string, ReadCounts> = {};
  for (const [type, r] of readsByType) readsByDataType[type] = r;
  const lagSummary = summarize(lag);
  return {
    requests: sent - warmup.requests,
    answered,
    failedRequests,
    statusCodes,
    errorCodes,
    reads,
    readsByDataType,
    latency: summarize(all),
    latencyByDataType,
    latencyOk: summarize(okLatency),
    latencySingle: summarize(single),
    latencyBatch: summarize(batch),
    latencyByOutcome,
    sendLag: { p99: lagSummary.p99, max: lagSummary.max },
    wallMs,
    throughput: {
      requestsPerSecond: (answered / wallMs) * 1000,
      readsPerSecond: (reads.reads / wallMs) * 1000,
    },
    startedLateMs,
    timeline: [...buckets.values()]
      .sort((a, b) => a.from - b.from)
      .map(({ histogram, ...bucket }) => ({ ...bucket, latency: summarize(histogram) })),
    warmup,
  };
}

/** Hits (fresh, from L1 or L2) over asset reads. */
export const hitRate = (r: ReadCounts): number =>
  (r.outcomes.l1 + r.outcomes.l2) / Math.max(1, r.reads);
