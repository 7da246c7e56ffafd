import { EventEmitter } from 'node:events';
import type { CacheEventName, CacheEventSource, CacheEvents } from '@fiml/cache';
import type { Registry } from 'prom-client';

/**
 * A real event source of the cache's port: a typed emitter carrying the
 * exact event objects a CacheManager emits.
 */
export class CacheEventBus implements CacheEventSource {
  readonly #emitter = new EventEmitter();
  on<E extends CacheEventName>(event: E, listener: CacheEvents[E]): this {
    this.#emitter.on(event, listener);
    return this;
  }
  off<E extends CacheEventName>(event: E, listener: CacheEvents[E]): this {
    this.#emitter.off(event, listener);
    return this;
  }
  emit<E extends CacheEventName>(event: E, payload: Parameters<CacheEvents[E]>[0]): void {
    this.#emitter.emit(event, payload);
  }
  listeners(): number {
    return this.#emitter.eventNames().reduce((n, e) => n + this.#emitter.listenerCount(e), 0);
  }
}

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
