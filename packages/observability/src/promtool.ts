import { spawn, spawnSync } from 'node:child_process';

/**
 * `promtool check metrics` from Node: lints a /metrics exposition the way
 * Prometheus's own tool does (naming rules, _total on counters, units,
 * HELP/TYPE lines). For tests and CI; promtool ships in Debian's
 * `prometheus` package.
 */

/** What promtool said about an exposition. */
export interface PromtoolResult {
  /** promtool's exit status: 0 clean, 3 lint problems, 1 unparsable input. */
  readonly exitCode: number | null;
  /** One entry per problem line promtool printed (empty when clean). */
  readonly problems: readonly string[];
}

/**
 * The promtool binary: $PROMTOOL if set, else `promtool` found on PATH;
 * undefined when there is none (callers skip, saying so).
 */
export function findPromtool(): string | undefined {
  const candidate = process.env.PROMTOOL ?? 'promtool';
  const probe = spawnSync(candidate, ['--version'], { stdio: 'ignore' });
  return probe.error || probe.status !== 0 ? undefined : candidate;
}

/** Pipes an exposition to `promtool check metrics`. */
export function checkMetrics(exposition: string, promtool: string): Promise<PromtoolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(promtool, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (exitCode) =>
      resolve({
        exitCode,
        problems: output
          .split('\n')
          .map((line) => line.trim())
          .filter(Boolean),
      }),
    );
    child.stdin.end(exposition);
  });
}

/**
 * The value of one sample in a text exposition, matching the given labels
 * whatever their order (prom-client prints histogram default labels first);
 * undefined when there is none.
 */
export function readSample(
  exposition: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = new Map(
      [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(
        (m) => [m[1]!, m[2]!] as const,
      ),
    );
    if (Object.entries(labels).every(([k, v]) => found.get(k) === v)) return Number(match[3]);
  }
  return undefined;
}
