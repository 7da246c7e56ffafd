import { FetchTimeoutError } from './cache-errors.js';

/**
 * Settles with `promise`, or rejects with a {@link FetchTimeoutError} after
 * `timeoutMs`, whichever comes first. `onTimeout` runs when the bound wins.
 * The timer never keeps the process alive.
 */
export function bounded<T>(
  promise: Promise<T>,
  options: {
    readonly timeoutMs: number;
    readonly what: string;
    readonly onTimeout?: (error: FetchTimeoutError) => void;
  },
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new FetchTimeoutError(options.what, options.timeoutMs);
      options.onTimeout?.(error);
      reject(error);
    }, options.timeoutMs);
    timer.unref();
  });
  // The losing side of the race must not surface as an unhandled rejection.
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
