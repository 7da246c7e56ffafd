// The image's HEALTHCHECK script (docker/image/healthcheck.mjs), run as Docker runs it: a child
// `node` process whose exit status is the verdict, against real HTTP servers. The live test also
// runs it against the real processes.
import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dockerPath } from './support/files.js';

const SCRIPT = dockerPath('image/healthcheck.mjs');
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A server answering `status` on every path; resolves with its port and the paths asked for. */
async function serve(status: number): Promise<{ port: number; paths: string[] }> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(status, { 'content-type': 'application/json' }).end('{"ok":false}');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, paths };
}

/** Runs the healthcheck with exactly this environment (PATH only besides). */
function healthcheck(
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('the image healthcheck', () => {
  it('asks the api /readyz on API_PORT, and each worker /readyz on METRICS_PORT', async () => {
    const ready = await serve(200);
    const port = String(ready.port);
    expect((await healthcheck({ FIML_APP: 'api', API_PORT: port })).code).toBe(0);
    expect(
      (
        await healthcheck({
          FIML_APP: 'batch-scheduler',
          METRICS_PORT: port,
          METRICS_HOST: '0.0.0.0',
        })
      ).code,
    ).toBe(0);
    expect((await healthcheck({ FIML_APP: 'warmer', METRICS_PORT: port })).code).toBe(0);
    expect(
      (await healthcheck({ FIML_APP: 'sim-provider', PORT: port, HOST: '0.0.0.0' })).code,
    ).toBe(0);
    expect(ready.paths).toEqual(['/readyz', '/readyz', '/readyz', '/healthz']);
  });

  it('is unhealthy when the process answers 503 (a Redis down), saying what it was told', async () => {
    const notReady = await serve(503);
    const result = await healthcheck({ FIML_APP: 'api', API_PORT: String(notReady.port) });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `http://127.0.0.1:${notReady.port}/readyz answered 503: {"ok":false}`,
    );
  });

  it('is unhealthy when nothing listens, and when it does not know the process', async () => {
    const gone = await serve(200);
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const closed = await healthcheck({ FIML_APP: 'warmer', METRICS_PORT: String(gone.port) });
    expect(closed.code).toBe(1);
    expect(closed.stderr).toContain('did not answer');
    const unknown = await healthcheck({ FIML_APP: 'nope' });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('FIML_APP is "nope"');
  });
});
