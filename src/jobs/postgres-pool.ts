/**
 * The connection pool of the PostgreSQL store (node-postgres 8), with the translation of connection
 * failures into `ERR_STORE_UNAVAILABLE` (`postgres-errors.ts`) and a transaction helper.
 *
 * node-postgres returns `bigint` (int8) values, such as `COUNT(*)` and the `seq` column, as strings
 * because they can exceed `Number.MAX_SAFE_INTEGER`. The stores convert them with `Number`, since the
 * counts and sequence numbers of one site stay far below 2^53. The pool keeps that default, so that
 * other users of `pg` in the process (pg-boss) see the values they expect.
 */

import pg from 'pg';
import type { Logger } from 'pino';

import { describeError } from '../errors.js';
import { storeUnavailableError } from './postgres-errors.js';

/** Default time to wait for a new connection before the call fails with `ERR_STORE_UNAVAILABLE`. */
export const DEFAULT_CONNECTION_TIMEOUT_MS = 5000;

export interface PostgresPoolOptions {
  /** `postgres://user:password@host:port/database` URL. Secret: never logged or put in a message. */
  readonly connectionString: string;
  /** Maximum number of open connections of this process. */
  readonly poolSize: number;
  /** Time to wait for a new connection; {@link DEFAULT_CONNECTION_TIMEOUT_MS} when absent. */
  readonly connectionTimeoutMs?: number;
  /** Name of the environment variable that contains the URL, for the fix in error messages. */
  readonly urlEnvName?: string;
  /** Receives the errors of idle connections (the server restarted, say), which no call awaits. */
  readonly logger?: Pick<Logger, 'warn'>;
}

/** The `query` method of a pooled connection inside {@link PostgresPool.transaction}. */
export interface SqlClient {
  query<Row extends pg.QueryResultRow>(
    sql: string,
    values?: readonly unknown[],
  ): Promise<pg.QueryResult<Row>>;
}

/** A pool whose calls throw `ERR_STORE_UNAVAILABLE` when the server cannot be reached. */
export class PostgresPool {
  readonly #pool: pg.Pool;
  readonly #urlEnvName: string | undefined;
  readonly #secrets: readonly string[];
  #ended = false;

  constructor(options: PostgresPoolOptions) {
    if (!Number.isInteger(options.poolSize) || options.poolSize < 1) {
      throw new TypeError(`poolSize must be a positive integer, got ${options.poolSize}`);
    }
    this.#urlEnvName = options.urlEnvName;
    this.#secrets = secretsOf(options.connectionString);
    this.#pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
    });
    // An idle connection that the server closes emits 'error' on the pool; without a listener
    // Node.js would end the process. The pool drops that connection and opens a new one when needed.
    this.#pool.on('error', (error) => {
      options.logger?.warn(
        { err: describeError(this.#translate(error, 'an idle connection') ?? error) },
        'PostgreSQL store: an idle connection failed; the pool replaces it',
      );
    });
  }

  /** Runs one statement on any pooled connection, as its own transaction. */
  async query<Row extends pg.QueryResultRow>(
    sql: string,
    values: readonly unknown[] = [],
  ): Promise<pg.QueryResult<Row>> {
    try {
      return await this.#pool.query<Row>(sql, [...values]);
    } catch (error) {
      throw this.#translate(error, 'a query') ?? error;
    }
  }

  /**
   * Runs `work` inside BEGIN … COMMIT on one connection, and rolls back when it throws. A connection
   * whose rollback failed is destroyed instead of returned to the pool.
   *
   * @param action what the transaction does, for the message of `ERR_STORE_UNAVAILABLE`.
   */
  async transaction<T>(action: string, work: (client: SqlClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw this.#translate(error, action) ?? error;
    }

    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const value = await work(client);
      await client.query('COMMIT');
      return value;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError instanceof Error ? rollbackError : new Error('ROLLBACK failed');
      }
      throw this.#translate(error, action) ?? error;
    } finally {
      client.release(broken);
    }
  }

  /** Opens one connection and closes it, so that a wrong URL or a stopped server fails now. */
  async connect(action: string): Promise<void> {
    try {
      const client = await this.#pool.connect();
      client.release();
    } catch (error) {
      throw this.#translate(error, action) ?? error;
    }
  }

  /** Closes every connection; later calls fail. Calling it again does nothing. */
  async end(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    await this.#pool.end();
  }

  #translate(error: unknown, action: string): Error | undefined {
    return storeUnavailableError(error, action, this.#urlEnvName, this.#secrets);
  }
}

/** Lists the connection string and its password (as written and decoded) for redaction. */
function secretsOf(connectionString: string): string[] {
  const secrets = [connectionString];
  try {
    const encoded = new URL(connectionString).password;
    if (encoded !== '') secrets.push(encoded, decodeURIComponent(encoded));
  } catch {
    // Not a URL: node-postgres reports the problem on connect, and only the whole string is redacted.
  }
  return secrets;
}
