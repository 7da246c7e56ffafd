import type { AssetType, DataType } from '@fiml/market';

/** Half-hour buckets of the exchange day in a time-of-day profile. */
export const PROFILE_BUCKETS = 48;
/** Width of one profile bucket, ms (30 minutes of wall time in the exchange zone). */
export const PROFILE_BUCKET_MS = 1_800_000;

/**
 * What the access history knows of one logical key, as the warmer's planner
 * reads it: the contract between the recorder (written by the api's reads)
 * and the planner (which predicts the next reads).
 */
export interface AccessStats {
  /** The logical key, `price:equity:AAPL`. */
  readonly key: string;
  readonly dataType: DataType;
  readonly assetType: AssetType;
  readonly symbol: string;
  /** Successful reads, exponentially decayed (see `halfLifeMs` of the store), as of `asOf`. */
  readonly frequency: number;
  /**
   * Decayed reads per half-hour bucket of the exchange day (`PROFILE_BUCKETS`
   * entries; bucket 0 is 00:00-00:30 in the exchange zone), as of `asOf`.
   * Sums to about `frequency`; coarse (quantised) by design.
   */
  readonly profile: readonly number[];
  /** Epoch ms of the last recorded read. */
  readonly lastAccessAt: number;
  /** Epoch ms the decayed figures are taken at. */
  readonly asOf: number;
}
