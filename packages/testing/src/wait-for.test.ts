import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { WaitTimeoutError, waitFor, waitForEvent, withDeadline } from './index.js';

describe('waitFor', () => {
  it('resolves with the first truthy value', async () => {
    let calls = 0;
    await expect(waitFor(() => (++calls >= 3 ? { calls } : null))).resolves.toEqual({ calls: 3 });
  });

  it('times out naming what it waited for, with the last error as cause', async () => {
    const error = await waitFor(
      () => {
        throw new Error('still refusing');
      },
      { timeoutMs: 50, description: 'redis to accept connections' },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as Error).message).toBe(
      'Timed out after 50 ms waiting for redis to accept connections',
    );
    expect(((error as Error).cause as Error).message).toBe('still refusing');
  });
});

describe('waitForEvent', () => {
  it('resolves with the arguments of the first event passing the filter', async () => {
    const emitter = new EventEmitter();
    const waiting = waitForEvent<[number, string]>(emitter, 'completed', {
      filter: (id) => id === 2,
    });
    emitter.emit('completed', 1, 'a');
    emitter.emit('completed', 2, 'b');
    await expect(waiting).resolves.toEqual([2, 'b']);
    expect(emitter.listenerCount('completed')).toBe(0);
  });

  it('rejects at the deadline and stops listening', async () => {
    const emitter = new EventEmitter();
    await expect(waitForEvent(emitter, 'never', { timeoutMs: 20 })).rejects.toThrow(
      'Timed out after 20 ms waiting for the "never" event',
    );
    expect(emitter.listenerCount('never')).toBe(0);
  });
});

describe('withDeadline', () => {
  it('passes a settled promise through and bounds a hanging one', async () => {
    await expect(withDeadline(Promise.resolve(7), 50, 'x')).resolves.toBe(7);
    await expect(withDeadline(Promise.reject(new Error('boom')), 50, 'x')).rejects.toThrow('boom');
    await expect(withDeadline(new Promise(() => undefined), 20, 'the hang')).rejects.toThrow(
      WaitTimeoutError,
    );
  });
});
