import { afterEach, describe, expect, it } from '@jest/globals';
import { registryLoaders } from '../src/upstream.js';
import { startHarness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('registryLoaders', () => {
  it('passes the cache’s abort signal to the provider registry', async () => {
    h = await startHarness();
    const loader = registryLoaders(h.providers)('price', 'equity');
    expect(loader).toMatchObject({ id: 'equity:price' });
    const assets = [{ symbol: 'AAPL', assetType: 'equity' as const }];

    const live = await loader!.load('price', assets, { signal: new AbortController().signal });
    expect(live.get('AAPL')).toMatchObject({ source: 'sim-equities', value: expect.anything() });

    // Aborted (the cache's hard timeout passed): the upstream is not asked for an answer no one awaits.
    const aborted = new AbortController();
    aborted.abort();
    const calls = h.calls.length;
    const results = await loader!.load('price', assets, { signal: aborted.signal });
    expect(results.get('AAPL')).toEqual({
      error: expect.objectContaining({ code: 'FIML_PROVIDER_ABORTED' }),
    });
    expect(h.calls.slice(calls).filter((c) => c.outcome === 'ok')).toEqual([]);
  });
});
