import { execFileSync } from 'node:child_process';

/** The commit measured, and which app or package sources differed from it (tsx runs the working tree). */
export interface SourceState {
  readonly commit: string;
  readonly dirty: readonly string[];
}

export function sourceState(): SourceState {
  // Not trimmed: a porcelain line starts with its status columns, a space included.
  const git = (...args: string[]): string =>
    execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    return {
      commit: git('rev-parse', '--short', 'HEAD').trim(),
      dirty: git('status', '--porcelain', '--', '../apps', '../packages', 'e2e', 'workload')
        .split('\n')
        .filter(Boolean)
        .map((line) => line.slice(3)),
    };
  } catch {
    return { commit: 'unknown', dirty: [] };
  }
}

export function sourceLine(source: SourceState): string {
  return source.dirty.length === 0
    ? `Sources: commit ${source.commit}, clean.`
    : `Sources: commit ${source.commit} with uncommitted changes in ${source.dirty.join(', ')} (tsx runs the working tree).`;
}
