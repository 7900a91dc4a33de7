/**
 * The records of results in the chart on PostgreSQL, with the rules of the SQLite table
 * (`chart-record-store.ts`): one row per record, never updated. `seq` orders records with the same
 * time, as the rowid does in SQLite.
 */

import { randomUUID } from 'node:crypto';

import { toChartRecord, type ChartRecord, type ChartRecordRow } from './chart-record-store.js';
import type { PostgresPool } from './postgres-pool.js';
import type { ChartRecordStore } from './store.js';

/** Chart records of the PostgreSQL store. */
export class PostgresChartRecordStore implements ChartRecordStore {
  readonly #pool: PostgresPool;

  constructor(pool: PostgresPool) {
    this.#pool = pool;
  }

  /** Adds one record. */
  async add(record: ChartRecord): Promise<void> {
    await this.#pool.query(
      `INSERT INTO chart_records (id, analysis_id, study_instance_uid, model_id, model_version, observation_id,
         observation_version_id, status, provenance_id, clinician_reference, clinician_display, recorded_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
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
      ],
    );
  }

  /** Returns the latest record of the study's result for one model version, or undefined when none exists. */
  async latestForStudy(key: {
    readonly studyInstanceUid: string;
    readonly modelId: string;
    readonly modelVersion: string;
  }): Promise<ChartRecord | undefined> {
    const { rows } = await this.#pool.query<ChartRecordRow>(
      `SELECT analysis_id, study_instance_uid, model_id, model_version, observation_id, observation_version_id,
         status, provenance_id, clinician_reference, clinician_display, recorded_at
       FROM chart_records WHERE study_instance_uid = $1 AND model_id = $2 AND model_version = $3
       ORDER BY recorded_at DESC, seq DESC LIMIT 1`,
      [key.studyInstanceUid, key.modelId, key.modelVersion],
    );
    return rows[0] === undefined ? undefined : toChartRecord(rows[0]);
  }
}
