/**
 * The row shape of the `analyses` table that both store engines share: the five key columns (the
 * requested series and segmentation are '' for the service's automatic choice) and the conversion
 * of a row to a {@link StoredAnalysis}. Each engine reads its JSON columns its own way (SQLite text,
 * PostgreSQL jsonb) and passes the parsed values here.
 */

import type { ErrorCode } from '../errors.js';
import type { ScoreResult } from '../model/result.js';
import type { AnalysisJob, ResultKey, ResultStatus, StoredAnalysis } from './types.js';

/** Values of the key columns of `key`, with '' for an automatic choice. */
export function resultKeyValues(key: ResultKey): [string, string, string, string, string] {
  return [
    key.studyInstanceUid,
    key.seriesInstanceUid ?? '',
    key.segmentationSopInstanceUid ?? '',
    key.modelId,
    key.modelVersion,
  ];
}

/** The key columns of one row. */
export interface ResultKeyRow {
  study_instance_uid: string;
  requested_series_instance_uid: string;
  requested_segmentation_sop_instance_uid: string;
  model_id: string;
  model_version: string;
}

/** Converts key columns to a {@link ResultKey}; '' in a requested column means the automatic choice. */
export function toResultKey(row: ResultKeyRow): ResultKey {
  return {
    studyInstanceUid: row.study_instance_uid,
    ...(row.requested_series_instance_uid === ''
      ? {}
      : { seriesInstanceUid: row.requested_series_instance_uid }),
    ...(row.requested_segmentation_sop_instance_uid === ''
      ? {}
      : { segmentationSopInstanceUid: row.requested_segmentation_sop_instance_uid }),
    modelId: row.model_id,
    modelVersion: row.model_version,
  };
}

/** One row of `analyses` with its JSON columns parsed. */
export interface ParsedAnalysisRow {
  readonly id: string;
  readonly status: ResultStatus;
  readonly job: AnalysisJob;
  /** The result of a done row; null otherwise. */
  readonly result: ScoreResult | null;
  readonly observation_id: string | null;
  readonly effective_date_time: string | null;
  readonly error_code: string | null;
  readonly error_message: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

/** Converts a row to the {@link StoredAnalysis} of its status. */
export function toStoredAnalysis(row: ParsedAnalysisRow): StoredAnalysis {
  const base = { id: row.id, job: row.job, createdAt: row.created_at, updatedAt: row.updated_at };

  switch (row.status) {
    case 'pending':
    case 'running':
      return { ...base, status: row.status };
    case 'done':
      return {
        ...base,
        status: 'done',
        // A done row always has a result; a missing one is read as null, as stored.
        result: row.result as ScoreResult,
        ...(row.observation_id === null ? {} : { observationId: row.observation_id }),
        ...(row.effective_date_time === null ? {} : { effectiveDateTime: row.effective_date_time }),
      };
    case 'failed':
      return {
        ...base,
        status: 'failed',
        failure: { code: (row.error_code ?? 'ERR_INTERNAL') as ErrorCode, message: row.error_message ?? '' },
      };
  }
}

/** Returns the error of an update of a key without a row, a caller's bug because rows are never deleted. */
export function missingAnalysisError(key: ResultKey): Error {
  return new Error(
    `No stored analysis for study ${key.studyInstanceUid}, requested series ` +
      `${key.seriesInstanceUid ?? '(automatic)'} and model ${key.modelId} ${key.modelVersion}; insert it first`,
  );
}
