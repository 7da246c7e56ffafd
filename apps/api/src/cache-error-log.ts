import type { CacheEventSource, CacheErrorEvent, CacheCircuitEvent } from '@fiml/cache';
import type { Clock } from '@fiml/market';
import { isConnectionError, type Logger } from '@fiml/runtime';

export interface CacheErrorLogOptions {
  readonly logger: Logger;
  readonly clock: Clock;
  /** At most one line per (component, operation) in this interval. @defaultValue 30000 */
  readonly intervalMs?: number;
}

/**
 * Writes the cache's `error` and `circuit` events to the log. Errors are
 * rate-limited per (component, operation), a bounded set: while Redis is down
 * every read can fail the same way, and one line per read would drown the log
 * (the error counter on /metrics has every one). The first error of a kind is
 * logged at once; the next one after the interval carries how many were
 * suppressed in between. Errors of the cache Redis that only say it cannot be
 * reached go to debug: the connection logs its outage once (lost, restored)
 * and the breaker says what the cache does meanwhile. A refresh request that
 * cannot reach the queue Redis is still logged: the key is then refreshed
 * in-process, which is worth knowing. Breaker changes are rare and each is
 * logged.
 *
 * Returns a function that unsubscribes.
 */
export function logCacheErrors(cache: CacheEventSource, options: CacheErrorLogOptions): () => void {
  const log = options.logger.child({ component: 'cache' });
  const intervalMs = options.intervalMs ?? 30_000;
  /** Per kind: when its last line was written, and how many errors were not written since. */
  const kinds = new Map<string, { loggedAt: number; suppressed: number }>();

  const onError = (event: CacheErrorEvent): void => {
    // A refresh request that could not be enqueued is refreshed in-process instead: worth a line
    // (once per interval) even when the queue Redis is only unreachable.
    if (event.component !== 'revalidate' && isConnectionError(event.error)) {
      log.debug({ err: event.error, operation: event.operation }, 'cache Redis unreachable');
      return;
    }
    const kind = `${event.component}:${event.operation}`;
    const now = options.clock.now();
    const seen = kinds.get(kind);
    if (seen && now - seen.loggedAt < intervalMs) {
      seen.suppressed++;
      return;
    }
    kinds.set(kind, { loggedAt: now, suppressed: 0 });
    log.warn(
      {
        err: event.error,
        cacheComponent: event.component,
        operation: event.operation,
        ...(event.key === undefined ? {} : { key: event.key }),
        // Errors of this kind not logged since the previous line.
        suppressed: seen?.suppressed ?? 0,
      },
      'cache error',
    );
  };
  const onCircuit = (event: CacheCircuitEvent): void => {
    const line = { state: event.state, failures: event.failures };
    if (event.state === 'open') log.warn(line, 'cache Redis circuit open: L2 is skipped');
    else log.info(line, `cache Redis circuit ${event.state}`);
  };
  cache.on('error', onError);
  cache.on('circuit', onCircuit);
  return () => {
    cache.off('error', onError);
    cache.off('circuit', onCircuit);
  };
}
