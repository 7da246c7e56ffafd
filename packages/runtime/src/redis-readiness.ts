import type { Cluster, Redis } from 'ioredis';
import type { CheckResult, ReadinessCheck } from './readiness.js';

/**
 * A readiness check for one Redis connection: answers at once when the
 * connection is not up (no waiting on a dead server), otherwise PINGs it
 * within `timeoutMs`.
 */
export function redisReadiness(client: Redis | Cluster, timeoutMs = 1_000): ReadinessCheck {
  return async (): Promise<CheckResult> => {
    if (client.status !== 'ready') return { ok: false, error: `connection ${client.status}` };
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`PING timed out after ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      await Promise.race([client.ping(), timeout]);
      return { ok: true, latencyMs: Math.round((performance.now() - started) * 100) / 100 };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  };
}
