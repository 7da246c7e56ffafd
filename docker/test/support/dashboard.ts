// The parts of a Grafana dashboard JSON the tests read, and its queries as Prometheus would run
// them.

export interface Target {
  readonly refId: string;
  readonly expr: string;
  readonly legendFormat?: string;
  readonly datasource?: { readonly uid: string };
}
export interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: {
    readonly x: number;
    readonly y: number;
    readonly w: number;
    readonly h: number;
  };
  readonly datasource?: { readonly uid: string };
  readonly targets?: readonly Target[];
}
export interface Dashboard {
  readonly uid: string;
  readonly panels: readonly Panel[];
  readonly annotations: {
    readonly list: readonly { readonly name: string; readonly expr: string }[];
  };
}

export interface PanelQuery {
  readonly panel: string;
  readonly refId: string;
  readonly legend: string | undefined;
  readonly expr: string;
}

/** Every query of every panel, as written in the dashboard. */
export function dashboardQueries(dashboard: Dashboard): PanelQuery[] {
  return dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      panel: panel.title,
      refId: target.refId,
      legend: target.legendFormat,
      expr: target.expr,
    })),
  );
}

/**
 * A query as Grafana sends it to Prometheus: its variables replaced. `$__rate_interval` becomes
 * `rateInterval` (Grafana derives it from the scrape interval and the zoom; tests pick a window
 * that spans their traffic).
 */
export function expandGrafanaVariables(expr: string, rateInterval: string): string {
  const expanded = expr.replace(/\$__rate_interval/g, rateInterval);
  const left = /\$\w+/.exec(expanded);
  if (left)
    throw new Error(`query uses a variable the test does not expand: ${left[0]} in ${expr}`);
  return expanded;
}
