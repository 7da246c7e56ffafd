/**
 * What every benchmark shares: order statistics over rounds, the Markdown
 * table, the line that says where and how the figures were taken, and saving
 * to bench/results/<name>.md and .json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const resultsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../results');

/** The q-quantile (0..1) of samples, nearest rank; the samples are not modified. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (samples: readonly number[]): number => quantile(samples, 0.5);

export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Where and when the figures were taken, for both the Markdown and the JSON. */
export interface RunInfo {
  readonly command: string;
  readonly node: string;
  readonly date: string;
  readonly cpu: string;
  readonly cores: number;
  readonly platform: string;
  /** The 1-minute load average when the program started: above 2 the cores were shared. */
  readonly loadAverageAtStart: number;
  readonly note: string;
}

export function runInfo(script: string): RunInfo {
  const cpus = os.cpus();
  return {
    command: `pnpm --filter @fiml/bench ${script}`,
    node: process.version,
    // Wall-clock time is fine here: it labels the run, it times nothing.
    date: new Date().toISOString(),
    cpu: cpus[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus.length,
    platform: `${os.platform()} ${os.arch()}`,
    loadAverageAtStart: Math.round(os.loadavg()[0]! * 100) / 100,
    note: 'the machine is 2 shared cores; other jobs may run alongside, so compare ratios, not absolute figures',
  };
}

export function runInfoLine(info: RunInfo): string {
  return (
    `Command: \`${info.command}\`. ${info.date}, Node ${info.node}, ${info.cores} cores ` +
    `(${info.cpu}), ${info.platform}, 1-min load average ${info.loadAverageAtStart} at start; ${info.note}.`
  );
}

/** Prints the Markdown and writes bench/results/<name>.md and .json. */
export function saveResults(name: string, markdown: string, json: unknown): void {
  console.log(markdown);
  mkdirSync(resultsDir, { recursive: true });
  const md = path.join(resultsDir, `${name}.md`);
  const js = path.join(resultsDir, `${name}.json`);
  writeFileSync(md, `${markdown.trimEnd()}\n`);
  writeFileSync(js, `${JSON.stringify(json, null, 2)}\n`);
  console.log(
    `\nsaved ${path.relative(process.cwd(), md)} and ${path.relative(process.cwd(), js)}`,
  );
}

export const fixed = (n: number, digits: number): string => n.toFixed(digits);
export const ratio = (n: number): string => `${n.toFixed(2)}x`;

/** A percentage with two decimals, from a ratio. */
export const pct = (r: number): string => (100 * r).toFixed(2);

/** One line about where the figures were measured. */
export function machineLine(): string {
  const cpus = os.cpus();
  return (
    `Node ${process.version}, ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), ` +
    `${os.platform()} ${os.arch()}; shared machine, other jobs may run alongside.`
  );
}
