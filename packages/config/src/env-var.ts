import type { z } from 'zod';

/** What an operator needs to know about one environment variable. */
export interface EnvVarDoc {
  /** One sentence: what the variable controls. */
  readonly description: string;
  /** The accepted form, as a person would say it: "integer 1-65535", "redis:// URL". */
  readonly expected: string;
  /** The value used when the variable is unset or empty. Absent means required. */
  readonly default?: string;
  /** Values of secret variables never appear in errors or logs. */
  readonly secret?: boolean;
}

/** One environment variable: how to parse its string and how to document it. */
export interface EnvVar<T> extends EnvVarDoc {
  readonly schema: z.ZodType<T>;
}

/**
 * Declares an environment variable. The schema receives the raw string (the
 * default when the variable is unset or empty) and returns the typed value.
 */
export function envVar<T>(schema: z.ZodType<T>, doc: EnvVarDoc): EnvVar<T> {
  return { schema, ...doc };
}

/** A map from variable name to its declaration. */
export type EnvShape = Readonly<Record<string, EnvVar<unknown>>>;

/** The typed configuration an {@link EnvShape} parses into. */
export type EnvOf<S extends EnvShape> = {
  readonly [K in keyof S]: S[K] extends EnvVar<infer T> ? T : never;
};
