// Paths and file readers the deployment tests share: where the repository's files are, YAML
// parsing, Compose-style variable interpolation, and finding Debian's Prometheus binaries.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const DOCKER_DIR = join(__dirname, '../..');
export const REPO_ROOT = join(DOCKER_DIR, '..');
export const repoPath = (...parts: string[]): string => join(REPO_ROOT, ...parts);
export const dockerPath = (...parts: string[]): string => join(DOCKER_DIR, ...parts);

export const PROMETHEUS_CONFIG = dockerPath('prometheus/prometheus.yml');
export const ALERT_RULES = dockerPath('prometheus/rules/fiml-alerts.yml');
export const ALERT_RULE_TESTS = dockerPath('prometheus/tests/fiml-alerts.test.yml');
export const COMPOSE_FILE = dockerPath('compose.yml');
export const DOCKERFILE = dockerPath('Dockerfile');
export const DASHBOARD = dockerPath('grafana/dashboards/fiml-cache.json');

export function readYaml<T = unknown>(path: string): T {
  // merge: true resolves `<<: *anchor` keys the way Compose does.
  return parse(readFileSync(path, 'utf8'), { merge: true }) as T;
}

export function readJson<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** The processes of fiml-cache, as APP of the Dockerfile and service names of the compose file. */
export const APPS = ['api', 'batch-scheduler', 'warmer'] as const;
export type AppName = (typeof APPS)[number];

/**
 * Compose's interpolation of `${VAR}`, `${VAR:-default}`, `${VAR-default}` and `${VAR:?error}`
 * from `vars`, with `$$` as a literal `$`. Throws, naming the variable, where Compose would.
 */
export function interpolate(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g,
    (match, name: string | undefined, colon: string, op: string | undefined, arg: string) => {
      if (match === '$$') return '$';
      const value = vars[name!];
      const unset = value === undefined || (colon === ':' && value === '');
      if (op === '-') return unset ? arg : value;
      if (op === '?') {
        if (unset) throw new Error(`compose: ${name!} is required: ${arg}`);
        return value;
      }
      return value ?? '';
    },
  );
}

/** {@link interpolate} over every string of a parsed Compose file, as Compose does after parsing. */
export function interpolateValues<T>(value: T, vars: Readonly<Record<string, string>>): T {
  if (typeof value === 'string') return interpolate(value, vars) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => interpolateValues(v, vars)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolateValues(v, vars)]),
    ) as T;
  }
  return value;
}

/** The binary $VARIABLE names, else `name` on PATH; undefined when it does not run. */
export function findBinary(variable: string, name: string): string | undefined {
  const candidate = process.env[variable] ?? name;
  const probe = spawnSync(candidate, ['--version'], { stdio: 'ignore' });
  return probe.error || probe.status !== 0 ? undefined : candidate;
}

/** Runs a command to completion; its exit status and everything it printed. */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): { status: number | null; output: string } {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? DOCKER_DIR,
    encoding: 'utf8',
    timeout: 60_000,
    ...(options.env ? { env: { PATH: process.env.PATH ?? '', ...options.env } } : {}),
  });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const line of markdown.split('\n')) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    anchors.add(
      heading[1]!
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    );
  }
  return anchors;
}
