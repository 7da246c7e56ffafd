/**
 * Samples every process of a stack at an interval: resident memory and CPU time from /proc,
 * the V8 heap from each app's own /metrics (nodejs_heap_size_used_bytes), and used_memory of
 * each redis-server. Kept in memory (one small record per process per interval), saved with the
 * results.
 */
import { parsePrometheus, sumOf } from './prometheus.js';
import { getText, procCpuSeconds, procMemory, redisUsedMemory, type Stack } from './stack.js';

export interface ProcessSample {
  /** Resident set size, bytes (VmRSS). */
  readonly rss?: number;
  /** V8 heap in use, bytes (apps only). */
  readonly heapUsed?: number;
  /** Redis used_memory, bytes (redis-servers only). */
  readonly redisUsedMemory?: number;
  /** CPU seconds used since the process started. */
  readonly cpuSeconds?: number;
}

export interface StackSample {
  /** Real seconds since sampling started. */
  readonly t: number;
  /** The processes' (shifted) clock, epoch ms. */
  readonly virtual: number;
  readonly processes: Readonly<Record<string, ProcessSample>>;
}

export class StackSampler {
  readonly samples: StackSample[] = [];
  readonly #stack: Stack;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #t0 = 0;
  #running: Promise<void> | undefined;

  constructor(stack: Stack, intervalMs: number) {
    this.#stack = stack;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    this.#t0 = performance.now();
    const tick = () => {
      // One sample at a time: a slow /metrics never piles samples up.
      this.#running ??= this.sample()
        .then((s) => void this.samples.push(s))
        .catch(() => undefined)
        .finally(() => (this.#running = undefined));
    };
    tick();
    this.#timer = setInterval(tick, this.#intervalMs);
  }

  async stop(): Promise<StackSample[]> {
    clearInterval(this.#timer);
    await this.#running;
    this.samples.push(await this.sample());
    return this.samples;
  }

  async sample(): Promise<StackSample> {
    const processes: Record<string, ProcessSample> = {};
    await Promise.all([
      ...this.#stack.processes.map(async (p) => {
        let heapUsed: number | undefined;
        if (p.metricsUrl) {
          heapUsed = await getText(p.metricsUrl, 5_000)
            .then((text) => sumOf(parsePrometheus(text), 'nodejs_heap_size_used_bytes'))
            .catch(() => undefined);
        }
        processes[p.name] = {
          ...procStats(p.pid),
          ...(heapUsed === undefined ? {} : { heapUsed }),
        };
      }),
      ...this.#stack.redis.map(async (r) => {
        const used = await redisUsedMemory(r.server.url);
        processes[`redis-${r.role}`] = {
          ...procStats(r.pid),
          ...(used === undefined ? {} : { redisUsedMemory: used }),
        };
      }),
    ]);
    return {
      t: Math.round((performance.now() - this.#t0) / 100) / 10,
      virtual: Date.now() + this.#stack.clockOffsetMs,
      processes,
    };
  }
}

function procStats(pid: number): ProcessSample {
  const memory = procMemory(pid);
  const cpu = procCpuSeconds(pid);
  return {
    ...(memory ? { rss: memory.rss } : {}),
    ...(cpu === undefined ? {} : { cpuSeconds: cpu }),
  };
}
