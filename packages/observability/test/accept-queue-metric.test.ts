import { afterEach, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { createMetricsRegistry } from '@fiml/runtime';
import { startHeldListener } from '@fiml/runtime/testing';
import { waitFor } from '@fiml/testing';
import { registerAcceptQueueMetric } from '../src/index.js';
import { sample } from './metrics-helpers.js';

const NAME = 'fiml_http_accept_queue_connections';
const open: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

describe('fiml_http_accept_queue_connections', () => {
  it('is NaN while the server has no port', async () => {
    const registry = createMetricsRegistry({ service: 'test', defaultMetrics: false });
    registerAcceptQueueMetric(registry, () => undefined);
    expect(await sample(registry, NAME)).toBeNaN();
  });

  (existsSync('/proc/net/tcp') ? it : it.skip)(
    "reads the listening port's accept queue at each scrape: the connections not taken yet",
    async () => {
      const listener = await startHeldListener();
      open.push(() => listener.close());
      const registry = createMetricsRegistry({ service: 'test', defaultMetrics: false });
      registerAcceptQueueMetric(registry, () => listener.port);
      expect(await sample(registry, NAME)).toBe(0);

      listener.hold();
      const clients = Array.from({ length: 3 }, () => createConnection(listener.port, '127.0.0.1'));
      open.push(() => {
        for (const socket of clients) socket.destroy();
      });
      // The stopped process takes none of them: they wait in its queue until it runs again.
      await waitFor(async () => (await sample(registry, NAME)) === 3, {
        timeoutMs: 5_000,
        description: 'three connections waiting at a scrape',
      });
      listener.release();
      await waitFor(async () => (await sample(registry, NAME)) === 0, {
        timeoutMs: 5_000,
        description: 'none waiting once the server runs',
      });
    },
  );
});
