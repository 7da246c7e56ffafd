import { describe, expect, it } from '@jest/globals';
import { providerOfValue } from '../src/model.js';

describe('providerOfValue', () => {
  it('reads the provider a value names, a news list by its first item, and nothing otherwise', () => {
    expect(providerOfValue({ symbol: 'AAPL', price: 1, provider: 'polygon' })).toBe('polygon');
    expect(providerOfValue([{ headline: 'h', provider: 'finnhub' }])).toBe('finnhub');
    expect(providerOfValue([])).toBeUndefined();
    expect(providerOfValue({ provider: 7 })).toBeUndefined();
    expect(providerOfValue(null)).toBeUndefined();
  });
});
