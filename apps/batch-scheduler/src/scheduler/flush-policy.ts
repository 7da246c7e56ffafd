/**
 * When a group of pending refresh keys goes upstream: a pure function of the
 * group's snapshot, the provider's budget, the settings and the time, so it is
 * tested on frozen clocks and runs in the simulators in virtual time.
 */

/** What is waiting in one group (provider, asset type, data type). */
export interface GroupSnapshot {
  readonly urgent: number;
  readonly normal: number;
  readonly low: number;
  /** When the oldest key of each priority was first asked for (epoch ms); undefined when none. */
  readonly oldestUrgentAt?: number | undefined;
  readonly oldestNormalAt?: number | undefined;
  readonly oldestLowAt?: number | undefined;
  /** The earliest deadline of any pending key (epoch ms). */
  readonly earliestDeadline?: number | undefined;
}

/** The provider's tightest rate window now. */
export interface BudgetSnapshot {
  /** Calls that would be granted now (0 while penalized after a 429). */
  readonly remaining: number;
  /** The tightest window's limit and length. */
  readonly limit: number;
  readonly windowMs: number;
  /** Until one more call fits (the oldest call leaves the window), ms. */
  readonly resetInMs: number;
  /** Left of an upstream 429's Retry-After, ms. */
  readonly blockedForMs: number;
  /** Calls of the window the api leaves to the scheduler (reservedCalls(limit)). */
  readonly reserved: number;
}

export interface FlushSettings {
  /** Most keys per call: min(provider max batch size, CACHE_BATCH_SIZE). */
  readonly maxBatchSize: number;
  /** How long a normal (or low, in its window) key waits for company, ms (CACHE_BATCH_INTERVAL). */
  readonly intervalMs: number;
  /** Flush this long before a key's deadline, ms. */
  readonly deadlineLeadMs: number;
  /** Whether now is in a low-load hour (CACHE_LOW_LOAD_HOURS, exchange time zone). */
  readonly lowLoadHour: boolean;
}

export type FlushReason =
  'full' | 'urgent' | 'paced' | 'interval' | 'deadline' | 'low-load' | 'idle-budget';

export type WaitReason = 'empty' | 'collecting' | 'budget' | 'blocked' | 'pacing' | 'low-window';

export type FlushDecision =
  | {
      readonly flush: true;
      readonly reason: FlushReason;
      /** Whether low-priority keys may fill the batch (their own window, or a free ride). */
      readonly includeLow: boolean;
    }
  | { readonly flush: false; readonly reason: WaitReason; readonly recheckInMs: number };

const IDLE_RECHECK_MS = 60_000;

/**
 * The rules, in order:
 * 1. Nothing pending: nothing to do. A 429's Retry-After, or a spent budget:
 *    wait for it (a flush never fails for budget; its keys wait, and
 *    later arrivals join them).
 * 2. A full batch of urgent and normal keys goes at once: one call cannot
 *    carry more.
 * 3. A key whose deadline is within `deadlineLeadMs` goes now.
 * 4. Urgent keys go at once while the budget has calls to spare. When it is
 *    short (at most `reserved + 1` left: the api is already refusing misses
 *    and sending them here), they wait up to one call's share of the window
 *    (windowMs / limit) for company, so readers waiting on a spent budget
 *    share the next call.
 * 5. Normal keys go when the oldest has waited `intervalMs` (and, while the
 *    budget is short, its share of the window).
 * 6. Low keys (the warmer's) go only in a low-load hour or while the budget
 *    is idle (nothing spent in the window), and then like normal keys. In
 *    any flush they may fill the batch's free places at no extra call.
 */
export function decideFlush(
  group: GroupSnapshot,
  budget: BudgetSnapshot,
  settings: FlushSettings,
  now: number,
): FlushDecision {
  const nonLow = group.urgent + group.normal;
  if (nonLow + group.low === 0) return wait('empty', IDLE_RECHECK_MS);
  if (budget.blockedForMs > 0) return wait('blocked', budget.blockedForMs);
  if (budget.remaining <= 0) return wait('budget', Math.max(1, budget.resetInMs));

  const lowWindow = settings.lowLoadHour || budget.remaining >= budget.limit;
  const go = (reason: FlushReason): FlushDecision => ({
    flush: true,
    reason,
    includeLow: true,
  });
  if (nonLow >= settings.maxBatchSize) return go('full');
  if (
    group.earliestDeadline !== undefined &&
    group.earliestDeadline - now <= settings.deadlineLeadMs
  ) {
    return go('deadline');
  }

  const short = budget.remaining <= budget.reserved + 1;
  const paceMs = short ? Math.ceil(budget.windowMs / Math.max(1, budget.limit)) : 0;
  const waits: number[] = [];
  if (group.urgent > 0) {
    if (!short) return go('urgent');
    const waited = now - (group.oldestUrgentAt ?? now);
    if (waited >= paceMs) return go('paced');
    waits.push(paceMs - waited);
  }
  if (group.normal > 0) {
    const due = Math.max(settings.intervalMs, paceMs);
    const waited = now - (group.oldestNormalAt ?? now);
    if (waited >= due) return go('interval');
    waits.push(due - waited);
  }
  if (group.low > 0 && nonLow === 0) {
    if (!lowWindow) return wait('low-window', IDLE_RECHECK_MS);
    if (group.low >= settings.maxBatchSize) {
      return go(settings.lowLoadHour ? 'low-load' : 'idle-budget');
    }
    const due = Math.max(settings.intervalMs, paceMs);
    const waited = now - (group.oldestLowAt ?? now);
    if (waited >= due) return go(settings.lowLoadHour ? 'low-load' : 'idle-budget');
    waits.push(due - waited);
  }
  if (group.earliestDeadline !== undefined) {
    waits.push(group.earliestDeadline - settings.deadlineLeadMs - now);
  }
  return wait(short && group.urgent > 0 ? 'pacing' : 'collecting', Math.max(1, Math.min(...waits)));
}

function wait(reason: WaitReason, recheckInMs: number): FlushDecision {
  return { flush: false, reason, recheckInMs };
}
