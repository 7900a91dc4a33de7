/**
 * The result store on PostgreSQL, which several API and worker processes share. It follows the rules of
 * the SQLite store (`result-store.ts`, whose method comments give each call's exact rule) on the tables
 * of `postgres-schema.ts`. Each call is one statement or one transaction:
 *
 * - `claimPending` and `claimWriteBack` lock the row they take with `FOR UPDATE SKIP LOCKED` inside
 *   the UPDATE that claims it, so two processes never take the same row and neither waits for the other.
 * - `insertPending` uses `ON CONFLICT DO NOTHING`, so two processes that enqueue one study insert one row.
 * - Inserts into `analyses` hold an advisory lock until they commit. An identity value is drawn when the
 *   row is inserted, not when it commits, so without the lock a row could become visible after a row
 *   with a larger `seq`. A caller of `keysAfter` that had already moved past that `seq` would miss it.
 *
 * {@link ResultStore.onFhirIdsBound} listeners run only in the process whose `bindFhirIds` call gave a
 * row its ids. Other processes learn of owed write-backs by polling `claimWriteBack`.
 *
 * NOTE: PostgreSQL rejects the character U+0000 in `text` and `jsonb` (SQLSTATE 22021), which SQLite
 * stores. A job, feedback comment or other value that contains it fails with `ERR_REQUEST_INVALID`
 * (`postgres-errors.ts`), so the request gets a 400 rather than a 500.
 */

import { randomUUID } from 'node:crypto';

import { Nqo1Error } from '../errors.js';
import type { ScoreResult } from '../model/result.js';
import { PostgresAuditTrail } from './postgres-audit-trail.js';
import { PostgresChartRecordStore } from './postgres-chart-record-store.js';
import { PostgresFeedbackStore } from './postgres-feedback-store.js';
import { PostgresOverlayStore } from './postgres-overlay-store.js';
import { PostgresPool, type PostgresPoolOptions } from './postgres-pool.js';
import { ADVISORY_LOCK_NAMESPACE, ADVISORY_LOCKS, migratePostgresSchema } from './postgres-schema.js';
import { KEY_COLUMNS } from './result-store-schema.js';
import {
  PERMANENT_WRITE_BACK_ERRORS,
  type DoneWriteBack,
  type IndexedResultKey,
  type OwedWriteBack,
  type ResultStore,
} from './store.js';
import {
  missingAnalysisError,
  resultKeyValues,
  toResultKey,
  toStoredAnalysis,
  type ResultKeyRow,
} from './analysis-rows.js';
import type { AnalysisFailure, AnalysisJob, ResultKey, ResultStatus, StoredAnalysis } from './types.js';

/** SQL condition that selects the row of one key, with its five values bound from `$first` on. */
function keyCondition(first: number): string {
  return `study_instance_uid = $${first} AND requested_series_instance_uid = $${first + 1}
    AND requested_segmentation_sop_instance_uid = $${first + 2} AND model_id = $${first + 3}
    AND model_version = $${first + 4}`;
}

/** Values of {@link keyCondition}, with '' for an automatic choice. */
const keyValues = resultKeyValues;

/** SQL condition of a done automatic row with both FHIR ids and without an Observation. */
const LACKS_OBSERVATION = `status = 'done' AND observation_id IS NULL
  AND requested_series_instance_uid = '' AND requested_segmentation_sop_instance_uid = ''
  AND job_json ->> 'patientId' IS NOT NULL
  AND job_json ->> 'imagingStudyId' IS NOT NULL`;

/** SQL list of the permanent write-back error codes. */
const PERMANENT_CODES_SQL = PERMANENT_WRITE_BACK_ERRORS.map((code) => `'${code}'`).join(', ');

/** SQL condition of a row that owes a write-back: it lacks its Observation and no permanent failure stopped it. */
const OWES_WRITE_BACK = `${LACKS_OBSERVATION}
  AND (writeback_error_code IS NULL OR writeback_error_code NOT IN (${PERMANENT_CODES_SQL}))`;

/** The columns of {@link AnalysisRow}, which {@link toStoredAnalysis} reads. */
const ANALYSIS_COLUMNS =
  'id, status, job_json, result_json, observation_id, effective_date_time, error_code, error_message, created_at, updated_at';

