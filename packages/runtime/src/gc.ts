import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';

/**
 * Keeps V8's young-generation collections on the main thread when the
 * process may use one CPU only (a cpuset, `taskset`, a pinned container).
 *
 * V8's parallel scavenger splits each scavenge among the main thread and its
 * helper threads and waits for them all; on one CPU a helper runs only when
 * the main thread is descheduled, so a scavenge of about 1 ms stretched to
 * 15-20 ms in the api pinned to one core, and GC took a third of its CPU
 * (bench/README.md, "API throughput"). A single-threaded scavenge costs the
 * same work without the waits. With two CPUs or more nothing changes.
 *
 * `--parallel-scavenge` is read at every scavenge, so setting it at start-up
 * takes effect; `NODE_OPTIONS` cannot carry it. Returns whether it was set.
 */
export function fitGcToCpus(cpus: number = availableParallelism()): boolean {
  if (cpus > 1) return false;
  setFlagsFromString('--no-parallel-scavenge');
  return true;
}
