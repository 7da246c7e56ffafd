// A real Prometheus server (Debian's `prometheus` binary) for the live test: the repository's
// prometheus.yml with its targets pointed at local processes, a short scrape and evaluation
// interval, its data in a temporary directory; and its HTTP API.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { waitFor } from '@fiml/testing';
import { ALERT_RULES, PROMETHEUS_CONFIG, readYaml } from './files.js';

interface ScrapeConfig {
  job_name: string;
  dns_sd_configs?: { names: string[]; port: number }[];
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  scrape_interval?: string;
  [key: string]: unknown;
}
interface PrometheusConfig {
  global: Record<string, string>;
  rule_files: string[];
  scrape_configs: ScrapeConfig[];
}
interface RuleFile {
  groups: { name: string; rules: Record<string, unknown>[] }[];
}

/**
 * The repository's configuration as the test runs it: each DNS name becomes a static target on
 * 127.0.0.1 with the port the test gave that service, labelled `__meta_dns_name` as DNS service
 * discovery would label it, so the repository's relabelling (which sets `service`) runs
 * unchanged. Only the intervals, the targets and the rule file paths differ.
 */
export function testConfig(
  ports: Readonly<Record<string, number>>,
  ruleFile: string,
  intervalSeconds: number,
): PrometheusConfig {
  const config = readYaml<PrometheusConfig>(PROMETHEUS_CONFIG);
  const interval = `${intervalSeconds}s`;
  config.global = {
    ...config.global,
    scrape_interval: interval,
    scrape_timeout: interval,
    evaluation_interval: interval,
  };
  config.rule_files = [ruleFile];
  for (const job of config.scrape_configs) {
    if (job.scrape_interval) job.scrape_interval = interval;
    job.static_configs = (job.dns_sd_configs ?? []).map((sd) => {
      const name = sd.names[0]!;
      const port = ports[name];
      if (port === undefined) throw new Error(`the test runs no ${name} (from ${job.job_name})`);
      return { targets: [`127.0.0.1:${port}`], labels: { __meta_dns_name: name } };
    });
    delete job.dns_sd_configs;
  }
  return config;
}

/**
 * The repository's alert rules with every `for` set to 0s: the live test runs for a minute, not
 * for the quarter hours the rules wait in production (promtool's unit tests check the `for`s).
 * Expressions, labels and annotations are the repository's, byte for byte.
 */
export function rulesWithoutFor(): RuleFile {
  const rules = readYaml<RuleFile>(ALERT_RULES);
  for (const group of rules.groups) for (const rule of group.rules) rule.for = '0s';
  return rules;
}

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}
export interface PromAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly state: 'pending' | 'firing';
}
export interface PromRule {
  readonly name: string;
  readonly type: string;
  readonly health: string;
  readonly lastError?: string;
  readonly query: string;
}

export interface PrometheusServer {
  readonly url: string;
  /** An instant query; rejects with Prometheus's error for a query it refuses. */
  query(expr: string): Promise<PromSample[]>;
  alerts(): Promise<PromAlert[]>;
  rules(): Promise<PromRule[]>;
  stop(): Promise<void>;
}

async function api<T>(url: string): Promise<T> {
  const response = await fetch(url);
  const body = (await response.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? response.status}`);
  return body.data;
}

export async function startPrometheus(options: {
  binary: string;
  port: number;
  ports: Readonly<Record<string, number>>;
  intervalSeconds: number;
}): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'fiml-prometheus-'));
  const ruleFile = join(dir, 'fiml-alerts.yml');
  writeFileSync(ruleFile, stringify(rulesWithoutFor()));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(
    configFile,
    stringify(testConfig(options.ports, ruleFile, options.intervalSeconds)),
  );
  const child: ChildProcess = spawn(
    options.binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${options.port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${options.port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const state = await waitFor(
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) return 'exited';
      return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok ? 'ready' : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 100, description: 'prometheus ready' },
  ).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  if (state === 'exited') {
    await stop();
    throw new Error(`prometheus exited at start:\n${output}`);
  }
  return {
    url,
    query: async (expr) =>
      (
        await api<{ resultType: string; result: PromSample[] }>(
          `${url}/api/v1/query?query=${encodeURIComponent(expr)}`,
        )
      ).result,
    alerts: async () => (await api<{ alerts: PromAlert[] }>(`${url}/api/v1/alerts`)).alerts,
    rules: async () =>
      (await api<{ groups: { rules: PromRule[] }[] }>(`${url}/api/v1/rules`)).groups.flatMap(
        (g) => g.rules,
      ),
    stop,
  };
}
