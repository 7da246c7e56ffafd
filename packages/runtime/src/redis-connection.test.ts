import { describe, expect, it } from '@jest/globals';
import { connectionOptionsFor, reconnectDelay } from './index.js';

describe('Redis connections', () => {
  it('backs off exponentially up to a cap', () => {
    expect([1, 2, 3, 4, 8, 50].map((n) => reconnectDelay(n))).toEqual([
      100, 200, 400, 800, 10_000, 10_000,
    ]);
    expect(reconnectDelay(3, 250)).toBe(250);
  });

  it('follows BullMQ’s rules per role', () => {
    expect(connectionOptionsFor('worker')).toMatchObject({
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
    });
    expect(connectionOptionsFor('producer')).toMatchObject({
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
    });
    expect(connectionOptionsFor('cache')).toMatchObject({ enableOfflineQueue: false });
  });
});
