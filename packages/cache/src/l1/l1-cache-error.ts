/** Why an {@link L1CacheError} was thrown. */
export type L1CacheErrorCode =
  /** Every entry is protected, so nothing can be evicted to make room. */
  | 'FIML_L1_ALL_PROTECTED'
  /** The entry alone is larger than maxBytes (or than what protected entries leave). */
  | 'FIML_L1_ENTRY_TOO_LARGE';

/**
 * A write the cache refuses rather than grow past its bounds. The cache is
 * unchanged when it is thrown.
 */
export class L1CacheError extends Error {
  constructor(
    readonly code: L1CacheErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'L1CacheError';
  }
}
