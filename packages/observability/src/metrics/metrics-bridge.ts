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
