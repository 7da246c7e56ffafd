import type { Clock } from '@fiml/market';

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  readonly clock: Clock;
  /** Consecutive failures that open the circuit. @defaultValue 3 */
  readonly failureThreshold?: number;
  /** First pause before a trial call; doubles after each failed trial. @defaultValue 1000 */
  readonly cooldownMs?: number;
  /** Longest pause between trials. @defaultValue 30000 */
  readonly maxCooldownMs?: number;
  /** Called on every state change. */
  readonly onChange?: (state: CircuitState, failures: number) => void;
}

/**
 * Keeps a dead dependency from adding latency to every read: after a few
 * consecutive failures the circuit opens and callers skip the dependency
 * (`allow()` is false) until a cooldown passes; then one trial call goes
 * through (half-open) and its outcome closes the circuit or reopens it for a
 * longer cooldown. Time comes from the injected clock, so tests step through
 * cooldowns without waiting; that is also why this is not opossum, which
 * schedules its own timers on the wall clock.
 */
export class CircuitBreaker {
  readonly #clock: Clock;
  readonly #threshold: number;
  readonly #baseCooldownMs: number;
  readonly #maxCooldownMs: number;
  readonly #onChange: ((state: CircuitState, failures: number) => void) | undefined;
  #state: CircuitState = 'closed';
  #failures = 0;
  #cooldownMs: number;
  #openedAt = 0;
  #trialInFlight = false;

  constructor(options: CircuitBreakerOptions) {
    this.#clock = options.clock;
    this.#threshold = options.failureThreshold ?? 3;
    this.#baseCooldownMs = options.cooldownMs ?? 1_000;
    this.#maxCooldownMs = options.maxCooldownMs ?? 30_000;
    this.#cooldownMs = this.#baseCooldownMs;
    this.#onChange = options.onChange;
  }

  get state(): CircuitState {
    return this.#state;
  }

  /** How long until the next call may go through: 0 while closed, the rest of the cooldown while open. */
  retryAfterMs(): number {
    if (this.#state !== 'open') return 0;
    return Math.max(0, this.#cooldownMs - (this.#clock.now() - this.#openedAt));
  }

  /** Whether a call may go to the dependency now. In half-open state only one trial at a time. */
  allow(): boolean {
    if (this.#state === 'closed') return true;
    if (this.#state === 'open') {
      if (this.#clock.now() - this.#openedAt < this.#cooldownMs) return false;
      this.#set('half-open');
    }
    if (this.#trialInFlight) return false;
    this.#trialInFlight = true;
    return true;
  }

  success(): void {
    this.#trialInFlight = false;
    this.#failures = 0;
    this.#cooldownMs = this.#baseCooldownMs;
    if (this.#state !== 'closed') this.#set('closed');
  }

  failure(): void {
    this.#trialInFlight = false;
    this.#failures += 1;
    if (this.#state === 'half-open') {
      this.#cooldownMs = Math.min(this.#cooldownMs * 2, this.#maxCooldownMs);
      this.#open();
    } else if (this.#state === 'closed' && this.#failures >= this.#threshold) {
      this.#open();
    }
  }

  #open(): void {
    this.#openedAt = this.#clock.now();
    this.#set('open');
  }

  #set(state: CircuitState): void {
    this.#state = state;
    this.#onChange?.(state, this.#failures);
  }
}
