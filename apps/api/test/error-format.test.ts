import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { ADMIN_KEY, CLIENT_KEY, startHarness, type Harness } from './harness.js';
import { rawRequest, type RawResponse } from './raw-http.js';

// One api listening on a real port for the whole file: every request below goes over a socket,
// byte for byte as written, so Node's parser and Fastify's router see exactly what a hostile
// client would send.
let h: Harness;
let port: number;
const nodeEnv = process.env.NODE_ENV;

beforeAll(async () => {
  // bull-board puts stack traces in its error bodies in development: the api must not, in any mode.
  process.env.NODE_ENV = 'development';
  h = await startHarness();
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  port = (h.app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  process.env.NODE_ENV = nodeEnv;
  await h.close();
});

/** What no error body may contain: stack frames, file paths, URLs, addresses, upstream and framework error text. */
const INTERNALS: readonly RegExp[] = [
  /\bat [\w.<>]+ \(/, // a stack frame
  /\n\s+at /,
  /\/[\w.-]+\/[\w./-]+\.(?:ts|js|cjs|mjs)\b/, // a source file path
  /node_modules/,
  /[a-z]+:\/\/\S/i, // any URL (http://, redis://)
  /\b127\.0\.0\.1\b|\blocalhost\b/,
  /\bE(?:CONNREFUSED|CONNRESET|NOTFOUND|PIPE|TIMEDOUT)\b/,
  /\bFST_[A-Z_]+/, // Fastify's own codes
  /ERRORS\.[A-Z_]+/, // bull-board's
  /Error:/,
  /\bstack\b/i,
  /"details"/,
];

function expectNoInternals(text: string): void {
  for (const pattern of INTERNALS)
    expect({ text, pattern: String(pattern) }).not.toMatchObject({
      text: expect.stringMatching(pattern),
    });
}

/** The one error format: `{ error: { code, message, fields? }, requestId }` and the same id in x-request-id. */
function expectErrorFormat(res: RawResponse, status: number, code: string | RegExp): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const id = res.headers['x-request-id'];
  expect(id).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'requestId']);
  expect(body.requestId).toBe(id);
  const error = body.error as Record<string, unknown>;
  expect(Object.keys(error).filter((k) => k !== 'fields')).toEqual(['code', 'message']);
  expect(error.code).toEqual(typeof code === 'string' ? code : expect.stringMatching(code));
  expect(typeof error.message).toBe('string');
  expect((error.message as string).length).toBeLessThanOrEqual(2_000);
  expectNoInternals(res.body);
}

const get = (path: string, headers: Record<string, string> = {}): string =>
  [
    `GET ${path} HTTP/1.1`,
    'Host: api',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    'Connection: close',
    '',
    '',
  ].join('\r\n');

