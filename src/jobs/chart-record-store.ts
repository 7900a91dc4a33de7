/**
 * The records of results in the chart (`src/fhir/chart-record.ts`), in the result store's SQLite
 * file: one row per record, never updated, so the history of who recorded which analysis of a study
 * as final or amended, and when, stays. The chart contains one Observation per study and model version,
 * so the app shows the latest record of the study, whichever analysis of it (automatic or a requested
 * series) was recorded.
 *
 * The clinician reference is a staff identifier; no patient identifier is stored here.
 */

/* eslint-disable @typescript-eslint/require-await -- better-sqlite3 answers synchronously; the methods are
   async only to implement the engine-neutral interfaces of `store.ts`. */

import { randomUUID } from 'node:crypto';

import type Database from 'better-sqlite3';
import type { ChartRecordStore } from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS chart_records (
  id                      TEXT PRIMARY KEY,
  analysis_id             TEXT NOT NULL,
  study_instance_uid      TEXT NOT NULL,
  model_id                TEXT NOT NULL,
  model_version           TEXT NOT NULL,
  observation_id          TEXT NOT NULL,
  observation_version_id  TEXT,
  status                  TEXT NOT NULL CHECK (status IN ('final', 'amended')),
  provenance_id           TEXT,
  clinician_reference     TEXT NOT NULL,
  clinician_display       TEXT,
  recorded_at             TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chart_records_by_study
  ON chart_records (study_instance_uid, model_id, model_version, recorded_at);
`;

/** One record of a result in the chart. */
export interface ChartRecord {
  /** The analysis whose result was recorded. */
  readonly analysisId: string;
  readonly studyInstanceUid: string;
  readonly modelId: string;
  readonly modelVersion: string;
  readonly observationId: string;
  readonly observationVersionId?: string;
  readonly status: 'final' | 'amended';
  /** Absent when the Observation was written but its Provenance failed (`ERR_CHART_PROVENANCE_FAILED`). */
  readonly provenanceId?: string;
  readonly clinician: { readonly reference: string; readonly display?: string };
  /** ISO 8601 time of the record. */
  readonly recordedAt: string;
}

/** One row of `chart_records` without its id, as both engines return it. */
export interface ChartRecordRow {
  analysis_id: string;
  study_instance_uid: string;
  model_id: string;
  model_version: string;
  observation_id: string;
  observation_version_id: string | null;
  status: 'final' | 'amended';
  provenance_id: string | null;
  clinician_reference: string;
  clinician_display: string | null;
  recorded_at: string;
}

/** Chart records on the result store's open database; the result store creates the table. */
export class SqliteChartRecordStore implements ChartRecordStore {
  readonly #db: Database.Database;
  /** The lookup of {@link latestForStudy}, prepared once because every hook with a result runs it. */
  readonly #selectLatest: Database.Statement<[string, string, string], ChartRecordRow>;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#db.exec(SCHEMA);
    this.#selectLatest = this.#db.prepare(
      `SELECT * FROM chart_records WHERE study_instance_uid = ? AND model_id = ? AND model_version = ?
       ORDER BY recorded_at DESC, rowid DESC LIMIT 1`,
    );
  }

  /** Adds one record. */
  async add(record: ChartRecord): Promise<void> {
    this.#db
      .prepare(
        `INSERT INTO chart_records (id, analysis_id, study_instance_uid, model_id, model_version, observation_id,
           observation_version_id, status, provenance_id, clinician_reference, clinician_display, recorded_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        randomUUID(),
        record.analysisId,
        record.studyInstanceUid,
        record.modelId,
        record.modelVersion,
        record.observationId,
        record.observationVersionId ?? null,
        record.status,
        record.provenanceId ?? null,
        record.clinician.reference,
        record.clinician.display ?? null,
        record.recordedAt,
      );
  }

  /** Returns the latest record of the study's result for one model version, or undefined when none exists. */
  async latestForStudy(key: {
    readonly studyInstanceUid: string;
    readonly modelId: string;
    readonly modelVersion: string;
  }): Promise<ChartRecord | undefined> {
    const row = this.#selectLatest.get(key.studyInstanceUid, key.modelId, key.modelVersion);
    return row === undefined ? undefined : toChartRecord(row);
  }
}

export function toChartRecord(row: ChartRecordRow): ChartRecord {
  return {
    analysisId: row.analysis_id,
    studyInstanceUid: row.study_instance_uid,
    modelId: row.model_id,
    modelVersion: row.model_version,
    observationId: row.observation_id,
    ...(row.observation_version_id === null ? {} : { observationVersionId: row.observation_version_id }),
    status: row.status,
    ...(row.provenance_id === null ? {} : { provenanceId: row.provenance_id }),
    clinician: {
      reference: row.clinician_reference,
      ...(row.clinician_display === null ? {} : { display: row.clinician_display }),
    },
    recordedAt: row.recorded_at,
  };
}
