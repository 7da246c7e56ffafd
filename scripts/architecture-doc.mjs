// The package graph in docs/ARCHITECTURE.md, drawn from the imports by dependency-cruiser (the
// tool that enforces the rules in .dependency-cruiser.cjs), one node per workspace package.
//   node scripts/architecture-doc.mjs --write   regenerate the drawing (pnpm docs:architecture)
//   node scripts/architecture-doc.mjs --check   exit 1 when the drawing no longer matches the code
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const docPath = join(root, 'docs', 'ARCHITECTURE.md');
const BEGIN = '<!-- BEGIN GENERATED: package graph (pnpm docs:architecture) -->';
const END = '<!-- END GENERATED: package graph -->';
const WORKSPACES = ['apps', 'packages', 'bench', 'scripts', 'docker'];

const mode = process.argv[2];
if (mode !== '--write' && mode !== '--check') {
  process.stderr.write('usage: node scripts/architecture-doc.mjs --write|--check\n');
  process.exit(2);
}

const result = spawnSync(
  join(root, 'node_modules', '.bin', 'depcruise'),
  [
    '--config',
    '.dependency-cruiser.cjs',
    '--include-only',
    `^(${WORKSPACES.join('|')})/`,
    '--collapse',
    '^((apps|packages)/[^/]+|bench|scripts|docker)',
    '--output-type',
    'mermaid',
    ...WORKSPACES,
  ],
  { cwd: root, encoding: 'utf8' },
);
if (result.status !== 0) {
  process.stderr.write(result.stderr || result.stdout || `depcruise failed (${result.status})\n`);
  process.exit(1);
}

const section = `${BEGIN}\n\n\`\`\`mermaid\n${result.stdout.trim()}\n\`\`\`\n\n${END}`;
const doc = readFileSync(docPath, 'utf8');
const from = doc.indexOf(BEGIN);
const to = doc.indexOf(END);
if (from < 0 || to < from) {
  process.stderr.write(`${docPath}: the markers ${BEGIN} … ${END} are missing\n`);
  process.exit(1);
}
const next = doc.slice(0, from) + section + doc.slice(to + END.length);
if (mode === '--write') {
  if (next !== doc) writeFileSync(docPath, next);
  process.stdout.write(`${next === doc ? 'up to date' : 'updated'}: ${docPath}\n`);
} else if (next !== doc) {
  process.stderr.write(
    'docs/ARCHITECTURE.md: the package graph no longer matches the imports; run `pnpm docs:architecture`\n',
  );
  process.exit(1);
}
