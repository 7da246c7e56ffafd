import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { ManualClock } from '@fiml/market';
import { createLogger } from '@fiml/runtime';
import { logCacheErrors } from './cache-error-log.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    service: 'test',
    level: 'info',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        }
        done();
      },
    }),
  });
  return { logger, lines };
}

const l2Get = {
  component: 'l2',
  operation: 'get',
  error: new Error('WRONGTYPE Operation against a key holding the wrong kind of value'),
} as const;

describe('logCacheErrors', () => {
  it('writes one line per (component, operation) per interval, then says how many it held back', () => {
    const cache = new EventEmitter();
    const clock = new ManualClock(0);
    const { logger, lines } = capture();
    logCacheErrors(cache, { logger, clock, intervalMs: 30_000 });

    for (let i = 0; i < 100; i++) cache.emit('error', l2Get);
    cache.emit('error', { component: 'l2', operation: 'delete', error: new Error('x'), key: 'k' });
    expect(lines.map((l) => [l.msg, l.operation, l.suppressed])).toEqual([
      ['cache error', 'get', 0],
      ['cache error', 'delete', 0],
    ]);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      cacheComponent: 'l2',
      err: { message: expect.stringMatching(/^WRONGTYPE/) },
    });
    expect(lines[1]).toMatchObject({ key: 'k' });

    clock.advance(29_999);
    cache.emit('error', l2Get);
    expect(lines).toHaveLength(2);
    clock.advance(1);
    cache.emit('error', l2Get);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ operation: 'get', suppressed: 100 });
  });

  it('leaves errors that only say the cache Redis is unreachable to the connection and the breaker', () => {
    const cache = new EventEmitter();
    const { logger, lines } = capture();
    logCacheErrors(cache, { logger, clock: new ManualClock(0) });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), {
      code: 'ECONNREFUSED',
    });
    cache.emit('error', { component: 'l2', operation: 'get', error: refused });
    cache.emit('error', {
      component: 'l2',
      operation: 'set',
      error: new Error('Connection is closed.'),
    });
    expect(lines).toEqual([]);
    // A refresh request the queue Redis did not take is refreshed in-process: that is logged.
    cache.emit('error', { component: 'revalidate', operation: 'enqueue', error: refused });
    expect(lines).toMatchObject([{ msg: 'cache error', cacheComponent: 'revalidate' }]);
  });

  it('logs every breaker change, and stops listening when asked', () => {
    const cache = new EventEmitter();
    const { logger, lines } = capture();
    const stop = logCacheErrors(cache, { logger, clock: new ManualClock(0) });
    cache.emit('circuit', { state: 'open', failures: 3 });
    cache.emit('circuit', { state: 'half-open', failures: 3 });
    cache.emit('circuit', { state: 'closed', failures: 0 });
    expect(lines.map((l) => [l.level, l.state])).toEqual([
      ['warn', 'open'],
      ['info', 'half-open'],
      ['info', 'closed'],
    ]);
    stop();
    expect(cache.listenerCount('error') + cache.listenerCount('circuit')).toBe(0);
  });
});
