import type { Registry } from 'prom-client';

export { CacheEventBus } from '@fiml/cache/testing';

/** The value of one series (a counter, a gauge, or a histogram's _count/_sum/_bucket). */
export async function sample(
  registry: Registry,
  metricName: string,
  labels: Record<string, string | number> = {},
): Promise<number | undefined> {
  const families = await registry.getMetricsAsJSON();
  for (const family of families) {
    for (const value of family.values) {
      const name = (value as { metricName?: string }).metricName ?? family.name;
      if (name !== metricName) continue;
      const matches = Object.entries(labels).every(
        ([k, v]) => String((value.labels as Record<string, unknown>)[k]) === String(v),
      );
      if (matches) return value.value;
    }
  }
  return undefined;
}

/** Metric family names in a registry, sorted. */
export async function families(registry: Registry): Promise<string[]> {
  return (await registry.getMetricsAsJSON()).map((f) => f.name).sort();
}

export { capturingLogger } from '@fiml/runtime/testing';
