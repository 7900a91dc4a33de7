/**
 * Serialises the writes of one chart Observation within this process. The service's write-back and
 * a clinician's record both find the Observation by its identifier and then create or replace it, in
 * two requests. So two writers of the same Observation running at once could both create one. Each
 * writer runs under the lock of the Observation's FHIR base and identifier, so the second one finds
 * what the first one wrote.
 *
 * Several processes that share a PostgreSQL store (API processes recording, workers writing back)
 * also take a lock in the database (`postgres-advisory-lock.ts`), set with {@link KeyedLock.useShared}
 * at start-up, so the rule applies across processes.
 */

/** A lock that several processes share, such as a database advisory lock. */
export interface SharedLock {
  /** Runs `task` while holding the lock of `key` for every process, and returns its result. */
  run<T>(key: string, task: () => Promise<T>): Promise<T>;
}

/**
 * A lock per key: tasks with the same key run one after the other, in the order they arrived. With a
 * shared lock set, each task also holds the shared lock of its key while it runs.
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<unknown>>();
  #shared: SharedLock | undefined;

  /** Makes every later task also hold `shared`'s lock of its key; undefined goes back to this process only. */
  useShared(shared: SharedLock | undefined): void {
    this.#shared = shared;
  }

  /** Runs `task` once every earlier task of `key` has settled, and returns its result. */
  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const shared = this.#shared;
    const locked = shared === undefined ? task : () => shared.run(key, task);
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const current = previous.then(locked, locked);
    const tail = current.catch(() => undefined);
    this.#tails.set(key, tail);
    try {
      return await current;
    } finally {
      // The map keeps only keys with a task still queued or running.
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Number of keys with a task queued or running. */
  get size(): number {
    return this.#tails.size;
  }
}

/** The lock of every chart Observation this process writes, keyed by {@link chartLockKey}. */
export const chartObservationLock = new KeyedLock();

/** Returns the lock key of the Observation with `identifierValue` on the FHIR server at `fhirBaseUrl`. */
export function chartLockKey(fhirBaseUrl: string, identifierValue: string): string {
  return `${fhirBaseUrl.replace(/\/+$/, '')}|${identifierValue}`;
}
