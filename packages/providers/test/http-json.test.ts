// getJson's bound on what it reads of an answer, against real HTTP servers on 127.0.0.1: a
// Content-Length above the bound, a compressed body that inflates past it, and bodies under it
// (chunked, split inside a multi-byte character) read whole.
import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { ManualClock } from '@fiml/market';
import { withDeadline } from '@fiml/testing';
import { ProviderError, ProviderErrorCode, getJson } from '../src/index.js';

const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

/** A server answering every request with `answer`. */
async function serve(answer: (res: ServerResponse, req: IncomingMessage) => void) {
  const server = createServer((req, res) => answer(res, req));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  open.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: new URL(`http://127.0.0.1:${port}/v1/data`) };
}

const clock = new ManualClock('2026-11-24T15:00:00Z');
const get = (url: URL, maxResponseBytes: number) =>
  getJson({
    providerId: 'test-upstream',
    url,
    timeoutMs: 10_000,
    clock,
    defaultRetryAfterMs: 1_000,
    maxResponseBytes,
  });

async function refusal(call: Promise<unknown>): Promise<ProviderError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe('getJson reads at most maxResponseBytes of a body', () => {
  it('refuses a Content-Length above the bound without reading the body', async () => {
    const body = JSON.stringify({ data: 'x'.repeat(200_000) });
    const { url } = await serve((res, req) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
      });
      // The whole body for the call that may read it; for the other, its header and a start,
      // then nothing: a read would wait for the rest until the 10 s timeout.
      if (req.url?.includes('whole')) res.end(body);
      else res.write(body.slice(0, 1_000));
    });
    const error = await refusal(withDeadline(get(url, 100_000), 2_000, 'the refusal'));
    expect(error.code).toBe(ProviderErrorCode.BAD_RESPONSE);
    expect(error.message).toBe(
      `test-upstream: response from ${url.origin}${url.pathname} is larger than 100000 bytes; not read further`,
    );
    expect(error.status).toBe(200);
    // The same answer under a bound it fits.
    const whole = new URL('?whole=1', url);
    expect((await get(whole, body.length)).json).toEqual({ data: 'x'.repeat(200_000) });
  });

  it('counts a compressed body as it inflates: a gzip bomb stops at the bound', async () => {
    // 16 MiB of spaces inside a JSON string: about 16 KiB of gzip.
    const bomb = gzipSync(Buffer.from(`{"data":"${' '.repeat(16 * 1024 * 1024)}"}`));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const { url } = await serve((res) => {
      res
        .writeHead(200, {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          'content-length': String(bomb.length),
        })
        .end(bomb);
    });
    const error = await refusal(get(url, 1024 * 1024));
    expect(error.code).toBe(ProviderErrorCode.BAD_RESPONSE);
    expect(error.message).toContain('is larger than 1048576 bytes');
  });

  it('reads a chunked body under the bound whole, a character split across chunks included', async () => {
    // "€" is three bytes in UTF-8: the first chunk ends inside it.
    const bytes = Buffer.from(JSON.stringify({ price: '€12.50', note: 'ü'.repeat(1000) }));
    const split = bytes.indexOf(Buffer.from('€')) + 1;
    const { url } = await serve((res) => {
      res.writeHead(200, { 'content-type': 'application/json' }); // no length: chunked
      res.write(bytes.subarray(0, split));
      setImmediate(() => res.end(bytes.subarray(split)));
    });
    const response = await get(url, bytes.length);
    expect(response.json).toEqual({ price: '€12.50', note: 'ü'.repeat(1000) });
    // One byte less and the same answer is refused.
    const error = await refusal(get(url, bytes.length - 1));
    expect(error.code).toBe(ProviderErrorCode.BAD_RESPONSE);
  });

  it('keeps the status of an error answer whose body is past the bound', async () => {
    const { url } = await serve((res) => {
      res.writeHead(503, { 'content-type': 'text/html', 'retry-after': '3' });
      res.end(`<html>${'x'.repeat(300_000)}</html>`);
    });
    const error = await refusal(get(url, 100_000));
    expect(error.code).toBe(ProviderErrorCode.UPSTREAM);
    expect(error.status).toBe(503);
    expect(error.retryAfterMs).toBe(3_000);
    expect(error.body).toBe('(a body of more than 100000 bytes, not read)');
  });
});
