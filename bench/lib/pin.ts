import { execFileSync } from 'node:child_process';

/**
 * Pins every thread of a process to a CPU (or a list, "0,1"); false where taskset is missing or
 * refuses. On this two-core machine, where the kernel places a server and its
 * load generator decides the result (one core or two), so benchmarks pin both.
 */
export function pin(pid: number | undefined, cpu: number | string): boolean {
  if (pid === undefined) return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
