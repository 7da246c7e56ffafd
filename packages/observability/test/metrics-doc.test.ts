import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { ProviderCallEvent } from '@fiml/providers';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  BatchSchedulerSource,
  CacheWriteEventLike,
  CountedQueue,
  TimedWorker,
  WarmRunEventLike,
  UpstreamRefusalEventLike,
  WarmScheduleRecreatedEventLike,
  WarmTotalsEventLike,
} from '../src/index.js';
import { findPromtool } from '@fiml/observability/promtool';
import type { AccessDropEvent } from '@fiml/cache';
import {
  registerAccessMetrics,
  registerBatchMetrics,
  registerCacheMetrics,
  registerCacheWriteMetrics,
  registerProviderMetrics,
  registerQueueMetrics,
  registerWarmMetrics,
  registerWarmScheduleMetrics,
  registerAcceptQueueMetric,
  registerHttpMetrics,
  registerUpstreamRefusalMetrics,
} from '../src/index.js';
import { createMetricsRegistry, registerReadinessMetrics } from '@fiml/runtime';
import { CacheEventBus } from './metrics-helpers.js';

/** docs/METRICS.md must describe exactly the families the bridges register, as they are. */
const doc = readFileSync(join(__dirname, '../../../docs/METRICS.md'), 'utf8');

/** `### name` sections with their Type and Labels lines. */
function documented(): Map<string, { type: string; labels: string[] }> {
  const out = new Map<string, { type: string; labels: string[] }>();
  for (const section of doc.split(/^### /m).slice(1)) {
    const name = section.slice(0, section.indexOf('\n')).trim();
    const type = /^- Type: (\w+)/m.exec(section)?.[1] ?? '';
    const labelLine = /^- Labels: (.*(?:\n {2}.*)*)/m.exec(section)?.[1] ?? '';
    const labels = [...labelLine.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
    out.set(name, { type, labels: labels.sort() });
  }
  return out;
}

/** Every family, with every optional source attached. */
async function everyFamily(): Promise<Map<string, { type: string; labels: string[] }>> {
  const registry = createMetricsRegistry({ service: 'doc', defaultMetrics: false });
  registerCacheMetrics(registry, new CacheEventBus(), {
    sizes: () => ({}),
    hitRates: () => ({}),
  });
  registerProviderMetrics(registry, new EventEmitter<{ call: [ProviderCallEvent] }>());
  registerCacheWriteMetrics(registry, new EventEmitter<{ write: [CacheWriteEventLike] }>());
  registerAccessMetrics(registry, new EventEmitter<{ drop: [AccessDropEvent] }>());
  registerWarmMetrics(
    registry,
    new EventEmitter<{ run: [WarmRunEventLike]; totals: [WarmTotalsEventLike] }>(),
  );
  registerWarmScheduleMetrics(
    registry,
    new EventEmitter<{ recreated: [WarmScheduleRecreatedEventLike] }>(),
    { schedulers: ['warm-cycle'], triggers: ['reconnect', 'periodic'] },
  );
  registerHttpMetrics(registry).route('/v1/data/:dataType/:symbol').record('GET', 200, 0.001);
  registerAcceptQueueMetric(registry, () => undefined);
  registerUpstreamRefusalMetrics(
    registry,
    new EventEmitter<{ refused: [UpstreamRefusalEventLike] }>(),
  );
  registerReadinessMetrics(registry, { cacheRedis: () => Promise.resolve({ ok: true }) });
  const queue: CountedQueue = { name: 'refresh', getJobCounts: () => Promise.resolve({}) };
  const worker = Object.assign(new EventEmitter(), { name: 'refresh' });
  registerQueueMetrics(registry, {
    queues: [queue],
    workers: [worker as unknown as TimedWorker],
  });
  // The batch-scheduler's registry: fiml_batch_size is also the api's (keys per
  // read-through fetch), so the two bridges never share a registry.
  const scheduler = createMetricsRegistry({ service: 'doc', defaultMetrics: false });
  const events: BatchSchedulerSource = Object.assign(new EventEmitter(), {
    pendingKeys: () => Promise.resolve([]),
  });
  registerBatchMetrics(scheduler, events, { providers: [] });

  const out = new Map<string, { type: string; labels: string[] }>();
  for (const r of [registry, scheduler]) {
    for (const family of await r.getMetricsAsJSON()) {
      const metric = r.getSingleMetric(family.name) as unknown as { labelNames: string[] };
      const shape = { type: String(family.type), labels: [...metric.labelNames].sort() };
      // One doc section per family: a family two bridges export must have one shape.
      if (out.has(family.name)) expect(shape).toEqual(out.get(family.name));
      out.set(family.name, shape);
    }
  }
  return out;
}

describe('docs/METRICS.md', () => {
  it('documents every metric family with its type and labels, and nothing else', async () => {
    const actual = await everyFamily();
    const written = documented();
    expect([...written.keys()].sort()).toEqual([...actual.keys()].sort());
    for (const [name, family] of actual)
      expect({ name, ...written.get(name) }).toEqual({ name, ...family });
  });

  const promtool = findPromtool();
  (promtool ? it : it.skip)('gives PromQL examples that parse (promtool check rules)', () => {
    const examples = [...doc.matchAll(/```promql\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
    expect(examples.length).toBeGreaterThanOrEqual(documented().size);
    const dir = mkdtempSync(join(tmpdir(), 'fiml-promql-'));
    try {
      const rules = examples
        .map(
          (expr, i) =>
            `      - record: fiml:doc_example_${i}\n        expr: ${JSON.stringify(expr)}`,
        )
        .join('\n');
      const file = join(dir, 'rules.yml');
      writeFileSync(file, `groups:\n  - name: metrics-doc\n    rules:\n${rules}\n`);
      const result = spawnSync(promtool!, ['check', 'rules', file], { encoding: 'utf8' });
      expect({ status: result.status, output: result.stdout + result.stderr }).toMatchObject({
        status: 0,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
