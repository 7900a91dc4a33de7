/**
 * The chart lock shared by every process of a PostgreSQL deployment: a transaction-level advisory
 * lock per key (`pg_advisory_xact_lock`), held while the task runs and released when its
 * transaction ends, also when the process dies and its connection drops.
 *
 * The key is hashed to 32 bits (`hashtext`) under a fixed namespace. Two keys with the same hash
 * only wait for each other, which costs time but not correctness.
 *
 * @see https://www.postgresql.org/docs/15/explicit-locking.html#ADVISORY-LOCKS
 */

import pg from 'pg';

import { Nqo1Error } from '../errors.js';
import type { SharedLock } from '../fhir/chart-lock.js';

/** First half of every advisory lock key of this service, so other users of the database never collide. */
const LOCK_NAMESPACE = 0x6e716f31; // 'nqo1'

/** Maximum wait for a lock that another process has taken, as PostgreSQL `lock_timeout`. */
const LOCK_WAIT = '60s';

export class PostgresAdvisoryLock implements SharedLock {
  readonly #pool: pg.Pool;

  /** @param connectionString - PostgreSQL URL; contains the password, so it is never logged. */
  constructor(connectionString: string, poolSize = 4) {
    this.#pool = new pg.Pool({
      connectionString,
      max: poolSize,
      // Also the longest wait for a free connection when every connection has a lock.
      connectionTimeoutMillis: 30_000,
      application_name: 'nqo1-cds-chart-lock',
    });
    // An idle connection that drops reports here; the next lock opens a new one.
    this.#pool.on('error', () => undefined);
  }

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw new Nqo1Error(
        'ERR_STORE_UNAVAILABLE',
        'The chart lock could not connect to PostgreSQL; check that the server runs and the URL in the ' +
          'variable named by store.postgresUrlEnv.',
        { cause: error },
      );
    }

    let failed = false;
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL lock_timeout = '${LOCK_WAIT}'`);
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_NAMESPACE, key]);
      const result = await task();
      await client.query('COMMIT');
      return result;
    } catch (error) {
      failed = true;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      // A connection whose transaction failed is closed rather than reused.
      client.release(failed);
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
