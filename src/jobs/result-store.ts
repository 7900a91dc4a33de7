/**
 * The embedded result store: one SQLite table (better-sqlite3) with one row per (Study Instance UID,
 * requested series, requested segmentation, model id, model version). The requested series and
 * segmentation are '' for the service's automatic choice, which hooks read. A series that the SMART
 * app requests gets its own row (`result-store-schema.ts`). A row moves
 * pending → running → done | failed. The same database file contains the card feedback tables
 * ({@link FeedbackStore}).
 *
 * A done automatic row owes a FHIR write-back while it has a result, both FHIR ids and no observation
 * id. A row of a requested series never owes one, so it cannot replace the chart's Observation of the
 * automatic choice, which has the same identifier.
 * The state is derived from those columns, so it survives a restart without a flag to keep in
 * step. `writeback_attempted_at` spaces out retries, and `writeback_error_*` records the last failure.
 *
 * All calls are synchronous and each is one statement or one transaction, so the hook can read the
 * store inside its time budget and two enqueues of the same study insert one row.
 */

/* eslint-disable @typescript-eslint/require-await -- better-sqlite3 answers synchronously; the methods are
   async only to implement the engine-neutral interfaces of `store.ts`. */

import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

import Database from 'better-sqlite3';

import type { ScoreResult } from '../model/result.js';
import { SqliteAuditTrail } from './audit-trail.js';
import { SqliteChartRecordStore } from './chart-record-store.js';
import { SqliteFeedbackStore } from './feedback-store.js';
import { SqliteOverlayStore } from './overlay-store.js';
import { KEY_COLUMNS, openAnalysesTable } from './result-store-schema.js';
import {
  PERMANENT_WRITE_BACK_ERRORS,
  type AuditTrail,
  type ChartRecordStore,
  type DoneWriteBack,
  type FeedbackStore,
  type IndexedResultKey,
  type OverlayStore,
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

/** SQL condition that selects the row of one {@link ResultKey}; bind {@link keyValues} to it. */
const KEY_CONDITION = `study_instance_uid = ? AND requested_series_instance_uid = ?
  AND requested_segmentation_sop_instance_uid = ? AND model_id = ? AND model_version = ?`;

/** Values of {@link KEY_CONDITION}, with '' for an automatic choice. */
type KeyValues = ReturnType<typeof resultKeyValues>;

const keyValues = resultKeyValues;

/** SQL condition of a done automatic row with both FHIR ids and without an Observation. */
const LACKS_OBSERVATION = `status = 'done' AND observation_id IS NULL
  AND requested_series_instance_uid = '' AND requested_segmentation_sop_instance_uid = ''
  AND json_extract(job_json, '$.patientId') IS NOT NULL
  AND json_extract(job_json, '$.imagingStudyId') IS NOT NULL`;

/** SQL list of the permanent write-back error codes. */
const PERMANENT_CODES_SQL = PERMANENT_WRITE_BACK_ERRORS.map((code) => `'${code}'`).join(', ');

/** SQL condition of a row that owes a write-back: it lacks its Observation and no permanent failure stopped it. */
const OWES_WRITE_BACK = `${LACKS_OBSERVATION}
  AND (writeback_error_code IS NULL OR writeback_error_code NOT IN (${PERMANENT_CODES_SQL}))`;

/** The columns of {@link AnalysisRow}, which {@link toStoredAnalysis} reads. */
const ANALYSIS_COLUMNS =
  'id, status, job_json, result_json, observation_id, effective_date_time, error_code, error_message, created_at, updated_at';

interface AnalysisRow {
  id: string;
  status: ResultStatus;
  job_json: string;
  result_json: string | null;
  observation_id: string | null;
  effective_date_time: string | null;
  error_code: string | null;
  error_message: string | null;
  created_at: string;
  updated_at: string;
}

export interface ResultStoreOptions {
  /** Clock for `created_at`/`updated_at`; tests freeze it. */
  readonly now?: () => Date;
}

/** Result store on one SQLite file (or `:memory:` in tests). */
export class SqliteResultStore implements ResultStore {
  readonly engine = 'sqlite';
  readonly #db: Database.Database;
  readonly #now: () => Date;
  /**
   * The lookups on the hook's hot path, prepared once. Preparing compiles the SQL, which took about
   * two thirds of each lookup. Both lookups use an index (the primary key, and the UNIQUE `id`).
   */
  readonly #selectByKey: Database.Statement<KeyValues, AnalysisRow>;
  readonly #selectById: Database.Statement<[string], AnalysisRow>;
  /** Card feedback, stored in the same database. */
  readonly feedback: FeedbackStore;
  /** The pictures of the regions of each finished analysis, stored in the same database. */
  readonly overlays: OverlayStore;
  /** The records of results in the chart by clinicians, stored in the same database. */
  readonly chartRecords: ChartRecordStore;
  /** Audit trail of computations, result reads, chart records and write-backs, in the same database. */
  readonly audit: AuditTrail;
  /** Called after a row gained FHIR ids, so a queue can write back a result that owes it. */
  readonly #boundListeners: (() => void)[] = [];

  /** Opens (creating if needed) the database at `sqlitePath`, creating its folder too. */
  constructor(sqlitePath: string, options: ResultStoreOptions = {}) {
    if (sqlitePath !== ':memory:') mkdirSync(path.dirname(path.resolve(sqlitePath)), { recursive: true });
    this.#db = new Database(sqlitePath);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('busy_timeout = 5000');
    openAnalysesTable(this.#db);
    this.#now = options.now ?? (() => new Date());
    this.#selectByKey = this.#db.prepare(`SELECT ${ANALYSIS_COLUMNS} FROM analyses WHERE ${KEY_CONDITION}`);
    this.#selectById = this.#db.prepare(`SELECT ${ANALYSIS_COLUMNS} FROM analyses WHERE id = ?`);
    this.feedback = new SqliteFeedbackStore(this.#db, this.#now);
    this.overlays = new SqliteOverlayStore(this.#db);
    this.chartRecords = new SqliteChartRecordStore(this.#db);
    this.audit = new SqliteAuditTrail(this.#db, this.#now);
  }

  /**
   * Inserts a pending row for `job` unless its key already has a row (in any status).
   *
   * @returns true when a row was inserted, false when one already existed.
   */
  async insertPending(job: AnalysisJob): Promise<boolean> {
    const now = this.#now().toISOString();
    const info = this.#db
      .prepare(
        `INSERT INTO analyses (id, ${KEY_COLUMNS}, status, job_json, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)
         ON CONFLICT (${KEY_COLUMNS}) DO NOTHING`,
      )
      .run(randomUUID(), ...keyValues(job), JSON.stringify(job), now, now);
    return info.changes === 1;
  }

  /**
   * Returns the row for `key`, or undefined when the study was never enqueued for that model and
   * choice. A key without a requested series or segmentation reads the automatic row.
   */
  async getResult(key: ResultKey): Promise<StoredAnalysis | undefined> {
    const row = this.#selectByKey.get(...keyValues(key));
    return row === undefined ? undefined : parseStoredAnalysis(row);
  }

  /**
   * Gives a row enqueued without FHIR ids (by a PACS notification or the QIDO poller) the patient
   * and ImagingStudy ids of `job`, which a hook supplies. A row that already has a patient keeps it,
   * so the first hook binds the study to its patient record, as when a hook enqueues it. The
   * update time stays, so the retry interval of a failed row is unchanged.
   *
   * @returns the row after the update, or undefined when the key has no row.
   */
  async bindFhirIds(job: AnalysisJob): Promise<StoredAnalysis | undefined> {
    if (job.patientId !== undefined && job.imagingStudyId !== undefined) {
      const info = this.#db
        .prepare(
          `UPDATE analyses
           SET job_json = CASE WHEN ? IS NULL
             THEN json_set(job_json, '$.patientId', ?, '$.imagingStudyId', ?)
             ELSE json_set(job_json, '$.patientId', ?, '$.imagingStudyId', ?, '$.fhirServer', ?) END
           WHERE ${KEY_CONDITION} AND json_extract(job_json, '$.patientId') IS NULL`,
        )
        .run(
          job.fhirServer ?? null,
          job.patientId,
          job.imagingStudyId,
          job.patientId,
          job.imagingStudyId,
          job.fhirServer ?? null,
          ...keyValues(job),
        );
      if (info.changes === 1) for (const listener of this.#boundListeners) listener();
    }
    return await this.getResult(job);
  }

  /** Registers `listener` to run after {@link bindFhirIds} gave a row its ids. */
  onFhirIdsBound(listener: () => void): void {
    this.#boundListeners.push(listener);
  }

  /** Returns the row with the given id (the SMART app's `appContext`), or undefined. */
  async getById(id: string): Promise<StoredAnalysis | undefined> {
    const row = this.#selectById.get(id);
    return row === undefined ? undefined : parseStoredAnalysis(row);
  }

  /**
   * Returns every row of one study for one model version: the automatic row first, then the rows of
   * requested series, most recently updated first. The primary key starts with the study UID, so the
   * lookup uses its index.
   */
  async listByStudy(
    studyInstanceUid: string,
    modelId: string,
    modelVersion: string,
  ): Promise<StoredAnalysis[]> {
    return this.#db
      .prepare<[string, string, string], AnalysisRow>(
        `SELECT ${ANALYSIS_COLUMNS} FROM analyses
         WHERE study_instance_uid = ? AND model_id = ? AND model_version = ?
         ORDER BY (requested_series_instance_uid = '' AND requested_segmentation_sop_instance_uid = '') DESC,
           updated_at DESC, rowid DESC`,
      )
      .all(studyInstanceUid, modelId, modelVersion)
      .map(parseStoredAnalysis);
  }

  /**
   * Returns the keys of the analyses inserted after `rowid`, in insertion order. Rows are never
   * deleted, so a caller that remembers the largest rowid it has seen reads each key once.
   */
  async keysAfter(rowid: number): Promise<IndexedResultKey[]> {
    return this.#db
      .prepare<[number], IndexedResultKey>(
        `SELECT rowid, study_instance_uid AS studyInstanceUid, model_id AS modelId, model_version AS modelVersion
         FROM analyses WHERE rowid > ? ORDER BY rowid`,
      )
      .all(rowid);
  }

  /** Atomically moves the oldest pending row to running and returns its job, or undefined if none. */
  async claimPending(): Promise<AnalysisJob | undefined> {
    const claim = this.#db.transaction((): AnalysisJob | undefined => {
      const row = this.#db
        .prepare<[], { id: string; job_json: string }>(
          `SELECT id, job_json FROM analyses WHERE status = 'pending' ORDER BY created_at, rowid LIMIT 1`,
        )
        .get();
      if (row === undefined) return undefined;

      this.#db
        .prepare(`UPDATE analyses SET status = 'running', updated_at = ? WHERE id = ?`)
        .run(this.#now().toISOString(), row.id);
      return JSON.parse(row.job_json) as AnalysisJob;
    });
    return claim.immediate();
  }

  /**
   * Moves the row of `key` to running when it is pending, or running since before `runningBefore`,
   * and returns its job. Returns undefined otherwise. For a queue that delivers each job itself.
   */
  async claimKey(key: ResultKey, runningBefore: Date): Promise<AnalysisJob | undefined> {
    const row = this.#db
      .prepare<[string, ...KeyValues, string], { job_json: string }>(
        `UPDATE analyses SET status = 'running', updated_at = ?
         WHERE ${KEY_CONDITION}
           AND (status = 'pending' OR (status = 'running' AND updated_at < ?))
         RETURNING job_json`,
      )
      .get(this.#now().toISOString(), ...keyValues(key), runningBefore.toISOString());
    return row === undefined ? undefined : (JSON.parse(row.job_json) as AnalysisJob);
  }

  /** Renews the update time of the running row of `key`; false when it is not running. */
  async touchRunning(key: ResultKey): Promise<boolean> {
    return (
      this.#db
        .prepare(`UPDATE analyses SET updated_at = ? WHERE ${KEY_CONDITION} AND status = 'running'`)
        .run(this.#now().toISOString(), ...keyValues(key)).changes === 1
    );
  }

  /**
   * Stores a finished result for `key` and clears any earlier failure. Without `observationId`, a
   * row with both FHIR ids owes a write-back: at once, or after the retry interval when
   * `writeBack.failure` is set (the write-back during the analysis failed).
   */
  async markDone(
    key: ResultKey,
    result: ScoreResult,
    observationId?: string,
    writeBack: DoneWriteBack = {},
  ): Promise<void> {
    const failure = observationId === undefined ? writeBack.failure : undefined;
    this.#update(
      key,
      `status = 'done', result_json = ?, observation_id = ?, error_code = NULL, error_message = NULL,
       effective_date_time = ?, writeback_attempted_at = ?, writeback_error_code = ?, writeback_error_message = ?`,
      JSON.stringify(result),
      observationId ?? null,
      writeBack.effectiveDateTime ?? null,
      failure === undefined ? null : this.#now().toISOString(),
      failure?.code ?? null,
      failure?.message ?? null,
    );
  }

  /**
   * Atomically takes the oldest row that owes a write-back and was not attempted since `retryBefore`.
   * It marks the row attempted now.
   *
   * @returns the job with its ids, the result and the CT date; undefined when no row is due.
   */
  async claimWriteBack(retryBefore: Date): Promise<OwedWriteBack | undefined> {
    const claim = this.#db.transaction((): OwedWriteBack | undefined => {
      const row = this.#db
        .prepare<
          [string],
          { id: string; job_json: string; result_json: string; effective_date_time: string | null }
        >(
          `SELECT id, job_json, result_json, effective_date_time FROM analyses
           WHERE ${OWES_WRITE_BACK} AND (writeback_attempted_at IS NULL OR writeback_attempted_at < ?)
           ORDER BY rowid LIMIT 1`,
        )
        .get(retryBefore.toISOString());
      if (row === undefined) return undefined;

      this.#db
        .prepare(`UPDATE analyses SET writeback_attempted_at = ? WHERE id = ?`)
        .run(this.#now().toISOString(), row.id);
      return {
        analysisId: row.id,
        job: JSON.parse(row.job_json) as OwedWriteBack['job'],
        result: JSON.parse(row.result_json) as ScoreResult,
        ...(row.effective_date_time === null ? {} : { effectiveDateTime: row.effective_date_time }),
      };
    });
    return claim.immediate();
  }

  /** Records the Observation written for the done result of `key` and clears the write-back failure. */
  async recordObservation(key: ResultKey, observationId: string): Promise<void> {
    this.#update(
      key,
      `observation_id = ?, writeback_error_code = NULL, writeback_error_message = NULL`,
      observationId,
    );
  }

  /** Records why the write-back of `key` failed; the result stays, and the write-back stays owed. */
  async recordWriteBackFailure(key: ResultKey, failure: AnalysisFailure): Promise<void> {
    this.#update(key, `writeback_error_code = ?, writeback_error_message = ?`, failure.code, failure.message);
  }

  /**
   * Makes every owed write-back due now, so that one interrupted or failed before a restart is
   * retried at start-up, and lifts the stop of a permanent failure (a restart after hospital IT
   * resolved a patient conflict tries once more). The writer finds an earlier Observation by its
   * identifier and replaces it, so a retry after an interrupted write creates no second one.
   *
   * @returns the number of rows that owe a write-back.
   */
  async resetWriteBackAttempts(): Promise<number> {
    return this.#db
      .prepare(
        `UPDATE analyses SET writeback_attempted_at = NULL,
           writeback_error_code = CASE WHEN writeback_error_code IN (${PERMANENT_CODES_SQL}) THEN NULL ELSE writeback_error_code END
         WHERE ${LACKS_OBSERVATION}`,
      )
      .run().changes;
  }

  /** Number of done rows that owe a write-back, for health checks and tests. */
  async countOwedWriteBacks(): Promise<number> {
    return (
      this.#db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM analyses WHERE ${OWES_WRITE_BACK}`).get()
        ?.n ?? 0
    );
  }

  /**
   * Number of done rows whose write-back a lasting failure stopped ({@link PERMANENT_WRITE_BACK_ERRORS})
   * until the next start, for health checks.
   */
  async countStoppedWriteBacks(): Promise<number> {
    return (
      this.#db
        .prepare<[], { n: number }>(
          `SELECT COUNT(*) AS n FROM analyses WHERE ${LACKS_OBSERVATION}
             AND writeback_error_code IN (${PERMANENT_CODES_SQL})`,
        )
        .get()?.n ?? 0
    );
  }

  /** Records why the analysis of `key` failed. */
  async markFailed(key: ResultKey, failure: AnalysisFailure): Promise<void> {
    this.#update(
      key,
      `status = 'failed', result_json = NULL, error_code = ?, error_message = ?`,
      failure.code,
      failure.message,
    );
  }

  /**
   * Moves the failed row of `key` back to pending when its failure was recorded before `before`,
   * or whenever it was recorded when `before` is null, so that a study whose segmentation or series
   * arrived later is analysed again.
   *
   * @returns true when the row was requeued.
   */
  async requeueFailed(key: ResultKey, before: Date | null): Promise<boolean> {
    const beforeIso = before === null ? null : before.toISOString();
    return (
      this.#db
        .prepare(
          `UPDATE analyses SET status = 'pending', error_code = NULL, error_message = NULL, updated_at = ?
           WHERE ${KEY_CONDITION} AND status = 'failed' AND (? IS NULL OR updated_at < ?)`,
        )
        .run(this.#now().toISOString(), ...keyValues(key), beforeIso, beforeIso).changes === 1
    );
  }

  /**
   * Moves rows left `running` by a process that stopped mid-analysis back to pending, so the next
   * worker retries them. Call once at start-up, before the worker runs.
   *
   * @returns the number of rows requeued.
   */
  async requeueRunning(): Promise<number> {
    return this.#db
      .prepare(`UPDATE analyses SET status = 'pending', updated_at = ? WHERE status = 'running'`)
      .run(this.#now().toISOString()).changes;
  }

  /** Keys of pending rows not updated since `pendingBefore` and running rows not updated since `runningBefore`. */
  async listStalled(pendingBefore: Date, runningBefore: Date, limit: number): Promise<ResultKey[]> {
    return this.#db
      .prepare<[string, string, number], ResultKeyRow>(
        `SELECT ${KEY_COLUMNS} FROM analyses
         WHERE (status = 'pending' AND updated_at < ?) OR (status = 'running' AND updated_at < ?)
         ORDER BY updated_at, rowid LIMIT ?`,
      )
      .all(pendingBefore.toISOString(), runningBefore.toISOString(), limit)
      .map(toResultKey);
  }

  /** Number of rows in each status, for health checks. */
  async countByStatus(): Promise<Record<ResultStatus, number>> {
    const counts: Record<ResultStatus, number> = { pending: 0, running: 0, done: 0, failed: 0 };
    const rows = this.#db
      .prepare<[], { status: ResultStatus; n: number }>(
        `SELECT status, COUNT(*) AS n FROM analyses GROUP BY status`,
      )
      .all();
    for (const row of rows) counts[row.status] = row.n;
    return counts;
  }

  /** Runs a trivial query for the readiness check, and throws when the database cannot run it. */
  async ping(): Promise<void> {
    this.#db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.#db.close();
  }

  #update(key: ResultKey, assignments: string, ...values: (string | null)[]): void {
    const info = this.#db
      .prepare(`UPDATE analyses SET ${assignments}, updated_at = ? WHERE ${KEY_CONDITION}`)
      .run(...values, this.#now().toISOString(), ...keyValues(key));
    if (info.changes !== 1) throw missingAnalysisError(key);
  }
}

/** Parses the JSON columns of a row and converts it to a {@link StoredAnalysis}. */
function parseStoredAnalysis(row: AnalysisRow): StoredAnalysis {
  return toStoredAnalysis({
    ...row,
    job: JSON.parse(row.job_json) as AnalysisJob,
    result: row.result_json === null ? null : (JSON.parse(row.result_json) as ScoreResult),
  });
}
