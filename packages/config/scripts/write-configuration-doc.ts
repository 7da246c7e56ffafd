// Regenerates the variables section of docs/CONFIGURATION.md from the schemas.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { allEnvs, renderVariablesSection, replaceVariablesSection } from '../src/index.js';

const docPath = resolve(process.cwd(), '../../docs/CONFIGURATION.md');
const before = readFileSync(docPath, 'utf8');
const after = replaceVariablesSection(before, renderVariablesSection(allEnvs));
if (after === before) {
  console.log(`${docPath} is up to date.`);
} else {
  writeFileSync(docPath, after);
  console.log(`Updated ${docPath}.`);
}
