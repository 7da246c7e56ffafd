/** At most this many wildcard patterns: each insert tests the key against all of them. */
export const MAX_PROTECTED_PATTERNS = 256;

interface CompiledPattern {
  readonly source: string;
  readonly test: (key: string) => boolean;
}

/**
 * Which keys are protected from capacity eviction: exact keys and wildcard
 * patterns where `*` matches any run of characters (`price:AAPL*`, `*:BTC`,
 * `price:*:USD`). A key is protected when it equals an exact key or matches
 * any pattern.
 *
 * Bounded: exact keys up to `maxKeys` (the cache's maxEntries: more protected
 * keys than the cache can hold is a mistake) and {@link MAX_PROTECTED_PATTERNS}
 * patterns.
 */
export class ProtectionRules {
  readonly #keys = new Set<string>();
  readonly #patterns: CompiledPattern[] = [];
  readonly #maxKeys: number;

  constructor(maxKeys: number) {
    this.#maxKeys = maxKeys;
  }

  /** True when no key can be protected: the cache skips matching entirely. */
  get isEmpty(): boolean {
    return this.#keys.size === 0 && this.#patterns.length === 0;
  }

  /**
   * Adds an exact key or, when it contains `*`, a pattern. Returns false when
   * it was already registered.
   * @param name how to name the argument in an error
   */
  add(keyOrPattern: string, name: string): boolean {
    validatePattern(keyOrPattern, name);
    if (!keyOrPattern.includes('*')) {
      if (this.#keys.has(keyOrPattern)) return false;
      if (this.#keys.size >= this.#maxKeys) {
        throw new RangeError(
          `${name}: at most ${this.#maxKeys} protected keys (maxEntries); unprotect some first`,
        );
      }
      this.#keys.add(keyOrPattern);
      return true;
    }
    if (this.#patterns.some((p) => p.source === keyOrPattern)) return false;
    if (this.#patterns.length >= MAX_PROTECTED_PATTERNS) {
      throw new RangeError(`${name}: at most ${MAX_PROTECTED_PATTERNS} protected patterns`);
    }
    this.#patterns.push({ source: keyOrPattern, test: compile(keyOrPattern) });
    return true;
  }

  /** Removes an exact key or pattern registration; returns whether it was there. */
  remove(keyOrPattern: string, name: string): boolean {
    validatePattern(keyOrPattern, name);
    if (!keyOrPattern.includes('*')) return this.#keys.delete(keyOrPattern);
    const index = this.#patterns.findIndex((p) => p.source === keyOrPattern);
    if (index < 0) return false;
    this.#patterns.splice(index, 1);
    return true;
  }

  matches(key: string): boolean {
    if (this.#keys.has(key)) return true;
    for (const pattern of this.#patterns) if (pattern.test(key)) return true;
    return false;
  }

  /** The registered exact keys and patterns. */
  list(): { keys: string[]; patterns: string[] } {
    return { keys: [...this.#keys], patterns: this.#patterns.map((p) => p.source) };
  }
}

/**
 * A key or pattern must be a non-empty string that is not only wildcards (`*`
 * alone would protect every key and leave the cache nothing to evict).
 */
export function validatePattern(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') {
    throw new TypeError(`${name} must be a string, got ${typeof value}`);
  }
  if (value.length === 0) throw new RangeError(`${name} must not be empty`);
  if (/^\*+$/.test(value)) {
    throw new RangeError(
      `${name} ${JSON.stringify(value)} would protect every key; name a prefix, suffix or key`,
    );
  }
}

/** The common shapes get plain string tests; anything else a regular expression. */
function compile(pattern: string): (key: string) => boolean {
  const parts = pattern.split('*');
  if (parts.length === 2) {
    const [before = '', after = ''] = parts;
    if (after === '') return (key) => key.startsWith(before);
    if (before === '') return (key) => key.endsWith(after);
  }
  if (parts.length === 3 && parts[0] === '' && parts[2] === '') {
    const middle = parts[1] ?? '';
    return (key) => key.includes(middle);
  }
  const escaped = parts.map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const regex = new RegExp(`^${escaped.join('.*')}$`, 's');
  return (key) => regex.test(key);
}
