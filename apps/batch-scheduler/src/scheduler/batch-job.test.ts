import { describe, expect, it } from '@jest/globals';
import { batchJobSchema } from './batch-job.js';

const group = { provider: 'sim-equities', assetType: 'equity', dataType: 'price', token: 't1' };

describe('batchJobSchema', () => {
  it('takes keys as the claim packs them: symbols and metas each one space-separated string', () => {
    const job = { ...group, symbols: 'AAPL BRK.B', metas: '1|1000|0|0|0 0|1000|5000|2|1' };
    expect(batchJobSchema.parse(job)).toEqual({
      ...group,
      symbols: ['AAPL', 'BRK.B'],
      metas: ['1|1000|0|0|0', '0|1000|5000|2|1'],
    });
  });

  it('rejects packed lists that disagree in length, are empty or hold something else', () => {
    const bad = [
      { symbols: 'A B', metas: '1|1|0|0|0' },
      { symbols: '', metas: '' },
      { symbols: 'A  B', metas: '1|1|0|0|0 1|1|0|0|0' },
      { symbols: 'A', metas: 'urgent' },
      { symbols: 'A', metas: '1|1|0|0|0 ' },
    ];
    for (const lists of bad) {
      expect(batchJobSchema.safeParse({ ...group, ...lists }).success).toBe(false);
    }
  });

  it('takes keys as symbols with their stored metas', () => {
    const job = { ...group, symbols: ['AAPL', 'MSFT'], metas: ['1|1000|0|0|0', '0|1000|5000|2|1'] };
    expect(batchJobSchema.parse(job)).toEqual(job);
  });

  it('rejects a meta per symbol missing, or one that is not a pending key meta', () => {
    expect(
      batchJobSchema.safeParse({ ...group, symbols: ['A', 'B'], metas: ['1|1|0|0|0'] }).success,
    ).toBe(false);
    expect(batchJobSchema.safeParse({ ...group, symbols: ['A'], metas: ['urgent'] }).success).toBe(
      false,
    );
    expect(batchJobSchema.safeParse({ ...group, symbols: [], metas: [] }).success).toBe(false);
  });

  it('reads a job added with one object per key (before the encoding) as the same keys', () => {
    const parsed = batchJobSchema.parse({
      ...group,
      keys: [
        { symbol: 'AAPL', priority: 1, firstAt: 1000, attempts: 0 },
        { symbol: 'MSFT', priority: 0, firstAt: 1000, deadline: 5000, attempts: 2, warm: true },
      ],
    });
    expect(parsed).toEqual({
      ...group,
      symbols: ['AAPL', 'MSFT'],
      metas: ['1|1000|0|0|0', '0|1000|5000|2|1'],
    });
  });
});