const post = (path: string, body: string, headers: Record<string, string>): string =>
  [
    `POST ${path} HTTP/1.1`,
    'Host: api',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');

const basic = (key: string) => `Basic ${Buffer.from(`ops:${key}`).toString('base64')}`;
const TEN_KB_SYMBOL = 'A'.repeat(10 * 1024);

describe('the one error format, over real sockets', () => {
  it.each([
    [
      'bad percent-encoding in a path parameter',
      get('/v1/data/price/%E0%A4%A'),
      400,
      'FIML_BAD_URL',
    ],
    [
      'bad percent-encoding in the route',
      get('/v1/data/%ZZ/AAPL'),
      400,
      /^FIML_(BAD_URL|NOT_FOUND)$/,
    ],
    [
      'a 10 KB symbol in the path',
      get(`/v1/data/price/${TEN_KB_SYMBOL}`),
      414,
      'FIML_URI_TOO_LONG',
    ],
    [
      'a 10 KB symbol in a DELETE path',
      `DELETE /v1/cache/price/${TEN_KB_SYMBOL} HTTP/1.1\r\nHost: api\r\nX-Api-Key: ${CLIENT_KEY}\r\nConnection: close\r\n\r\n`,
      414,
      'FIML_URI_TOO_LONG',
    ],
    [
      'a 10 KB symbol in a batch read',
      get(`/v1/data/price?symbols=AAPL,${TEN_KB_SYMBOL}`),
      400,
      'FIML_VALIDATION',
    ],
    [
      'a 64 KB header',
      get('/v1/data/price/AAPL', { 'X-Padding': 'x'.repeat(64 * 1024) }),
      431,
      'FIML_HEADERS_TOO_LARGE',
    ],
    [
      'bad JSON',
      post('/v1/refresh', '{"dataType": "price", "symbols": [AAPL', {
        'Content-Type': 'application/json',
        'X-Api-Key': CLIENT_KEY,
      }),
      400,
      'FIML_BAD_JSON',
    ],
    [
      'JSON the parser quotes back',
      post('/v1/refresh', 'not json at all /etc/passwd http://evil', {
        'Content-Type': 'application/json',
        'X-Api-Key': CLIENT_KEY,
      }),
      400,
      'FIML_BAD_JSON',
    ],
    [
      'a text/plain body',
      post('/v1/refresh', 'AAPL', { 'Content-Type': 'text/plain', 'X-Api-Key': CLIENT_KEY }),
      415,
      'FIML_UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'an XML body',
      post('/v1/refresh', '<symbols/>', {
        'Content-Type': 'application/xml',
        'X-Api-Key': CLIENT_KEY,
      }),
      415,
      'FIML_UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'a body over the limit',
      post('/v1/refresh', JSON.stringify({ symbols: 'A'.repeat(70 * 1024) }), {
        'Content-Type': 'application/json',
        'X-Api-Key': CLIENT_KEY,
      }),
      413,
      'FIML_BODY_TOO_LARGE',
    ],
    ['an unknown route', get('/v2/nothing?x=1'), 404, 'FIML_NOT_FOUND'],
    ['an unknown route with a 10 KB path', get(`/${TEN_KB_SYMBOL}`), 404, 'FIML_NOT_FOUND'],
    ['an unknown method', 'BREW / HTTP/1.1\r\nHost: api\r\n\r\n', 400, 'FIML_BAD_REQUEST'],
    ['a malformed request line', 'GARBAGE\r\n\r\n', 400, 'FIML_BAD_REQUEST'],
    ['the dashboard with no key', get('/admin/queues'), 401, 'FIML_UNAUTHORIZED'],
    ['the dashboard API with no key', get('/admin/queues/api/queues'), 401, 'FIML_UNAUTHORIZED'],
    [
      'the dashboard API with a bad key',
      get('/admin/queues/api/queues', { Authorization: basic('not-a-valid-key-0000') }),
      401,
      'FIML_UNAUTHORIZED',
    ],
    [
      'a dashboard action with a bad key',
      `PUT /admin/queues/api/queues/refresh/pause HTTP/1.1\r\nHost: api\r\nX-Api-Key: wrong-key-wrong-key\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      401,
      'FIML_UNAUTHORIZED',
    ],
    [
      'a dashboard action with a client key',
      `PUT /admin/queues/api/queues/refresh/pause HTTP/1.1\r\nHost: api\r\nX-Api-Key: ${CLIENT_KEY}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      403,
      'FIML_FORBIDDEN',
    ],
    [
      'Redis server details with a client key',
      get('/admin/queues/api/redis/stats', { 'X-Api-Key': CLIENT_KEY }),
      403,
      'FIML_FORBIDDEN',
    ],
    [
      'an unknown queue on the dashboard',
      get('/admin/queues/api/queues/no-such-queue/1', { 'X-Api-Key': CLIENT_KEY }),
      404,
      'FIML_NOT_FOUND',
    ],
    [
      'a dashboard action on an unknown queue (admin)',
      `PUT /admin/queues/api/queues/no-such-queue/pause HTTP/1.1\r\nHost: api\r\nX-Api-Key: ${ADMIN_KEY}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      404,
      'FIML_NOT_FOUND',
    ],
    ['a bad symbol', get('/v1/data/price/%3Cscript%3E'), 400, 'FIML_VALIDATION'],
  ])('%s', async (_name, request, status, code) => {
    const res = await rawRequest(port, request);
    expectErrorFormat(res, status, code);
  });

  it('keeps the caller’s request id on errors, and makes one when it is not sane', async () => {
    const kept = await rawRequest(port, get('/v2/nothing', { 'X-Request-Id': 'trace-123' }));
    expect(kept.headers['x-request-id']).toBe('trace-123');
    const replaced = await rawRequest(
      port,
      get('/v2/nothing', { 'X-Request-Id': '<script>' + 'x'.repeat(300) }),
    );
    expectErrorFormat(replaced, 404, 'FIML_NOT_FOUND');
    expect(replaced.headers['x-request-id']).not.toMatch(/script/);
  });

  it('serves the dashboard page and data to a client key (the guard lets good requests through)', async () => {
    const page = await rawRequest(port, get('/admin/queues', { Authorization: basic(CLIENT_KEY) }));
    expect(page.status).toBe(200);
    const data = await rawRequest(
      port,
      get('/admin/queues/api/queues', { 'X-Api-Key': CLIENT_KEY }),
    );
    expect(data.status).toBe(200);
    const stats = await rawRequest(
      port,
      get('/admin/queues/api/redis/stats', { 'X-Api-Key': ADMIN_KEY }),
    );
    expect(stats.status).toBe(200);
  });

  it('shows neither internal URLs nor connection errors when the upstream is down', async () => {
    const harness = await startHarness();
    try {
      await harness.stopUpstream();
      const single = await harness.app.inject('/v1/data/price/MSFT');
      expect(single.statusCode).toBe(503);
      expectNoInternals(single.body);
      const batch = await harness.app.inject('/v1/data/news?symbols=AAPL,MSFT');
      expect(batch.statusCode).toBe(200);
      const { results } = batch.json<{ results: { status: string; error?: unknown }[] }>();
      expect(results.map((r) => r.status)).toEqual(['error', 'error']);
      expect(results[0]?.error).toEqual({
        code: 'FIML_UPSTREAM_UNAVAILABLE',
        message: expect.any(String),
      });
      expectNoInternals(batch.body);
    } finally {
      await harness.close();
    }
  });
});
