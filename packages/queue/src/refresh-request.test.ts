import { describe, expect, it } from '@jest/globals';
import { InvalidJobPayloadError, parseRefreshRequest, queuePrefix } from './index.js';

const base = { symbols: ['AAPL'], assetType: 'equity', dataType: 'price', source: 'api' } as const;

function issuesOf(input: unknown): Record<string, string> {
  try {
    parseRefreshRequest(input);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidJobPayloadError);
    return Object.fromEntries(
      (error as InvalidJobPayloadError).issues.map((i) => [i.path, i.message]),
    );
  }
  throw new Error('expected InvalidJobPayloadError');
}

describe('refresh request contract', () => {
  it('normalizes symbols, removes duplicates and defaults the priority', () => {
    expect(parseRefreshRequest({ ...base, symbols: [' aapl', 'MSFT', 'AAPL', 'brk.b'] })).toEqual({
      symbols: ['AAPL', 'MSFT', 'BRK.B'],
      assetType: 'equity',
      dataType: 'price',
      priority: 'normal',
      source: 'api',
    });
  });

  it('keeps a deadline with an offset and drops unknown fields (newer producers stay compatible)', () => {
    const parsed = parseRefreshRequest({
      ...base,
      priority: 'urgent',
      deadline: '2026-11-27T12:59:00-05:00',
      addedInV2: true,
    });
    expect(parsed.deadline).toBe('2026-11-27T12:59:00-05:00');
    expect(parsed.priority).toBe('urgent');
    expect(parsed).not.toHaveProperty('addedInV2');
  });

  it('keeps why a refresh was asked for, and still takes a v1 payload without it', () => {
    expect(parseRefreshRequest({ ...base, reason: 'stale' }).reason).toBe('stale');
    const v1 = parseRefreshRequest(base);
    expect(v1).not.toHaveProperty('reason');
    expect(issuesOf({ ...base, reason: 'because' })).toEqual({
      reason: 'one of request, stale, warm, miss, ahead',
    });
  });

  it('v2: takes a miss the api could not fetch, and "only if older than" in whole ms', () => {
    expect(parseRefreshRequest({ ...base, reason: 'miss', priority: 'urgent' })).toMatchObject({
      reason: 'miss',
      priority: 'urgent',
    });
    expect(parseRefreshRequest({ ...base, ifOlderThanMs: 0 }).ifOlderThanMs).toBe(0);
    expect(parseRefreshRequest({ ...base, ifOlderThanMs: 30_000 }).ifOlderThanMs).toBe(30_000);
    // A v1 payload stays valid and gains nothing.
    expect(parseRefreshRequest(base)).not.toHaveProperty('ifOlderThanMs');
    for (const bad of [-1, 1.5, '30000', Number.POSITIVE_INFINITY, null]) {
      expect(issuesOf({ ...base, ifOlderThanMs: bad })).toEqual({
        ifOlderThanMs: 'an integer number of ms >= 0',
      });
    }
  });

  it('names every bad field', () => {
    expect(
      issuesOf({
        symbols: ['AAPL', 'not a symbol'],
        assetType: 'bond',
        dataType: 'quotes',
        priority: 'asap',
        deadline: '2026-11-27 12:59',
        source: '',
      }),
    ).toEqual({
      'symbols.1': 'not a symbol (1-10 letters or digits, optionally "." or "-" and up to 5 more)',
      assetType: 'one of equity, crypto',
      dataType: 'one of price, fundamentals, news',
      priority: 'one of urgent, normal, low',
      deadline: 'an ISO 8601 instant with offset',
      source: '1-64 letters, digits, ".", "_", ":" or "-"',
    });
  });

  it('bounds the number of symbols and requires at least one', () => {
    expect(issuesOf({ ...base, symbols: [] })).toEqual({ symbols: 'at least one symbol' });
    const many = Array.from({ length: 501 }, (_, i) => `S${i}`);
    expect(issuesOf({ ...base, symbols: many })).toEqual({ symbols: 'at most 500 symbols' });
  });

  it('rejects a payload that is not an object', () => {
    expect(() => parseRefreshRequest('AAPL')).toThrow(/invalid refresh payload: \(payload\)/);
    expect(() => parseRefreshRequest(null)).toThrow(InvalidJobPayloadError);
  });
});

describe('queue plumbing', () => {
  it('wraps the prefix in a hash tag and refuses prefixes that would break it', () => {
    expect(queuePrefix('fiml')).toBe('{fiml}');
    expect(() => queuePrefix('{fiml}')).toThrow(RangeError);
    expect(() => queuePrefix('')).toThrow(RangeError);
  });
});
