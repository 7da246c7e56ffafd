import type { EnvDefinition } from './define-env.js';
import type { EnvShape } from './env-var.js';

export const GENERATED_BEGIN = '<!-- BEGIN GENERATED: variables (pnpm docs:config) -->';
export const GENERATED_END = '<!-- END GENERATED: variables -->';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function table(vars: readonly (readonly [string, EnvShape[string]])[]): string[] {
  const rows = ['| Variable | Default | Expected | Meaning |', '|---|---|---|---|'];
  for (const [name, spec] of vars) {
    const def = spec.default === undefined ? '**required**' : `\`${cell(spec.default)}\``;
    rows.push(`| \`${name}\` | ${def} | ${cell(spec.expected)} | ${cell(spec.description)} |`);
  }
  return rows;
}

/**
 * The variables section of docs/CONFIGURATION.md, rendered from the schemas
 * themselves so the page cannot drift from the code: first the variables
 * every process shares (the same declaration in every app), then each app's own.
 */
export function renderVariablesSection(envs: readonly EnvDefinition<EnvShape>[]): string {
  const [first, ...rest] = envs;
  if (!first) return `${GENERATED_BEGIN}\n${GENERATED_END}`;
  const shared = Object.entries(first.vars).filter(([name, spec]) =>
    rest.every((env) => env.vars[name] === spec),
  );
  const sharedNames = new Set(shared.map(([name]) => name));
  const parts: string[] = [GENERATED_BEGIN, '', '### Every process', '', ...table(shared)];
  for (const env of envs) {
    const own = Object.entries(env.vars).filter(([name]) => !sharedNames.has(name));
    parts.push('', `### ${env.app}`, '', ...table(own));
  }
  parts.push('', GENERATED_END);
  return parts.join('\n');
}
/** Replaces the generated section of a document, keeping the hand-written prose around it. */
export function replaceVariablesSection(doc: string, section: string): string {
  const begin = doc.indexOf(GENERATED_BEGIN);
  const end = doc.indexOf(GENERATED_END);
  if (begin === -1 || end === -1 || end < begin) {
    throw new Error(`The document has no ${GENERATED_BEGIN} … ${GENERATED_END} markers.`);
  }
  return doc.slice(0, begin) + section + doc.slice(end + GENERATED_END.length);
}
