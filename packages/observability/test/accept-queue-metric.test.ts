import { afterEach, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { createMetricsRegistry } from '@fiml/runtime';
import { registerAcceptQueueMetric } from '../src/index.js';
import { sample } from './metrics-helpers.js';

const NAME = 'fiml_http_accept_queue_connections';
const open: (() => void)[] = [];
afterEach(() => {
  for (const close of open.splice(0).reverse()) close();
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
      const server = createServer();
      const accepted: Socket[] = [];
      server.on('connection', (socket) => accepted.push(socket));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      open.push(() => server.close());
      const { port } = server.address() as { port: number };
      const registry = createMetricsRegistry({ service: 'test', defaultMetrics: false });
      registerAcceptQueueMetric(registry, () => port);
      expect(await sample(registry, NAME)).toBe(0);

      const clients = Array.from({ length: 3 }, () => createConnection(port, '127.0.0.1'));
      open.push(() => {
        for (const socket of [...clients, ...accepted]) socket.destroy();
      });
      // The connects leave on the next tick; the scrape below starts before the loop polls
      // again, so the server has accepted none of them (its collect runs synchronously).
      await new Promise((resolve) => process.nextTick(resolve));
      const deadline = performance.now() + 2_000;
      let scrape = registry.getSingleMetric(NAME)!.get();
      while ((await scrape).values[0]?.value !== 3 && performance.now() < deadline) {
        scrape = registry.getSingleMetric(NAME)!.get();
      }
      expect((await scrape).values[0]?.value).toBe(3);
    },
  );
});
