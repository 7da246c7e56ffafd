// Regenerates the variables section of docs/CONFIGURATION.md from the schemas.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderVariablesSection, replaceVariablesSection } from '@fiml/config';
import { allEnvs } from './app-envs.js';

const docPath = resolve(import.meta.dirname, '../../docs/CONFIGURATION.md');
const before = readFileSync(docPath, 'utf8');
const after = replaceVariablesSection(before, renderVariablesSection(allEnvs));
if (after === before) {
  console.log(`${docPath} is up to date.`);
} else {
  writeFileSync(docPath, after);
  console.log(`Updated ${docPath}.`);
}
