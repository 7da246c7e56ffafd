/** What a register*Metrics function returns: the subscriptions it made, to undo them. */
export interface MetricsBridge {
  /**
   * Removes every listener the bridge added. The metric families stay in the
   * registry with their last values (a family that vanished between scrapes
   * would look like a reset to Prometheus).
   */
  detach(): void;
}

/** Seconds from milliseconds: Prometheus base units. */
export function seconds(ms: number): number {
  return ms / 1000;
}

/** Where a bridge logs: pino's Logger fits. */
interface BridgeLog {
  warn(object: object, message: string): void;
  debug(object: object, message: string): void;
}

/**
 * Wraps a bridge's listeners so that none ever throws into its source (a
 * cache read, an upstream call, a BullMQ worker): a listener that fails
 * (prom-client rejects a value, say) drops that event from the metrics. The
 * first failure per event is logged as a warning, later ones at debug, so a
 * broken listener on a hot path cannot flood the log.
 */
export function listenerGuard(
  log: BridgeLog | undefined,
): <A extends unknown[]>(event: string, listener: (...args: A) => void) => (...args: A) => void {
  const warned = new Set<string>();
  return (event, listener) =>
    (...args) => {
      try {
        listener(...args);
      } catch (error) {
        if (warned.has(event)) {
          log?.debug({ err: error, event }, 'metrics listener failed again; event not counted');
        } else {
          warned.add(event);
          log?.warn(
            { err: error, event },
            'metrics listener failed; event not counted (further failures at debug)',
          );
        }
      }
    };
}
