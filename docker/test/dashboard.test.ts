// The Grafana dashboard and its provisioning, checked for what Grafana is not here to check (it is
// not packaged in Debian): the committed JSON is the generator's output, every panel queries the
// provisioned data source, the panels the deployment issue asks for are there, percentiles are
// aggregated across instances, and every metric a query names exists. The live test runs every
// query against a real Prometheus.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { DASHBOARD, dockerPath, readJson, readYaml, repoPath, run } from './support/files.js';
import { dashboardQueries, type Dashboard } from './support/dashboard.js';

const dashboard = readJson<Dashboard>(DASHBOARD);
const queries = dashboardQueries(dashboard);

describe('the Grafana dashboard', () => {
  it('is what docker/grafana/dashboard.mjs generates', () => {
    const { status, output } = run(process.execPath, [dockerPath('grafana/dashboard.mjs')]);
    expect(status).toBe(0);
    expect(JSON.parse(output)).toEqual(dashboard);
  });

  it('queries the data source Grafana provisions, by its uid', () => {
    const provisioned = readYaml<{ datasources: { uid: string; type: string; url: string }[] }>(
      dockerPath('grafana/provisioning/datasources/prometheus.yml'),
    ).datasources;
    expect(provisioned).toHaveLength(1);
    expect(provisioned[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    const uids = new Set(
      dashboard.panels.flatMap((p) => [
        p.datasource?.uid,
        ...(p.targets ?? []).map((t) => t.datasource?.uid),
      ]),
    );
    uids.delete(undefined); // rows
    expect([...uids]).toEqual([provisioned[0]!.uid]);
  });

  it('is provisioned from the folder compose mounts it in', () => {
    const providers = readYaml<{ providers: { options: { path: string } }[] }>(
      dockerPath('grafana/provisioning/dashboards/fiml-cache.yml'),
    ).providers;
    const compose = readFileSync(dockerPath('compose.yml'), 'utf8');
    expect(compose).toContain(`./grafana/dashboards:${providers[0]!.options.path}:ro`);
  });

  it('has the panels the deployment asks for', () => {
    const titles = dashboard.panels.map((p) => p.title);
    for (const title of [
      'Hit rate',
      'Hit rate by data type',
      'Hit ratio by level',
      'Read latency percentiles (all instances)',
      'L1 evictions by reason',
      'Cache sizes',
      'Upstream calls by provider and outcome',
      'Batch sizes',
      'Upstream calls saved by batching',
      'Queue depth',
      'Job wait p95',
      'Warming precision',
      'Keys warmed',
      'HTTP status rates',
    ]) {
      expect(titles).toContain(title);
    }
  });

  it('lays panels on the grid without overlaps and gives every panel a unique id', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const panel of dashboard.panels) {
      const { x, y, w, h } = panel.gridPos;
      expect(x + w).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          expect({ panel: panel.title, cell: `${i},${j}`, taken: cells.has(`${i},${j}`) }).toEqual({
            panel: panel.title,
            cell: `${i},${j}`,
            taken: false,
          });
          cells.add(`${i},${j}`);
        }
      }
    }
  });

  it('aggregates every percentile across instances: histogram_quantile over sum by (le, ...)', () => {
    const percentiles = queries.filter((q) => q.expr.includes('histogram_quantile'));
    expect(percentiles.length).toBeGreaterThan(5);
    for (const { expr } of percentiles) {
      expect(expr).toMatch(
        /^histogram_quantile\(0\.\d+, sum by \(le(, \w+)*\) \(rate\(\w+_bucket\[\$__rate_interval\]\)\)\)$/,
      );
    }
  });

  it('names only metrics that exist: documented in docs/METRICS.md, the api HTTP metrics, or Prometheus and Node.js built-ins', () => {
    const documented = readFileSync(repoPath('docs/METRICS.md'), 'utf8');
    const names = new Set(
      queries.flatMap((q) =>
        [...q.expr.matchAll(/\b(fiml_[a-z_]+|nodejs_[a-z_0-9]+|process_[a-z_]+)\b/g)].map(
          (m) => m[1]!,
        ),
      ),
    );
    const http = ['fiml_http_requests_total', 'fiml_http_request_duration_seconds_bucket'];
    for (const name of names) {
      const family = name.replace(/_(bucket|sum|count)$/, '');
      const known = documented.includes(family) || http.includes(name);
      expect({ name, known }).toEqual({ name, known: true });
    }
  });
});
