/**
 * Memory of the JWT ids (`jti`) already accepted, each kept until the token can no longer be
 * accepted, so that a captured token cannot be replayed. The memory is per process: several
 * processes behind a load balancer each keep their own.
 */

/** Entries kept at most; beyond this, new tokens are rejected rather than memory growing without bound. */
export const MAX_REPLAY_ENTRIES = 100_000;

/** Minimum interval between sweeps of expired entries, in milliseconds. */
const SWEEP_INTERVAL_MS = 10_000;

/** Fill level of the cache, for the health check. */
export interface ReplayCacheStatus {
  readonly entries: number;
  readonly capacity: number;
  /** True when the cache held `capacity` unexpired entries at the last check. */
  readonly full: boolean;
}

export class ReplayCache {
  readonly #expiresAtSeconds = new Map<string, number>();
  readonly #maxEntries: number;
  #lastSweepMs = 0;
  #full = false;

  constructor(maxEntries = MAX_REPLAY_ENTRIES) {
    this.#maxEntries = maxEntries;
  }

  /**
   * Records `key` until `expiresAtSeconds` (seconds since the epoch). Returns `new` the first time,
   * `replayed` when the key is already held and not expired, and `full` when the cache still contains
   * `maxEntries` unexpired keys after expired ones were removed.
   */
  remember(key: string, expiresAtSeconds: number, now: Date): 'new' | 'replayed' | 'full' {
    const nowSeconds = now.getTime() / 1000;
    this.#sweep(now.getTime());

    const storedExpiry = this.#expiresAtSeconds.get(key);
    if (storedExpiry !== undefined && storedExpiry >= nowSeconds) return 'replayed';

    // Expired entries are removed before the cache is declared full, whatever the sweep interval.
    if (this.#expiresAtSeconds.size >= this.#maxEntries) this.#sweep(now.getTime(), true);
    this.#full = this.#expiresAtSeconds.size >= this.#maxEntries;
    if (this.#full) return 'full';

    this.#expiresAtSeconds.set(key, expiresAtSeconds);
    return 'new';
  }

  get size(): number {
    return this.#expiresAtSeconds.size;
  }

  /** Fill level; with `now`, expired entries are removed first, so a cache that has drained reports it. */
  status(now?: Date): ReplayCacheStatus {
    if (now !== undefined) {
      this.#sweep(now.getTime(), true);
      this.#full = this.#expiresAtSeconds.size >= this.#maxEntries;
    }
    return { entries: this.#expiresAtSeconds.size, capacity: this.#maxEntries, full: this.#full };
  }

  #sweep(nowMs: number, force = false): void {
    if (!force && nowMs - this.#lastSweepMs < SWEEP_INTERVAL_MS) return;

    this.#lastSweepMs = nowMs;
    for (const [key, expiresAt] of this.#expiresAtSeconds) {
      if (expiresAt < nowMs / 1000) this.#expiresAtSeconds.delete(key);
    }
  }
}
