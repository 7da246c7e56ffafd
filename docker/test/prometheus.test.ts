// The Prometheus configuration and alert rules, checked by Prometheus's own tool (promtool, from
// Debian's prometheus package; .ci/run installs it) and against the runbook they link to.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import {
  ALERT_RULES,
  ALERT_RULE_TESTS,
  PROMETHEUS_CONFIG,
  findBinary,
  headingAnchors,
  readYaml,
  repoPath,
  run,
} from './support/files.js';

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: AlertRule[] }[];
}
interface RuleTests {
  rule_files: string[];
  tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

const rules = readYaml<RuleFile>(ALERT_RULES).groups.flatMap((g) => g.rules);

/** The alerts the issue asks for, by what they watch. */
const REQUIRED = {
  'hit rate low': 'FimlCacheHitRateLow',
  'read p99 high': 'FimlReadLatencyHigh',
  'refresh backlog growing': 'FimlRefreshBacklogGrowing',
  'failed jobs': 'FimlJobsFailed',
  'upstream 429 rate': 'FimlUpstreamRateLimited',
  'budget refusals': 'FimlProviderBudgetExhausted',
  'warming precision low': 'FimlWarmingPrecisionLow',
  'a process down': 'FimlProcessDown',
  'cache Redis errors': 'FimlCacheRedisErrors',
  'circuit open': 'FimlCacheCircuitOpen',
};

const promtool = findBinary('PROMTOOL', 'promtool');
if (!promtool) {
  process.stdout.write(
    'promtool not found (Debian package "prometheus"; .ci/run installs it): skipping promtool check config / check rules / test rules\n',
  );
}

(promtool ? describe : describe.skip)('promtool', () => {
  it('accepts the Prometheus configuration, with the rule files it loads', () => {
    const { status, output } = run(promtool!, ['check', 'config', PROMETHEUS_CONFIG]);
    expect(output).toContain('SUCCESS: 1 rule files found');
    expect(status).toBe(0);
  });

  it('accepts the alert rules', () => {
    const { status, output } = run(promtool!, ['check', 'rules', ALERT_RULES]);
    expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(status).toBe(0);
  });

  it('passes the alert rules unit tests', () => {
    const { status, output } = run(promtool!, ['test', 'rules', ALERT_RULE_TESTS]);
    expect(output).toContain('SUCCESS');
    expect(status).toBe(0);
  });
});

describe('the alert rules', () => {
  it('cover every alert the deployment issue asks for', () => {
    const names = rules.map((r) => r.alert);
    for (const name of Object.values(REQUIRED)) expect(names).toContain(name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('each have a severity, a `for`, a summary, a description and a runbook section that exists', () => {
    const runbook = headingAnchors(readFileSync(repoPath('docs/OPERATIONS.md'), 'utf8'));
    for (const rule of rules) {
      expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({
        alert: rule.alert,
        severity: expect.stringMatching(/^(info|warning|critical)$/),
      });
      expect({ alert: rule.alert, for: rule.for }).toEqual({
        alert: rule.alert,
        for: expect.stringMatching(/^\d+[smh]$/),
      });
      expect(rule.annotations?.summary).toBeTruthy();
      expect(rule.annotations?.description).toBeTruthy();
      const link = /^docs\/OPERATIONS\.md#(.+)$/.exec(rule.annotations?.runbook_url ?? '');
      expect({ alert: rule.alert, runbook: link?.[1] }).toEqual({
        alert: rule.alert,
        runbook: rule.alert.toLowerCase(),
      });
      expect({ alert: rule.alert, sectionExists: runbook.has(link![1]!) }).toEqual({
        alert: rule.alert,
        sectionExists: true,
      });
    }
  });

  it('each have a unit test in which they fire', () => {
    const tests = readYaml<RuleTests>(ALERT_RULE_TESTS);
    expect(tests.rule_files).toEqual(['../rules/fiml-alerts.yml']);
    const firing = new Set(
      tests.tests
        .flatMap((t) => t.alert_rule_test ?? [])
        .filter((t) => t.exp_alerts.length > 0)
        .map((t) => t.alertname),
    );
    for (const rule of rules)
      expect({ alert: rule.alert, tested: firing.has(rule.alert) }).toEqual({
        alert: rule.alert,
        tested: true,
      });
  });
});
