/**
 * Every BullMQ queue of the system. Producers and consumers import the names
 * from here, so a rename is a compile error, not a silently idle worker.
 */
export const QueueName = {
  /** Refresh requests: other services and the api produce, the batch-scheduler consumes. */
  REFRESH: 'refresh',
  /** Warming cycles: the warmer's Job Scheduler produces, the warmer consumes. */
  WARM: 'warm',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];
export const QUEUE_NAMES: readonly QueueName[] = Object.values(QueueName);

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