/** One row of `analyses`; node-postgres parses the `jsonb` columns. */
interface AnalysisRow {
  id: string;
  status: ResultStatus;
  job_json: AnalysisJob;
  result_json: ScoreResult | null;
  observation_id: string | null;
  effective_date_time: string | null;
  error_code: string | null;
  error_message: string | null;
  created_at: string;
  updated_at: string;
}

export interface PostgresStoreOptions extends PostgresPoolOptions {
  /** Clock for `created_at`, `updated_at` and the audit times; tests freeze it. */
  readonly now?: () => Date;
  /**
   * Schema handling: `create` (the default) creates or migrates the tables. `existing` only opens a
   * database that the service has set up, for a reader such as `nqo1-cds audit`, so that an empty or
   * wrong database is not taken for a store without events.
   */
  readonly schema?: 'create' | 'existing';
}

/**
 * Opens a pool to the database at `options.connectionString`, and creates or migrates the schema.
 *
 * @throws Nqo1Error `ERR_STORE_UNAVAILABLE` when the server cannot be reached or rejects the login,
 *   within `connectionTimeoutMs`; `ERR_CONFIG_INVALID` when a newer release wrote the database.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresResultStore> {
  const now = options.now ?? (() => new Date());
  const pool = new PostgresPool(options);
  try {
    if (options.schema === 'existing') await requireExistingSchema(pool);
    else await migratePostgresSchema(pool, now);
  } catch (error) {
    await pool.end();
    throw error;
  }
  return new PostgresResultStore(pool, now);
}

/**
 * Checks that the database has the store's tables.
 *
 * @throws Nqo1Error `ERR_CONFIG_INVALID` when it has none: another database than the service's.
 */
async function requireExistingSchema(pool: PostgresPool): Promise<void> {
  const { rows } = await pool.query<{ table: string | null }>(
    "SELECT to_regclass('store_schema_version')::text AS table",
  );
  if (rows[0]?.table === null || rows[0]?.table === undefined) {
    throw new Nqo1Error(
      'ERR_CONFIG_INVALID',
      'The PostgreSQL database has no NQO1 CDS tables, so it is not the database of the service. Point the URL ' +
        "in the variable named by store.postgresUrlEnv at the service's database.",
    );
  }
}

/** Result store on a PostgreSQL database; open it with {@link openPostgresStore}. */
export class PostgresResultStore implements ResultStore {
  readonly engine = 'postgres';
  readonly #pool: PostgresPool;
  readonly #now: () => Date;
  readonly feedback: PostgresFeedbackStore;
  readonly overlays: PostgresOverlayStore;
  readonly chartRecords: PostgresChartRecordStore;
  readonly audit: PostgresAuditTrail;
  /** Called in this process after a row gained FHIR ids, so a queue can write back a result that owes it. */
  readonly #boundListeners: (() => void)[] = [];

  /** Wraps an open pool whose schema is current; {@link openPostgresStore} prepares both. */
  constructor(pool: PostgresPool, now: () => Date) {
    this.#pool = pool;
    this.#now = now;
    this.feedback = new PostgresFeedbackStore(pool, now);
    this.overlays = new PostgresOverlayStore(pool);
    this.chartRecords = new PostgresChartRecordStore(pool);
    this.audit = new PostgresAuditTrail(pool, now);
  }

