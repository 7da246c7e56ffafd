import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  GENERATED_BEGIN,
  GENERATED_END,
  renderVariablesSection,
  replaceVariablesSection,
} from '@fiml/config';
import { allEnvs } from '../config-doc/app-envs.js';

const docPath = join(__dirname, '../../docs/CONFIGURATION.md');

describe('docs/CONFIGURATION.md', () => {
  const doc = readFileSync(docPath, 'utf8');

  it('documents exactly the variables the schemas read, with their defaults (run `pnpm docs:config` to fix)', () => {
    const expected = renderVariablesSection(allEnvs);
    const actual = doc.slice(
      doc.indexOf(GENERATED_BEGIN),
      doc.indexOf(GENERATED_END) + GENERATED_END.length,
    );
    expect(actual).toBe(expected);
  });

  it('mentions every variable of every app', () => {
    for (const env of allEnvs) {
      for (const name of Object.keys(env.vars)) expect(doc).toContain(`\`${name}\``);
    }
  });

  it('keeps the prose around the generated section', () => {
    const replaced = replaceVariablesSection(
      'intro\n' + GENERATED_BEGIN + 'old' + GENERATED_END + '\nafter',
      'NEW',
    );
    expect(replaced).toBe('intro\nNEW\nafter');
    expect(() => replaceVariablesSection('no markers', 'NEW')).toThrow(/markers/);
  });
});
