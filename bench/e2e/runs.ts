/**
 * The headline figures of every run of a benchmark, kept in bench/results/<name>-runs.json so
 * that each report can show the median and range across runs (the machine is shared: one run is
 * one sample). Runs with other parameters are kept but not compared: only those whose `key`
 * equals this run's count. Delete the file to start a new series.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownTable, median } from '../lib/report.js';

const resultsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../results');

export interface RunEntry {
  readonly date: string;
  /** What must be equal for runs to be compared (parameters, configurations). */
  readonly key: string;
  readonly commit: string;
  readonly loadAverageAtStart: number;
  /** Figure name -> value. */
  readonly figures: Record<string, number>;
}

/** Appends this run to <name>-runs.json and returns the comparable runs, this one last. */
export function recordRun(name: string, entry: RunEntry): RunEntry[] {
  const file = path.join(resultsDir, `${name}-runs.json`);
  const all: RunEntry[] = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { runs: RunEntry[] }).runs
    : [];
  all.push(entry);
  writeFileSync(file, `${JSON.stringify({ runs: all }, null, 2)}\n`);
  return all.filter((r) => r.key === entry.key);
}

/** Median and range of each figure across runs, with this run's value. */
export function acrossRunsTable(
  runs: readonly RunEntry[],
  format: (figure: string, value: number) => string,
): string {
  const names = Object.keys(runs[runs.length - 1]?.figures ?? {});
  return markdownTable(
    ['figure', 'this run', `median of ${runs.length}`, 'range (min – max)'],
    names.map((figure) => {
      const values = runs
        .map((r) => r.figures[figure])
        .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      const last = runs[runs.length - 1]!.figures[figure];
      return [
        figure,
        last === undefined || !Number.isFinite(last) ? '–' : format(figure, last),
        values.length ? format(figure, median(values)) : '–',
        values.length
          ? `${format(figure, Math.min(...values))} – ${format(figure, Math.max(...values))}`
          : '–',
      ];
    }),
  );
}

/** One line per run: when, commit, load. */
export function runsLine(runs: readonly RunEntry[]): string {
  return runs.map((r) => `${r.date} (commit ${r.commit}, load ${r.loadAverageAtStart})`).join('; ');
}
