/**
 * Every BullMQ queue of the system. Producers and consumers import the names
 * from here, so a rename is a compile error, not a silently idle worker.
 */
export const QueueName = {
  /** Refresh requests: other services and the api produce, the batch-scheduler consumes. */
  REFRESH: 'refresh',
  /** Warming cycles: the warmer's Job Scheduler produces, the warmer consumes. */
  WARM: 'warm',
  /**
   * One batch of claimed keys: the batch-scheduler's flusher produces, its
   * batch workers consume. One queue per provider (`refresh-batch-<provider id>`).
   */
  REFRESH_BATCH: 'refresh-batch',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];
/** Queues that exist under their own name (per-provider batch queues are named `refresh-batch-<id>`). */
export const QUEUE_NAMES: readonly QueueName[] = [QueueName.REFRESH, QueueName.WARM];

/**
 * The BullMQ key prefix for a deployment: the prefix in a hash tag, so every
 * key of every queue lands in one Redis Cluster slot (BullMQ's Lua scripts
 * touch several keys at once). `fiml` -> `{fiml}`.
 */
export function queuePrefix(prefix: string): string {
  if (!/^[A-Za-z0-9._-]{1,32}$/.test(prefix)) {
    throw new RangeError(
      `queue prefix must be 1-32 letters, digits, ".", "_" or "-", got ${JSON.stringify(prefix)}`,
    );
  }
  return `{${prefix}}`;
}
