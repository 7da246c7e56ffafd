// docker/compose.yml as Compose reads it: parsed (anchors merged), then every value interpolated
// from the environment given (here: the defaults, plus placeholders for the required secrets).
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { COMPOSE_FILE, interpolateValues } from './files.js';

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  command?: string[];
  environment?: Record<string, string | number | boolean>;
  ports?: { target: number; published: string; host_ip: string }[];
  volumes?: string[];
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }> | string[];
  stop_grace_period?: string;
  container_name?: string;
}
export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

/** The variables a deployment must set (no default on purpose), with placeholder values. */
export const REQUIRED_VARS: Readonly<Record<string, string>> = {
  GRAFANA_ADMIN_PASSWORD: 'not-a-real-password',
};

export const composeText = (): string => readFileSync(COMPOSE_FILE, 'utf8');
export const parseCompose = (): ComposeFile => parse(composeText(), { merge: true }) as ComposeFile;

/** The compose file with its variables at their defaults. */
export function loadCompose(vars: Readonly<Record<string, string>> = REQUIRED_VARS): ComposeFile {
  return interpolateValues(parseCompose(), vars);
}

/** `--name value` pairs of a redis-server command line, by name. */
export function redisFlags(service: ComposeService): Record<string, string> {
  const [binary, ...args] = service.command ?? [];
  if (binary !== 'redis-server') throw new Error(`not a redis-server command: ${binary}`);
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i += 2) {
    flags[args[i]!.replace(/^--/, '')] = String(args[i + 1]);
  }
  return flags;
}

/** A service's environment as strings, the way the process sees it. */
export function serviceEnv(service: ComposeService): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([name, value]) => [name, String(value)]),
  );
}
