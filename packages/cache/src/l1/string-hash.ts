/**
 * A 32-bit hash of a string: FNV-1a over the UTF-16 code units, finished with
 * murmur3's fmix32 so that every output bit depends on every input bit (the
 * frequency sketch takes its block and counter indexes from different bit
 * ranges of one hash).
 *
 * Hot path on purpose: `Math.imul` keeps the arithmetic in 32-bit integers.
 * The cache calls it once per inserted key and keeps the result per slot, so
 * hits never rehash.
 */
export function hashString(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}
