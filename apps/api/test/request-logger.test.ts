import { describe, expect, it } from '@jest/globals';
import { capturingLogger } from '@fiml/runtime/testing';
import { LazyRequestLogger, lazyRequestLoggers } from '../src/request-logger.js';
import { asClient, startHarness } from './harness.js';

describe('LazyRequestLogger', () => {
  it('makes the child logger only when a line passes the level, and binds it as pino would', () => {
    const { logger, lines } = capturingLogger({ level: 'warn' });
    let children = 0;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with its own `this` below
    const child = logger.child;
    // Counts pino children made from this logger (and, through the prototype, from its children).
    logger.child = function (this: typeof logger, ...args: Parameters<typeof child>) {
      children += 1;
      return child.apply(this, args);
    } as typeof logger.child;
    const log = new LazyRequestLogger(logger, { reqId: 'r-1' });

    log.info({ a: 1 }, 'below the level');
    log.debug('below too');
    expect(children).toBe(0);
    expect(log.level).toBe('warn');

    log.warn({ key: 'price:equity:AAPL', 'x-api-key': 'secret' }, 'a warning');
    log.error(new Error('boom'));
    expect(children).toBe(1);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        reqId: 'r-1',
        key: 'price:equity:AAPL',
        msg: 'a warning',
      }),
      expect.objectContaining({
        level: 'error',
        reqId: 'r-1',
        err: expect.objectContaining({ message: 'boom' }),
      }),
    ]);
    // Its own children carry the request's binding too.
    log.child({ step: 'fetch' }).warn('nested');
    expect(children).toBe(2);
    expect(lines[2]).toMatchObject({ reqId: 'r-1', step: 'fetch', msg: 'nested' });
  });

  it("gives a route with its own level pino's child at once", () => {
    const { logger, lines } = capturingLogger({ level: 'warn' });
    const log = lazyRequestLoggers(logger, { reqId: 'r-2' }, { level: 'debug' });
    expect(log).not.toBeInstanceOf(LazyRequestLogger);
    log.debug('route-level debug');
    expect(lines).toEqual([expect.objectContaining({ reqId: 'r-2', msg: 'route-level debug' })]);
  });

  it('is what the api logs requests with: one line per request at info, under its request id', async () => {
    const { logger, lines } = capturingLogger({ level: 'info', service: 'api' });
    const h = await startHarness({ logger });
    try {
      const res = await h.app.inject({
        url: '/v1/data/price/AAPL',
        headers: { ...asClient, 'x-request-id': 'trace-42' },
      });
      expect(res.statusCode).toBe(200);
      expect(lines.filter((l) => l.msg === 'request')).toEqual([
        expect.objectContaining({ reqId: 'trace-42', url: '/v1/data/price/AAPL', statusCode: 200 }),
      ]);
    } finally {
      await h.close();
    }
  });
});
