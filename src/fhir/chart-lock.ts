/**
 * Serialises the writes of one chart Observation within this process. The service's write-back and
 * a clinician's record both find the Observation by its identifier and then create or replace it, in
 * two requests. So two writers of the same Observation running at once could both create one. Each
 * writer runs under the lock of the Observation's FHIR base and identifier, so the second one finds
 * what the first one wrote.
 *
 * LIMITATION: the lock holds within one process only. Several service processes writing to the same
 * FHIR server need a lock in the shared store, or a FHIR conditional create (`If-None-Exist`).
 */

/** A lock per key: tasks with the same key run one after the other, in the order they arrived. */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Runs `task` once every earlier task of `key` has settled, and returns its result. */
  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const current = previous.then(task, task);
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
