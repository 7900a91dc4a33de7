/**
 * Opens the result store and the analysis queue that `store.engine` names, for one process of the
 * given role:
 * - `sqlite` (the default): one SQLite file and the in-process queue; only the `all` role, since the
 *   file and the queue belong to one process.
 * - `postgres`: the PostgreSQL store and the pg-boss queue in the same database, whose URL is read
 *   from the variable named by `store.postgresUrlEnv` (or its `_FILE`). API processes enqueue,
 *   worker processes analyse, `all` does both. Chart writes of every process take a shared
 *   advisory lock.
 */

import { Nqo1Error } from '../errors.js';
import { chartObservationLock } from '../fhir/chart-lock.js';
import type { ResultWriter } from '../jobs/analyse-study.js';
import type { JobObserver } from '../jobs/job-observer.js';
import { PgBossQueue } from '../jobs/pg-boss-queue.js';
import type { QueueRole } from '../jobs/queue-role.js';
import { PostgresAdvisoryLock } from '../jobs/postgres-advisory-lock.js';
import { openPostgresStore } from '../jobs/postgres-store.js';
import { AnalysisQueue, type JobQueue } from '../jobs/queue.js';
import { SqliteResultStore } from '../jobs/result-store.js';
import type { ResultStore } from '../jobs/store.js';
import type { AnalyseStudy } from '../jobs/types.js';
import { readSecretEnv } from '../secret-env.js';
import type { AppConfig } from './config.js';
import type { Logger } from './logger.js';

/** The store and queue of one process, started. */
export interface OpenedEngine {
  readonly store: ResultStore;
  readonly queue: JobQueue;
  /** Stops the queue (letting running jobs finish), then closes the store and the lock connections. */
  close(): Promise<void>;
}

export interface OpenEngineOptions {
  readonly role: QueueRole;
  readonly logger: Logger;
  /** The analysis; required unless `role` is `api`. */
  readonly analyse?: AnalyseStudy;
  readonly writer?: ResultWriter;
  /** Builds the queue's observer once the store is open (the audit trail lives in the store). */
  readonly observerFor?: (store: ResultStore) => JobObserver;
  /** Environment holding the PostgreSQL URL; defaults to `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The loaded model card; a worker leaves jobs of another version to workers that have it. */
  readonly model?: { readonly id: string; readonly version: string };
}

/**
 * Opens and starts the store and the queue.
 *
 * @throws Nqo1Error `ERR_CONFIG_INVALID` for a role that the SQLite engine cannot run, or a missing
 *   PostgreSQL URL; `ERR_STORE_UNAVAILABLE` when PostgreSQL is unreachable.
 */
export async function openEngine(config: AppConfig, options: OpenEngineOptions): Promise<OpenedEngine> {
  const { role } = options;
  if (role !== 'api' && options.analyse === undefined) {
    throw new Nqo1Error('ERR_INTERNAL', `The ${role} role runs analyses, so it needs an analyse function`);
  }

  if (config.store.engine === 'sqlite') {
    if (role !== 'all') {
      throw new Nqo1Error(
        'ERR_CONFIG_INVALID',
        `serve --role ${role} needs store.engine postgres: the SQLite store and its in-process queue belong to ` +
          'one process. Set store.engine to postgres (NQO1_STORE_ENGINE) with the database URL in the variable ' +
          `named by store.postgresUrlEnv (${config.store.postgresUrlEnv}), or use --role all.`,
        { details: { key: 'store.engine', role } },
      );
    }
    return openSqlite(config, options);
  }
  return openPostgres(config, options);
}

/**
 * Opens only the store of `store.engine`, for a command that reads it beside the service
 * (`nqo1-cds audit`); the caller closes it.
 */
