import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { registerWarmScheduleMetrics, type WarmScheduleRecreatedEventLike } from '../src/index.js';
import { createMetricsRegistry } from '@fiml/runtime';
import { sample } from './metrics-helpers.js';

const NAME = 'fiml_warm_schedule_recreated_total';

describe('registerWarmScheduleMetrics', () => {
  it('counts re-created schedulers from bounded label sets, every known series from 0', async () => {
    const registry = createMetricsRegistry({ service: 'warmer', defaultMetrics: false });
    const keeper = new EventEmitter<{ recreated: [WarmScheduleRecreatedEventLike] }>();
    const bridge = registerWarmScheduleMetrics(registry, keeper, {
      schedulers: ['warm-cycle', 'warm-pre-open'],
      triggers: ['reconnect', 'periodic'],
    });
    expect(await sample(registry, NAME, { scheduler: 'warm-pre-open', trigger: 'periodic' })).toBe(
      0,
    );

    keeper.emit('recreated', { scheduler: 'warm-cycle', trigger: 'reconnect' });
    keeper.emit('recreated', { scheduler: 'warm-cycle', trigger: 'reconnect' });
    keeper.emit('recreated', { scheduler: 'unknown-id', trigger: 'by-hand' });
    expect(await sample(registry, NAME, { scheduler: 'warm-cycle', trigger: 'reconnect' })).toBe(2);
    expect(await sample(registry, NAME, { scheduler: 'other', trigger: 'other' })).toBe(1);

    bridge.detach();
    keeper.emit('recreated', { scheduler: 'warm-cycle', trigger: 'reconnect' });
    expect(await sample(registry, NAME, { scheduler: 'warm-cycle', trigger: 'reconnect' })).toBe(2);
  });
});
