import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const resultsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../results');

/** A Markdown table from a header and rows of cells. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** One line about where the figures were measured. */
export function machineLine(): string {
  const cpus = os.cpus();
  return (
    `Node ${process.version}, ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), ` +
    `${os.platform()} ${os.arch()}; shared machine, other jobs may run alongside.`
  );
}

/** Writes bench/results/<name>.md and .json and says where. */
export function saveResults(name: string, markdown: string, json: unknown): void {
  mkdirSync(resultsDir, { recursive: true });
  const md = path.join(resultsDir, `${name}.md`);
  const js = path.join(resultsDir, `${name}.json`);
  writeFileSync(md, `${markdown.trimEnd()}\n`);
  writeFileSync(js, `${JSON.stringify(json, null, 2)}\n`);
  console.log(
    `\nsaved ${path.relative(process.cwd(), md)} and ${path.relative(process.cwd(), js)}`,
  );
}

export function pct(ratio: number): string {
  return (100 * ratio).toFixed(2);
}
