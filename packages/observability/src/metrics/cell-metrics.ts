import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * Metrics for the hot path: each series is a cell of plain numbers that a
 * caller holds and adds to, and prom-client reads the cells only when
 * /metrics is scraped. prom-client's own `inc`/`observe` (on a labelled
 * child too) build a label object and hash it on every call: at tens of
 * thousands of reads a second that was a few per cent of the api's CPU.
 * The families are prom-client metrics all the same (registered, typed,
 * reset and rendered by the registry).
 */

/** One counter series. */
export interface CounterCell {
  inc(by?: number): void;
}

/** One histogram series. */
export interface HistogramCell {
  observe(value: number): void;
}

interface Family<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
}

type Labels<L extends string> = Readonly<Record<L, string>>;

/** The series of a family by their labels: made at first use, the same cell after. */
function cellsByLabels<L extends string, C>(
  labelNames: readonly L[],
  make: (labels: Labels<L>) => C,
) {
  const cells = new Map<string, C>();
  return (labels: Labels<L>): C => {
    const id = labelNames.map((name) => labels[name]).join('\u0000');
    let cell = cells.get(id);
    if (cell === undefined) {
      cell = make({ ...labels });
      cells.set(id, cell);
    }
    return cell;
  };
}

/**
 * A counter family whose series are cells. Returns the cell of a label set
 * (look it up once, keep it): `cell(labels).inc()` costs an addition.
 */
export function cellCounter<L extends string>(
  registry: Registry,
  family: Family<L>,
): (labels: Labels<L>) => CounterCell {
  const series: { labels: Labels<L>; value: number }[] = [];
  type CounterData = Awaited<ReturnType<Counter<L>['get']>>;
  class CellCounter extends Counter<L> {
    override get(): Promise<CounterData> {
      return Promise.resolve({
        name: family.name,
        help: family.help,
        type: 'counter',
        aggregator: 'sum',
        values: series.map(({ labels, value }) => ({ labels, value })),
      } as unknown as CounterData);
    }
    override reset(): void {
      for (const s of series) s.value = 0;
    }
  }
  new CellCounter({ ...family, labelNames: [...family.labelNames], registers: [registry] });
  return cellsByLabels(family.labelNames, (labels) => {
    const s = { labels, value: 0 };
    series.push(s);
    return {
      inc(by = 1) {
        s.value += by;
      },
    };
  });
}

/**
 * A histogram family whose series are cells: `cell(labels).observe(v)`
 * finds v's bucket and adds to two numbers. Buckets are sorted here.
 */
export function cellHistogram<L extends string>(
  registry: Registry,
  family: Family<L> & { readonly buckets: readonly number[] },
): (labels: Labels<L>) => HistogramCell {
  const bounds = [...family.buckets].sort((a, b) => a - b);
  interface Series {
    readonly labels: Labels<L>;
    /** Observations per bucket (not cumulative); the last slot is above the largest bound. */
    readonly buckets: Float64Array;
    sum: number;
    count: number;
  }
  const series: Series[] = [];
  type HistogramData = Awaited<ReturnType<Histogram<L>['get']>>;
  class CellHistogram extends Histogram<L> {
    override get(): Promise<HistogramData> {
      const bucket = `${family.name}_bucket`;
      const values: { labels: object; value: number; metricName: string }[] = [];
      for (const s of series) {
        let cumulative = 0;
        bounds.forEach((le, i) => {
          cumulative += s.buckets[i]!;
          values.push({ labels: { ...s.labels, le }, value: cumulative, metricName: bucket });
        });
        values.push(
          { labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: bucket },
          { labels: s.labels, value: s.sum, metricName: `${family.name}_sum` },
          { labels: s.labels, value: s.count, metricName: `${family.name}_count` },
        );
      }
      return Promise.resolve({
        name: family.name,
        help: family.help,
        type: 'histogram',
        aggregator: 'sum',
        values,
      } as unknown as HistogramData);
    }
    /** The registry renders text from this when a metric has it (prom-client's Histogram does). */
    getForPromString(): Promise<HistogramData> {
      return this.get();
    }
    override reset(): void {
      for (const s of series) {
        s.buckets.fill(0);
        s.sum = 0;
        s.count = 0;
      }
    }
  }
  new CellHistogram({
    ...family,
    labelNames: [...family.labelNames],
    buckets: bounds,
    registers: [registry],
  });
  return cellsByLabels(family.labelNames, (labels) => {
    const s: Series = { labels, buckets: new Float64Array(bounds.length + 1), sum: 0, count: 0 };
    series.push(s);
    return {
      observe(value) {
        if (!(value >= 0)) return;
        let i = 0;
        while (i < bounds.length && value > bounds[i]!) i += 1;
        s.buckets[i]! += 1;
        s.sum += value;
        s.count += 1;
      },
    };
  });
}
