import { config as dotenvConfig } from 'dotenv';
import type { EnvShape, EnvOf } from './env-var.js';
import type { EnvDefinition, RawEnv } from './define-env.js';
import { ConfigError } from './config-error.js';

export interface LoadConfigOptions {
  /** The process environment; variables set here win over the .env file. @defaultValue process.env */
  readonly env?: RawEnv;
  /**
   * The .env file to read, or false to read none. A missing file is not an error.
   * @defaultValue '.env' in the working directory
   */
  readonly dotenvPath?: string | false;
}

/**
 * Reads the .env file (if any) under the real environment, then parses the
 * result with the app's definition. Throws {@link ConfigError} listing every
 * missing or invalid variable.
 *
 * dotenv runs with `quiet: true`: from version 17 it otherwise prints a line
 * to stdout, which would corrupt the JSON log stream.
 */
export function loadConfig<S extends EnvShape>(
  definition: EnvDefinition<S>,
  options: LoadConfigOptions = {},
): EnvOf<S> {
  const env: Record<string, string | undefined> = { ...(options.env ?? process.env) };
  if (options.dotenvPath !== false) {
    const { error } = dotenvConfig({
      path: options.dotenvPath ?? '.env',
      processEnv: env,
      quiet: true,
      override: false,
    });
    if (error && (error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`Could not read ${options.dotenvPath ?? '.env'}: ${error.message}`, {
        cause: error,
      });
    }
  }
  return definition.parse(env);
}

/**
 * For composition roots: {@link loadConfig}, and on a {@link ConfigError}
 * print its list of problems to stderr and exit 1 (an orchestrator shows the
 * message; restarting will not fix a typo, so there is no point in retrying).
 */
export function loadConfigOrExit<S extends EnvShape>(
  definition: EnvDefinition<S>,
  options: LoadConfigOptions & {
    /** @defaultValue process.exit */
    readonly exit?: (code: number) => never;
    /** @defaultValue process.stderr */
    readonly stderr?: { write(text: string): unknown };
  } = {},
): EnvOf<S> {
  try {
    return loadConfig(definition, options);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    (options.stderr ?? process.stderr).write(`${error.message}\n`);
    return (options.exit ?? process.exit)(1);
  }
}
