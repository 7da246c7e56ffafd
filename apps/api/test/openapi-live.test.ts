import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { LightMyRequestResponse } from 'fastify';
import { ADMIN_KEY, asClient, startHarness, type Harness } from './harness.js';

/**
 * The OpenAPI document at /docs/json is a contract: every response the api
 * really gives, errors included, must be one the document declares for that
 * operation and status, with a body its schema accepts. Each case below is
 * a real request to the api built by createApi.
 */

interface Operation {
  readonly responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
  readonly security?: unknown[];
}
interface Spec {
  readonly openapi: string;
  readonly paths: Record<string, Record<string, Operation>>;
  readonly components?: { securitySchemes?: Record<string, unknown> };
}

/** One request and the operation of the document it exercises. */
interface Case {
  readonly name: string;
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly url: string;
  /** The documented path template, e.g. /v1/data/{dataType}/{symbol}. */
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly payload?: string;
  readonly status: number;
  /** The error code expected in the body, for error responses. */
  readonly code?: string;
}

const open: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

async function harness(env: Record<string, string> = {}): Promise<Harness> {
  const h = await startHarness({ env });
  open.push(() => h.close());
  return h;
}

let spec: Spec;
let ajv: Ajv;
const validators = new Map<string, ValidateFunction>();

beforeAll(async () => {
  const h = await harness();
  spec = (await h.app.inject('/docs/json')).json<Spec>();
  ajv = new Ajv({ strict: false, allErrors: true });
  // ajv-formats is CommonJS with its plugin as `default`.
  addFormats.default(ajv);
  ajv.addSchema(spec, 'openapi');
});

const pointer = (...parts: string[]) =>
  parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/**
 * Asserts that the response is declared for the case's operation and status,
 * that its JSON body validates against the declared schema, and that it
 * carries a request id like every response of the api.
 */
function expectDocumented(c: Case, res: LightMyRequestResponse): void {
  const where = `${c.name}: ${c.method} ${c.url} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
  expect({ where, status: res.statusCode }).toEqual({ where, status: c.status });
  expect({ where, requestId: typeof res.headers['x-request-id'] }).toEqual({
    where,
    requestId: 'string',
  });
  const operation = spec.paths[c.path]?.[c.method.toLowerCase()];
  expect({ where, documented: operation !== undefined }).toEqual({ where, documented: true });
  const declared = Object.keys(operation!.responses);
  expect({ where, declared: declared.includes(String(res.statusCode)) }).toEqual({
    where,
    declared: true,
  });
  if (res.statusCode === 204 || res.statusCode === 304) {
    expect({ where, body: res.body }).toEqual({ where, body: '' });
    return;
  }
  const contentType = String(res.headers['content-type'] ?? '');
  const content = operation!.responses[String(res.statusCode)]!.content ?? {};
  const media = Object.keys(content).find((m) => contentType.startsWith(m));
  expect({ where, contentType, media }).toEqual({ where, contentType, media: expect.any(String) });
  if (!media!.includes('json')) return;
  const id = pointer(c.path, c.method.toLowerCase(), 'responses', String(res.statusCode));
  const ref = `openapi#/paths/${id}/content/${pointer(media!)}/schema`;
  const validate = validators.get(ref) ?? ajv.compile({ $ref: ref });
  validators.set(ref, validate);
  const body: unknown = res.json();
  const valid = validate(body);
  expect({ where, errors: valid ? [] : validate.errors }).toEqual({ where, errors: [] });
  if (c.code) {
    expect({ where, code: (body as { error?: { code?: string } }).error?.code }).toEqual({
      where,
      code: c.code,
    });
  }
}

async function exercise(h: Harness, c: Case): Promise<LightMyRequestResponse> {
  const res = await h.app.inject({
    method: c.method,
    url: c.url,
    headers: c.headers ?? {},
    ...(c.payload === undefined ? {} : { payload: c.payload }),
  });
  expectDocumented(c, res);
  return res;
}

const json = { 'content-type': 'application/json' };
const refresh = JSON.stringify({
  symbols: ['AAPL'],
  assetType: 'equity',
  dataType: 'price',
});

