/** What became of one entry a writer asked L2 to store. */
export type WriteOutcome =
  | { readonly key: string; readonly status: 'written' }
  /** Not stored: an entry fetched later is already there (`newer`), or this one is past its hard expiry. */
  | { readonly key: string; readonly status: 'skipped'; readonly reason: 'newer' | 'expired' }
  | { readonly key: string; readonly status: 'failed'; readonly error: Error };

/** Counts of outcomes by status, for logs and job results. */
export function countOutcomes(outcomes: readonly WriteOutcome[]): {
  written: number;
  skipped: number;
  failed: number;
} {
  const counts = { written: 0, skipped: 0, failed: 0 };
  for (const outcome of outcomes) counts[outcome.status] += 1;
  return counts;
}
