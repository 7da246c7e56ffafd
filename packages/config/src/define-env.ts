import { ConfigError, type ConfigProblem } from './config-error.js';
import type { EnvOf, EnvShape } from './env-var.js';
import { redactUrl } from './redact-url.js';

/** A process environment, or any map of variable names to raw strings. */
export type RawEnv = Readonly<Record<string, string | undefined>>;

/** The environment one app reads: its variables, and a parser that reports every problem. */
export interface EnvDefinition<S extends EnvShape> {
  /** The app's name as it appears in errors and docs ("api", "batch-scheduler"). */
  readonly app: string;
  readonly vars: S;
  /** Parses raw strings into typed config, or throws one {@link ConfigError} listing every problem. */
  parse(env: RawEnv): EnvOf<S>;
}

const MAX_SHOWN_VALUE = 80;

function showValue(name: string, raw: string, secret: boolean | undefined): string {
  if (secret) return '(value hidden)';
  const shown = /_URL$/.test(name) ? redactUrl(raw) : raw;
  const clipped = shown.length > MAX_SHOWN_VALUE ? `${shown.slice(0, MAX_SHOWN_VALUE)}…` : shown;
  return JSON.stringify(clipped);
}

export function defineEnv<S extends EnvShape>(app: string, vars: S): EnvDefinition<S> {
  return {
    app,
    vars,
    parse(env: RawEnv): EnvOf<S> {
      const out: Record<string, unknown> = {};
      const problems: ConfigProblem[] = [];
      for (const [name, spec] of Object.entries(vars)) {
        const given = env[name];
        // An empty variable (FOO=) means "unset" in every shell and compose file.
        const raw = given === undefined || given.trim() === '' ? spec.default : given.trim();
        if (raw === undefined) {
          problems.push({
            variable: name,
            problem: 'is required but not set',
            expected: spec.expected,
          });
          continue;
        }
        const result = spec.schema.safeParse(raw);
        if (result.success) {
          out[name] = result.data;
        } else {
          const reason = result.error.issues[0]?.message ?? 'invalid';
          problems.push({
            variable: name,
            problem: `${showValue(name, raw, spec.secret)} is invalid (${reason})`,
            expected: spec.expected,
          });
        }
      }
      if (problems.length > 0) throw new ConfigError(app, problems);
      return out as EnvOf<S>;
    },
  };
}
