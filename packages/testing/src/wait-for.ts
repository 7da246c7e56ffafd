/** Thrown when a condition or event did not happen before its deadline. */
export class WaitTimeoutError extends Error {
  readonly code = 'FIML_WAIT_TIMEOUT';
  constructor(description: string, timeoutMs: number, options?: { cause?: unknown }) {
    super(`Timed out after ${timeoutMs} ms waiting for ${description}`, options);
    this.name = 'WaitTimeoutError';
  }
}

export interface WaitOptions {
  /** @defaultValue 5000 */
  readonly timeoutMs?: number;
  /** What is awaited, for the timeout message ("the job to complete"). */
  readonly description?: string;
}

export interface WaitForOptions extends WaitOptions {
  /** Pause between checks. @defaultValue 10 */
  readonly intervalMs?: number;
}

/**
 * Re-evaluates `condition` until it returns a truthy value (which it resolves
 * with) or the deadline passes. A condition that throws is retried; its last
 * error becomes the timeout's cause. Use it for state that has no event to
 * wait on (a port closing, a server refusing connections); prefer
 * {@link waitForEvent} where there is one.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const intervalMs = options.intervalMs ?? 10;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() >= deadline) {
      throw new WaitTimeoutError(options.description ?? 'a condition', timeoutMs, {
        cause: lastError,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Anything with `on`/`off`: a Node EventEmitter, a BullMQ Worker, or a class
 * with typed events (method parameters are compared bivariantly, so typed
 * `on<E extends Name>(event: E, ...)` signatures fit).
 */
export interface EventSourceLike {
  on(event: string, listener: AnyListener): unknown;
  off(event: string, listener: AnyListener): unknown;
}
// Listeners of every emitter's shape; `unknown[]` would reject typed listeners.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyListener = (...args: any[]) => void;

/**
 * Resolves with the arguments of the next `event` that passes `filter`, or
 * rejects at the deadline. Listens before it returns, so emit after calling it.
 */
export function waitForEvent<A extends unknown[] = unknown[]>(
  emitter: EventSourceLike,
  event: string,
  options: WaitOptions & { readonly filter?: (...args: A) => boolean } = {},
): Promise<A> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  return new Promise<A>((resolve, reject) => {
    const listener = (...args: unknown[]) => {
      if (options.filter && !options.filter(...(args as A))) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args as A);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new WaitTimeoutError(options.description ?? `the "${event}" event`, timeoutMs));
    }, timeoutMs);
    emitter.on(event, listener);
  });
}

/** Resolves or rejects as `promise` does, or rejects with {@link WaitTimeoutError} at the deadline. */
export function withDeadline<T>(
  promise: Promise<T>,
  timeoutMs: number,
  description: string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new WaitTimeoutError(description, timeoutMs)), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
