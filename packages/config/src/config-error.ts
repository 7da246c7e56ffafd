/** One variable that is missing or invalid. */
export interface ConfigProblem {
  readonly variable: string;
  /** What is wrong, without the secret value when the variable is secret. */
  readonly problem: string;
  /** The accepted form, from the variable's documentation. */
  readonly expected: string;
}

/**
 * Thrown at start-up when the environment does not parse. It lists every bad
 * variable at once, so an operator fixes the deployment in one round, not one
 * restart per typo.
 */
export class ConfigError extends Error {
  readonly code = 'FIML_CONFIG_INVALID';
  readonly app: string;
  readonly problems: readonly ConfigProblem[];

  constructor(app: string, problems: readonly ConfigProblem[]) {
    const lines = problems.map((p) => `  - ${p.variable}: ${p.problem}; expected ${p.expected}`);
    const noun = problems.length === 1 ? 'variable' : 'variables';
    super(
      `Invalid configuration for ${app}: ${problems.length} ${noun} to fix.\n${lines.join('\n')}\n` +
        'See docs/CONFIGURATION.md for every variable, its default and meaning.',
    );
    this.name = 'ConfigError';
    this.app = app;
    this.problems = problems;
  }
}