describe('every response of the api is the one /docs declares', () => {
  it('declares, for each operation that needs a key, the key it needs', () => {
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.components?.securitySchemes ?? {})).not.toHaveLength(0);
    expect(spec.paths['/v1/refresh']!.post!.security).toBeDefined();
    expect(spec.paths['/v1/cache/{dataType}/{symbol}']!.delete!.security).toBeDefined();
  });

  it('ops, reads, batch reads, refreshes, deletes and reports, with their errors', async () => {
    const h = await harness();
    const cases: Case[] = [
      { name: 'liveness', method: 'GET', url: '/healthz', path: '/healthz', status: 200 },
      { name: 'readiness', method: 'GET', url: '/readyz', path: '/readyz', status: 200 },
      { name: 'metrics', method: 'GET', url: '/metrics', path: '/metrics', status: 200 },
      {
        name: 'a read',
        method: 'GET',
        url: '/v1/data/price/AAPL',
        path: '/v1/data/{dataType}/{symbol}',
        status: 200,
      },
      {
        name: 'a crypto read in lower case',
        method: 'GET',
        url: '/v1/data/price/btc?assetType=crypto',
        path: '/v1/data/{dataType}/{symbol}',
        status: 200,
      },
      {
        name: 'an unknown symbol',
        method: 'GET',
        url: '/v1/data/price/NOPE1',
        path: '/v1/data/{dataType}/{symbol}',
        status: 404,
        code: 'FIML_SYMBOL_NOT_FOUND',
      },
      {
        name: 'a symbol that is not ASCII',
        method: 'GET',
        url: '/v1/data/price/%C3%9F',
        path: '/v1/data/{dataType}/{symbol}',
        status: 400,
        code: 'FIML_VALIDATION',
      },
      {
        name: 'an unknown data type',
        method: 'GET',
        url: '/v1/data/gossip/AAPL',
        path: '/v1/data/{dataType}/{symbol}',
        status: 400,
        code: 'FIML_VALIDATION',
      },
      {
        name: 'a batch read',
        method: 'GET',
        url: '/v1/data/price?symbols=AAPL,MSFT,NOPE1',
        path: '/v1/data/{dataType}',
        status: 200,
      },
      {
        name: 'a batch read without symbols',
        method: 'GET',
        url: '/v1/data/price',
        path: '/v1/data/{dataType}',
        status: 400,
        code: 'FIML_VALIDATION',
      },
      {
        name: 'a refresh without a key',
        method: 'POST',
        url: '/v1/refresh',
        path: '/v1/refresh',
        headers: json,
        payload: refresh,
        status: 401,
        code: 'FIML_UNAUTHORIZED',
      },
      {
        name: 'a refresh',
        method: 'POST',
        url: '/v1/refresh',
        path: '/v1/refresh',
        headers: { ...json, ...asClient },
        payload: refresh,
        status: 202,
      },
      {
        name: 'a refresh that is not JSON',
        method: 'POST',
        url: '/v1/refresh',
        path: '/v1/refresh',
        headers: { 'content-type': 'text/plain', ...asClient },
        payload: 'AAPL',
        status: 415,
        code: 'FIML_UNSUPPORTED_MEDIA_TYPE',
      },
      {
        name: 'a refresh with broken JSON',
        method: 'POST',
        url: '/v1/refresh',
        path: '/v1/refresh',
        headers: { ...json, ...asClient },
        payload: '{"symbols": [',
        status: 400,
        code: 'FIML_BAD_JSON',
      },
      {
        name: 'a refresh with a deadline in 1970',
        method: 'POST',
        url: '/v1/refresh',
        path: '/v1/refresh',
        headers: { ...json, ...asClient },
        payload: JSON.stringify({ ...JSON.parse(refresh), deadline: 1 }),
        status: 400,
        code: 'FIML_VALIDATION',
      },
      {
        name: 'a refresh too large',
        method: 'POST',
        url: '/v1/refresh',
        path: '/v1/refresh',
        headers: { ...json, ...asClient },
        payload: JSON.stringify({ ...JSON.parse(refresh), source: 'x'.repeat(2 * 1024 * 1024) }),
        status: 413,
        code: 'FIML_BODY_TOO_LARGE',
      },
      {
        name: 'a delete without a key',
        method: 'DELETE',
        url: '/v1/cache/price/AAPL',
        path: '/v1/cache/{dataType}/{symbol}',
        status: 401,
        code: 'FIML_UNAUTHORIZED',
      },
      {
        name: 'a delete',
        method: 'DELETE',
        url: '/v1/cache/price/AAPL',
        path: '/v1/cache/{dataType}/{symbol}',
        headers: { 'x-api-key': ADMIN_KEY },
        status: 204,
      },
      {
        name: 'the analytics report',
        method: 'GET',
        url: '/v1/cache/report',
        path: '/v1/cache/report',
        status: 200,
      },
      {
        name: 'the warming report',
        method: 'GET',
        url: '/v1/cache/warming?limit=3',
        path: '/v1/cache/warming',
        status: 200,
      },
      {
        name: 'the warming report with a bad limit',
        method: 'GET',
        url: '/v1/cache/warming?limit=0',
        path: '/v1/cache/warming',
        status: 400,
        code: 'FIML_VALIDATION',
      },
    ];
    for (const c of cases) await exercise(h, c);

    // A revalidation answers 304 with no body when the entry has not changed.
    const read = cases[3]!;
    const first = await exercise(h, read);
    const etag = String(first.headers.etag);
    await exercise(h, {
      ...read,
      name: 'a revalidation',
      headers: { 'if-none-match': etag },
      status: 304,
    });
  });

  it('429 when a client spent its share of the upstream budget or its request limit', async () => {
    const h = await harness({ API_RATE_LIMIT_PER_MINUTE: '30' });
    // The single-symbol reference provider: one cold news read is one call of the client's share.
    let answer: LightMyRequestResponse | undefined;
    for (let i = 0; i < 30 && answer?.statusCode !== 429; i++) {
      answer = await h.app.inject({ url: `/v1/data/news/SHARE${i}`, headers: asClient });
      if (answer.statusCode !== 429) {
        expectDocumented(
          {
            name: `cold news read ${i}`,
            method: 'GET',
            url: `/v1/data/news/SHARE${i}`,
            path: '/v1/data/{dataType}/{symbol}',
            // Outside the simulated market's universe a symbol is not found, still one call.
            status: answer.statusCode === 404 ? 404 : 200,
          },
          answer,
        );
      }
    }
    expectDocumented(
      {
        name: 'a cold read past the client share',
        method: 'GET',
        url: '/v1/data/news/SHARE…',
        path: '/v1/data/{dataType}/{symbol}',
        status: 429,
        code: 'FIML_CLIENT_SHARE_SPENT',
      },
      answer!,
    );
    expect(Number(answer!.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    // The per-client request limit (30 a minute): the reads above spent most of it.
    let limited: LightMyRequestResponse | undefined;
    for (let i = 0; i < 31 && limited?.statusCode !== 429; i++) {
      limited = await h.app.inject({ url: '/v1/data/price?symbols=AAPL', headers: asClient });
      if (limited.statusCode === 429) break;
      expect(limited.statusCode).toBe(200);
    }
    expectDocumented(
      {
        name: 'a batch read past the request limit',
        method: 'GET',
        url: '/v1/data/price?symbols=AAPL',
        path: '/v1/data/{dataType}',
        status: 429,
        code: 'FIML_RATE_LIMITED',
      },
      limited!,
    );
  });

  it('503 when the provider budget is spent', async () => {
    const h = await harness({ PROVIDER_RATE_LIMITS: 'sim-equities=5/min' });
    let answer: LightMyRequestResponse | undefined;
    for (let i = 0; i < 10 && answer?.statusCode !== 503; i++) {
      answer = await h.app.inject({ url: `/v1/data/price/BUDGET${i}`, headers: asClient });
    }
    expectDocumented(
      {
        name: 'a cold read with the budget spent',
        method: 'GET',
        url: '/v1/data/price/BUDGET…',
        path: '/v1/data/{dataType}/{symbol}',
        status: 503,
        code: 'FIML_UPSTREAM_BUDGET_SPENT',
      },
      answer!,
    );
  });
});
