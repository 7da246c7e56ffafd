/**
 * Remembers, approximately, which keys were among the last `horizon` evicted
 * from one part of the cache: a "ghost" list as in ARC, holding only key
 * hashes and eviction sequence numbers. W-TinyLFU's climber keeps one for
 * the admission window and one for the main space (see AdaptiveStrategy).
 *
 * Direct-mapped on purpose: each record overwrites whatever shared its bucket.
 * With 4 x horizon buckets a few live records are lost to collisions; since
 * each side has its own history sized for its own horizon, both lose the
 * same share and the comparison between them stays fair (one shared table
 * let the busier side overwrite the other's ghosts). In exchange there is no
 * probing, no deletion and nothing to grow. Memory: 12 bytes per bucket (an
 * Int32 hash and a Float64 sequence number).
 */
export class GhostHistory {
  readonly #hashes: Int32Array;
  /** Sequence number of the eviction recorded in a bucket; 0 = empty or already taken. */
  readonly #sequence: Float64Array;
  readonly #shift: number;
  readonly #horizon: number;
  #evictions = 0;

  constructor(horizon: number) {
    this.#horizon = horizon;
    const bits = Math.max(4, Math.ceil(Math.log2(4 * horizon)));
    this.#hashes = new Int32Array(2 ** bits);
    this.#sequence = new Float64Array(2 ** bits);
    this.#shift = 32 - bits;
  }

  /** Bytes held by the two bucket arrays. */
  get byteLength(): number {
    return this.#hashes.byteLength + this.#sequence.byteLength;
  }

  /** Notes that the key with this hash (any 32-bit integer, signed or not) was just evicted. */
  record(hash: number): void {
    const i = this.#bucket(hash);
    this.#hashes[i] = hash;
    this.#sequence[i] = ++this.#evictions;
  }

  /**
   * Whether the key with this hash was evicted within the last `horizon`
   * evictions; a ghost answers once (the key is back in the cache).
   */
  take(hash: number): boolean {
    const i = this.#bucket(hash);
    const evictedAt = this.#sequence[i]!;
    if (evictedAt === 0 || this.#hashes[i] !== (hash | 0)) return false; // stored as Int32
    this.#sequence[i] = 0;
    return this.#evictions - evictedAt < this.#horizon;
  }

  clear(): void {
    this.#sequence.fill(0);
  }

  /** Fibonacci hashing: the top bits of hash x 2^32/phi pick the bucket. */
  #bucket(hash: number): number {
    return Math.imul(hash, 0x9e3779b1) >>> this.#shift;
  }
}
