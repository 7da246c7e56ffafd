import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { renderMetrics } from './metrics-registry.js';
import { checkReadiness, type ReadinessCheck } from './readiness.js';

export interface OpsServerOptions {
  readonly registry: Registry;
  /** Dependencies /readyz checks, by name ("queueRedis"). */
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
  readonly logger: Logger;
  /** @defaultValue '0.0.0.0' */
  readonly host?: string;
  /** 0 picks a free port. @defaultValue 0 */
  readonly port?: number;
}

export interface OpsServer {
  readonly port: number;
  /** Base URL on loopback, for logs and tests. */
  readonly url: string;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(text);
}

/**
 * The small HTTP server a worker process exposes for operators: /metrics for
 * Prometheus, /healthz (the process is alive) and /readyz (its dependencies
 * answer). Workers have no other HTTP surface, so this stays on node:http
 * rather than a framework.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const log = options.logger.child({ component: 'ops-server' });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendJson(res, 405, {
        error: { code: 'FIML_METHOD_NOT_ALLOWED', message: `${req.method} is not allowed` },
      });
    }
    switch (path) {
      case '/metrics': {
        const { contentType, body } = await renderMetrics(options.registry);
        res.writeHead(200, { 'content-type': contentType }).end(body);
        return;
      }
      case '/healthz':
        return sendJson(res, 200, { status: 'ok' });
      case '/readyz': {
        const report = await checkReadiness(options.readiness);
        return sendJson(res, report.ok ? 200 : 503, report);
      }
      default:
        return sendJson(res, 404, {
          error: { code: 'FIML_NOT_FOUND', message: `No route GET ${path}` },
        });
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error({ err: error, url: req.url }, 'ops request failed');
      if (!res.headersSent)
        sendJson(res, 500, { error: { code: 'FIML_INTERNAL', message: 'internal error' } });
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