export async function openStore(
  config: AppConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<ResultStore> {
  if (config.store.engine === 'sqlite') return new SqliteResultStore(config.store.sqlitePath);
  const connectionString = readPostgresUrl(config, env);
  return openPostgresStore({
    connectionString,
    poolSize: 2,
    urlEnvName: config.store.postgresUrlEnv,
    schema: 'existing',
  });
}

/**
 * Reads the PostgreSQL URL from the variable `store.postgresUrlEnv` names, or its `_FILE`, and checks
 * its form. Messages name the variable and never the value, which contains the password.
 *
 * @throws Nqo1Error `ERR_CONFIG_INVALID` when neither variable is set, or the value is not a
 *   `postgres://` URL with a host and a database.
 */
export function readPostgresUrl(
  config: AppConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const name = config.store.postgresUrlEnv;
  if ((env[name] ?? '') === '' && (env[`${name}_FILE`] ?? '') === '') {
    throw new Nqo1Error(
      'ERR_CONFIG_INVALID',
      `store.engine is postgres, so the PostgreSQL URL must be in ${name}, or in a file that ${name}_FILE ` +
        'names; set one of them (store.postgresUrlEnv chooses another variable name).',
      { details: { key: 'store.postgresUrlEnv' } },
    );
  }
  const url = readSecretEnv(name, 'store.postgresUrlEnv', env);

  // The authority of a URL has one '@'; a second one is an '@' of the password, which must be encoded.
  const authority = /^[a-z]+:\/\/([^/]*)/i.exec(url)?.[1] ?? '';
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  const wellFormed =
    parsed !== undefined &&
    (parsed.protocol === 'postgres:' || parsed.protocol === 'postgresql:') &&
    parsed.hostname !== '' &&
    parsed.pathname.length > 1 &&
    authority.split('@').length <= 2;
  if (!wellFormed) {
    throw new Nqo1Error(
      'ERR_CONFIG_INVALID',
      `The value of ${name} is not a PostgreSQL URL of the form postgres://user:password@host:5432/database. ` +
        'Percent-encode the characters @ : / ? # of the user name and password (@ as %40).',
      { details: { key: 'store.postgresUrlEnv' } },
    );
  }
  return url;
}

async function openSqlite(config: AppConfig, options: OpenEngineOptions): Promise<OpenedEngine> {
  const store = new SqliteResultStore(config.store.sqlitePath);
  const observer = options.observerFor?.(store);
  const queue = new AnalysisQueue({
    store,
    // openEngine checked that the `all` role has it.
    analyse: options.analyse!,
    logger: options.logger,
    retryFailedAfterMs: config.jobs.retryFailedAfterMs,
    retryWriteBackAfterMs: config.jobs.retryWriteBackAfterMs,
    ...(observer === undefined ? {} : { observer }),
    ...(options.writer === undefined ? {} : { writer: options.writer }),
  });
  await queue.start();
  return {
    store,
    queue,
    async close() {
      await queue.stop();
      await store.close();
    },
  };
}

async function openPostgres(config: AppConfig, options: OpenEngineOptions): Promise<OpenedEngine> {
  const connectionString = readPostgresUrl(config, options.env);
  const store = await openPostgresStore({
    connectionString,
    poolSize: config.store.postgresPoolSize,
    urlEnvName: config.store.postgresUrlEnv,
    logger: options.logger,
  });
  const lock = new PostgresAdvisoryLock(connectionString, config.store.postgresPoolSize);
  const observer = options.observerFor?.(store);
  const queue = new PgBossQueue({
    store,
    connectionString,
    role: options.role,
    logger: options.logger,
    retryFailedAfterMs: config.jobs.retryFailedAfterMs,
    retryWriteBackAfterMs: config.jobs.retryWriteBackAfterMs,
    concurrency: config.jobs.workerConcurrency,
    jobTimeoutSeconds: config.jobs.jobTimeoutSeconds,
    pollIntervalMs: config.jobs.pollIntervalMs,
    ...(options.analyse === undefined ? {} : { analyse: options.analyse }),
    ...(observer === undefined ? {} : { observer }),
    ...(options.writer === undefined ? {} : { writer: options.writer }),
    ...(options.model === undefined ? {} : { model: options.model }),
  });
  try {
    await queue.start();
  } catch (error) {
    await Promise.allSettled([store.close(), lock.close()]);
    throw error;
  }
  chartObservationLock.useShared(lock);
  options.logger.info({ engine: 'postgres', role: options.role }, 'store and job queue open');

  return {
    store,
    queue,
    async close() {
      await queue.stop();
      chartObservationLock.useShared(undefined);
      await Promise.all([store.close(), lock.close()]);
    },
  };
}
