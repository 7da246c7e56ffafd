/** A benchmark setting from the environment: its trimmed value, or `fallback` when unset or blank. */
export function env(name: string, fallback: string): string {
  const value = process.env[name]?.trim();
  return value ? value : fallback;
}

/** An integer setting of at least `min`; anything else ends the run with exit code 2 and says why. */
export function intEnv(name: string, fallback: number, min: number): number {
  const value = Number(env(name, String(fallback)));
  if (!Number.isInteger(value) || value < min) {
    console.error(`${name} must be an integer >= ${min}, got ${process.env[name]}`);
    process.exit(2);
  }
  return value;
}
