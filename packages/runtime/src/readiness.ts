import { Gauge, type Registry } from 'prom-client';

/** The outcome of one dependency check (a Redis role, say). */
export interface CheckResult {
  readonly ok: boolean;
  readonly latencyMs?: number;
  readonly error?: string;
}

/** What /readyz reports: ready only when every check passes. */
export interface ReadinessReport {
  readonly ok: boolean;
  readonly checks: Readonly<Record<string, CheckResult>>;
}

export type ReadinessCheck = () => Promise<CheckResult>;

/** Runs every check concurrently; a check that throws counts as failed, never as a crash. */
export async function checkReadiness(
  checks: Readonly<Record<string, ReadinessCheck>>,
): Promise<ReadinessReport> {
  const names = Object.keys(checks);
  const results = await Promise.all(
    names.map(async (name): Promise<CheckResult> => {
      try {
        return await checks[name]!();
      } catch (error) {
        return { ok: false, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
  const byName: Record<string, CheckResult> = {};
  names.forEach((name, i) => (byName[name] = results[i]!));
  return { ok: results.every((r) => r.ok), checks: byName };
}

/**
 * Registers fiml_readiness_check{check}: 1 while a readiness check passes, 0
 * while it fails, each evaluated at scrape time. It shows a degraded process
 * (one that stays ready without a dependency) on a dashboard and in alerts.
 */
export function registerReadinessMetrics(
  registry: Registry,
  checks: Readonly<Record<string, ReadinessCheck>>,
): void {
  new Gauge({
    name: 'fiml_readiness_check',
    help: 'Whether each readiness check of the process passes (1) or fails (0), evaluated at scrape.',
    labelNames: ['check'],
    registers: [registry],
    async collect() {
      const report = await checkReadiness(checks);
      for (const [check, result] of Object.entries(report.checks)) {
        this.set({ check }, result.ok ? 1 : 0);
      }
    },
  });
}