  /** Inserts a pending row for `job` unless its key already has a row; true when inserted. */
  async insertPending(job: AnalysisJob): Promise<boolean> {
    const now = this.#now().toISOString();
    // The advisory lock is taken before the identity value is drawn and released at commit.
    const inserted = await this.#pool.query(
      `WITH serialized AS (SELECT pg_advisory_xact_lock($1, $2))
       INSERT INTO analyses (id, ${KEY_COLUMNS}, status, job_json, created_at, updated_at)
       SELECT $3, $4, $5, $6, $7, $8, 'pending', $9::jsonb, $10, $10 FROM serialized
       ON CONFLICT (${KEY_COLUMNS}) DO NOTHING`,
      [
        ADVISORY_LOCK_NAMESPACE,
        ADVISORY_LOCKS.analysesInsert,
        randomUUID(),
        ...keyValues(job),
        JSON.stringify(job),
        now,
      ],
    );
    return inserted.rowCount === 1;
  }

  /** Returns the row for `key`, or undefined when the study was never enqueued for that model and choice. */
  async getResult(key: ResultKey): Promise<StoredAnalysis | undefined> {
    const { rows } = await this.#pool.query<AnalysisRow>(
      `SELECT ${ANALYSIS_COLUMNS} FROM analyses WHERE ${keyCondition(1)}`,
      keyValues(key),
    );
    return rows[0] === undefined ? undefined : parseStoredAnalysis(rows[0]);
  }

  /**
   * Gives a row enqueued without FHIR ids the patient and ImagingStudy ids of `job` (and its FHIR
   * server when set). A row that already has a patient keeps it; the update time stays.
   *
   * @returns the row after the update, or undefined when the key has no row.
   */
  async bindFhirIds(job: AnalysisJob): Promise<StoredAnalysis | undefined> {
    if (job.patientId !== undefined && job.imagingStudyId !== undefined) {
      const bound = await this.#pool.query(
        `UPDATE analyses
         SET job_json = job_json || jsonb_build_object('patientId', $1::text, 'imagingStudyId', $2::text)
           || CASE WHEN $3::text IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('fhirServer', $3::text) END
         WHERE ${keyCondition(4)} AND job_json ->> 'patientId' IS NULL`,
        [job.patientId, job.imagingStudyId, job.fhirServer ?? null, ...keyValues(job)],
      );
      if (bound.rowCount === 1) for (const listener of this.#boundListeners) listener();
    }
    return await this.getResult(job);
  }

  /** Registers `listener` to run in this process after {@link bindFhirIds} gave a row its ids. */
  onFhirIdsBound(listener: () => void): void {
    this.#boundListeners.push(listener);
  }

  /** Returns the row with the given id (the SMART app's `appContext`), or undefined. */
  async getById(id: string): Promise<StoredAnalysis | undefined> {
    const { rows } = await this.#pool.query<AnalysisRow>(
      `SELECT ${ANALYSIS_COLUMNS} FROM analyses WHERE id = $1`,
      [id],
    );
    return rows[0] === undefined ? undefined : parseStoredAnalysis(rows[0]);
  }

  /** Returns every row of one study for one model version: the automatic row first, then the newest. */
  async listByStudy(
    studyInstanceUid: string,
    modelId: string,
    modelVersion: string,
  ): Promise<StoredAnalysis[]> {
    const { rows } = await this.#pool.query<AnalysisRow>(
      `SELECT ${ANALYSIS_COLUMNS} FROM analyses
       WHERE study_instance_uid = $1 AND model_id = $2 AND model_version = $3
       ORDER BY (requested_series_instance_uid = '' AND requested_segmentation_sop_instance_uid = '') DESC,
         updated_at DESC, seq DESC`,
      [studyInstanceUid, modelId, modelVersion],
    );
    return rows.map(parseStoredAnalysis);
  }

  /** Returns the keys of the analyses whose `seq` is larger than `rowid`, in insertion order. */
  async keysAfter(rowid: number): Promise<IndexedResultKey[]> {
    const { rows } = await this.#pool.query<{
      seq: string;
      study_instance_uid: string;
      model_id: string;
      model_version: string;
    }>(`SELECT seq, study_instance_uid, model_id, model_version FROM analyses WHERE seq > $1 ORDER BY seq`, [
      rowid,
    ]);
    return rows.map((row) => ({
      rowid: Number(row.seq),
      studyInstanceUid: row.study_instance_uid,
      modelId: row.model_id,
      modelVersion: row.model_version,
    }));
  }

  /** Moves the oldest pending row that no other process is claiming to running, and returns its job. */
  async claimPending(): Promise<AnalysisJob | undefined> {
    const { rows } = await this.#pool.query<{ job_json: AnalysisJob }>(
      `UPDATE analyses SET status = 'running', updated_at = $1
       WHERE id = (
         SELECT id FROM analyses WHERE status = 'pending' ORDER BY created_at, seq
         LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING job_json`,
      [this.#now().toISOString()],
    );
    return rows[0]?.job_json;
  }

  /**
   * Moves the row of `key` to running when it is pending, or running since before `runningBefore`,
   * and returns its job. Returns undefined when the row is done, failed, absent or recently renewed.
   */
  async claimKey(key: ResultKey, runningBefore: Date): Promise<AnalysisJob | undefined> {
    const { rows } = await this.#pool.query<{ job_json: AnalysisJob }>(
      `UPDATE analyses SET status = 'running', updated_at = $1
       WHERE ${keyCondition(2)}
         AND (status = 'pending' OR (status = 'running' AND updated_at < $7))
       RETURNING job_json`,
      [this.#now().toISOString(), ...keyValues(key), runningBefore.toISOString()],
    );
    return rows[0]?.job_json;
  }

  /** Renews the update time of the running row of `key`; false when it is not running. */
  async touchRunning(key: ResultKey): Promise<boolean> {
    const touched = await this.#pool.query(
      `UPDATE analyses SET updated_at = $1 WHERE ${keyCondition(2)} AND status = 'running'`,
      [this.#now().toISOString(), ...keyValues(key)],
    );
    return touched.rowCount === 1;
  }

  /**
   * Stores a finished result for `key` and clears any earlier failure. Without `observationId`, a
   * row with both FHIR ids owes a write-back: at once, or after the retry interval when
   * `writeBack.failure` is set.
   */
  async markDone(
    key: ResultKey,
    result: ScoreResult,
    observationId?: string,
    writeBack: DoneWriteBack = {},
  ): Promise<void> {
    const failure = observationId === undefined ? writeBack.failure : undefined;
    await this.#update(
      key,
      `status = 'done', result_json = $1::jsonb, observation_id = $2, error_code = NULL, error_message = NULL,
       effective_date_time = $3, writeback_attempted_at = $4, writeback_error_code = $5,
       writeback_error_message = $6`,
      [
        JSON.stringify(result),
        observationId ?? null,
        writeBack.effectiveDateTime ?? null,
        failure === undefined ? null : this.#now().toISOString(),
        failure?.code ?? null,
        failure?.message ?? null,
      ],
    );
  }

  /**
   * Takes the oldest row that owes a write-back, was not attempted since `retryBefore` and that no
   * other process is claiming, and marks it attempted now.
   */
  async claimWriteBack(retryBefore: Date): Promise<OwedWriteBack | undefined> {
    const { rows } = await this.#pool.query<{
      id: string;
      job_json: OwedWriteBack['job'];
      result_json: ScoreResult;
      effective_date_time: string | null;
    }>(
      `UPDATE analyses SET writeback_attempted_at = $1
       WHERE id = (
         SELECT id FROM analyses
         WHERE ${OWES_WRITE_BACK} AND (writeback_attempted_at IS NULL OR writeback_attempted_at < $2)
         ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING id, job_json, result_json, effective_date_time`,
      [this.#now().toISOString(), retryBefore.toISOString()],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return {
      analysisId: row.id,
      job: row.job_json,
      result: row.result_json,
      ...(row.effective_date_time === null ? {} : { effectiveDateTime: row.effective_date_time }),
    };
  }

  /** Records the Observation written for the done result of `key` and clears the write-back failure. */
  async recordObservation(key: ResultKey, observationId: string): Promise<void> {
    await this.#update(
      key,
      `observation_id = $1, writeback_error_code = NULL, writeback_error_message = NULL`,
      [observationId],
    );
  }

  /** Records why the write-back of `key` failed; the result stays, and the write-back stays owed. */
  async recordWriteBackFailure(key: ResultKey, failure: AnalysisFailure): Promise<void> {
    await this.#update(key, `writeback_error_code = $1, writeback_error_message = $2`, [
      failure.code,
      failure.message,
    ]);
  }

  /**
   * Makes every owed write-back due now and lifts the stop of a permanent failure.
   *
   * @returns the number of rows that owe a write-back.
   */
  async resetWriteBackAttempts(): Promise<number> {
    const reset = await this.#pool.query(
      `UPDATE analyses SET writeback_attempted_at = NULL,
         writeback_error_code = CASE WHEN writeback_error_code IN (${PERMANENT_CODES_SQL}) THEN NULL ELSE writeback_error_code END
       WHERE ${LACKS_OBSERVATION}`,
    );
    return reset.rowCount ?? 0;
  }

  /** Number of done rows that owe a write-back, for health checks and tests. */
  async countOwedWriteBacks(): Promise<number> {
    return await this.#count(`SELECT COUNT(*) AS n FROM analyses WHERE ${OWES_WRITE_BACK}`);
  }

  /** Number of done rows whose write-back a lasting failure stopped until the next start. */
  async countStoppedWriteBacks(): Promise<number> {
    return await this.#count(
      `SELECT COUNT(*) AS n FROM analyses WHERE ${LACKS_OBSERVATION}
         AND writeback_error_code IN (${PERMANENT_CODES_SQL})`,
    );
  }

  /** Records why the analysis of `key` failed. */
  async markFailed(key: ResultKey, failure: AnalysisFailure): Promise<void> {
    await this.#update(key, `status = 'failed', result_json = NULL, error_code = $1, error_message = $2`, [
      failure.code,
      failure.message,
    ]);
  }

  /**
   * Moves the failed row of `key` back to pending when its failure was recorded before `before`, or
   * at any time when `before` is null. Returns true when the row was requeued.
   */
  async requeueFailed(key: ResultKey, before: Date | null): Promise<boolean> {
    const requeued = await this.#pool.query(
      `UPDATE analyses SET status = 'pending', error_code = NULL, error_message = NULL, updated_at = $1
       WHERE ${keyCondition(2)} AND status = 'failed' AND ($7::text IS NULL OR updated_at < $7::text)`,
      [this.#now().toISOString(), ...keyValues(key), before === null ? null : before.toISOString()],
    );
    return requeued.rowCount === 1;
  }

  /**
   * Moves every running row back to pending; returns how many. Only for the embedded queue at start-up:
   * with several worker processes, the rows another worker is computing would be computed twice.
   */
  async requeueRunning(): Promise<number> {
    const requeued = await this.#pool.query(
      `UPDATE analyses SET status = 'pending', updated_at = $1 WHERE status = 'running'`,
      [this.#now().toISOString()],
    );
    return requeued.rowCount ?? 0;
  }

  /**
   * Keys of at most `limit` rows that may have no queued job: pending rows not updated since
   * `pendingBefore` and running rows not updated since `runningBefore`, oldest update first.
   */
  async listStalled(pendingBefore: Date, runningBefore: Date, limit: number): Promise<ResultKey[]> {
    const { rows } = await this.#pool.query<ResultKeyRow>(
      `SELECT ${KEY_COLUMNS} FROM analyses
       WHERE (status = 'pending' AND updated_at < $1) OR (status = 'running' AND updated_at < $2)
       ORDER BY updated_at, seq LIMIT $3`,
      [pendingBefore.toISOString(), runningBefore.toISOString(), limit],
    );
    return rows.map(toResultKey);
  }

  /** Number of rows in each status, for health checks. */
  async countByStatus(): Promise<Record<ResultStatus, number>> {
    const counts: Record<ResultStatus, number> = { pending: 0, running: 0, done: 0, failed: 0 };
    const { rows } = await this.#pool.query<{ status: ResultStatus; n: string }>(
      `SELECT status, COUNT(*) AS n FROM analyses GROUP BY status`,
    );
    for (const row of rows) counts[row.status] = Number(row.n);
    return counts;
  }

  /** Runs `SELECT 1`, and throws `ERR_STORE_UNAVAILABLE` when the server cannot be reached. */
  async ping(): Promise<void> {
    await this.#pool.query('SELECT 1');
  }

  /** Closes the pool; later calls fail. */
  async close(): Promise<void> {
    await this.#pool.end();
  }

  async #count(sql: string): Promise<number> {
    const { rows } = await this.#pool.query<{ n: string }>(sql);
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Applies `assignments` (which use `$1` to `$n` for `values`) and the update time to the row of `key`.
   *
   * @throws Error when the key has no row, as the SQLite store does.
   */
  async #update(key: ResultKey, assignments: string, values: readonly (string | null)[]): Promise<void> {
    const updatedAtIndex = values.length + 1;
    const updated = await this.#pool.query(
      `UPDATE analyses SET ${assignments}, updated_at = $${updatedAtIndex}
       WHERE ${keyCondition(updatedAtIndex + 1)}`,
      [...values, this.#now().toISOString(), ...keyValues(key)],
    );
    if (updated.rowCount !== 1) throw missingAnalysisError(key);
  }
}

/** Converts a row, whose jsonb columns `pg` has parsed, to a {@link StoredAnalysis}. */
function parseStoredAnalysis(row: AnalysisRow): StoredAnalysis {
  return toStoredAnalysis({ ...row, job: row.job_json, result: row.result_json });
}
