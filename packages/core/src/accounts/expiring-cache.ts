/**
 * A bounded map whose entries expire: what an answer may be remembered for, and how many
 * answers at most (the oldest written are dropped first, so memory stays bounded whatever
 * callers send).
 */
export class ExpiringCache<K, V> {
  readonly #max: number;
  readonly #entries = new Map<K, { value: V; until: number }>();

  constructor(max: number) {
    this.#max = max;
  }

  /** The value of `key`, unless absent or expired. */
  get(key: K, now = Date.now()): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Remembers `value` for `ttlMs`. */
  set(key: K, value: V, ttlMs: number, now = Date.now()): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { value, until: now + ttlMs });
  }

  /** Forgets every entry whose value matches. */
  deleteWhere(matches: (value: V) => boolean): void {
    for (const [key, entry] of this.#entries) if (matches(entry.value)) this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }
}
