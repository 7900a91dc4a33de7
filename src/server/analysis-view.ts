/**
 * The stored analysis as the SMART app receives it from `POST /api/analyses` and
 * `GET /api/analyses/{id}`: the row without the patient id, which the app already has from its
 * launch context and which this service never sends.
 */

import type { ChartRecord } from '../jobs/chart-record-store.js';
import type { AnalysisFailure, ResultStatus, StoredAnalysis } from '../jobs/types.js';
import type { ScoreResult } from '../model/result.js';

/** Body of a 200 response that returns a stored row. */
export interface AnalysisView {
  readonly id: string;
  readonly status: ResultStatus;
  readonly studyInstanceUid: string;
  readonly imagingStudyId?: string;
  /** The CT series the app requested; absent for the service's automatic choice. */
  readonly seriesInstanceUid?: string;
  readonly segmentationSopInstanceUid?: string;
  readonly model: { readonly id: string; readonly version: string };
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Present when `status` is `done`. */
  readonly result?: ScoreResult;
  /** Present when `status` is `failed`. */
  readonly failure?: AnalysisFailure;
  /** Logical id of the FHIR Observation written back; present once a done row has one. */
  readonly observationId?: string;
  /**
   * The latest record of the study's result in the chart by a clinician, from this analysis or another
   * analysis of the same study and model version (`analysisId` names which); absent before any record.
   */
  readonly chartRecord?: ChartRecordSummary;
}

/** A clinician's record of a result in the chart, as the app shows it. */
export interface ChartRecordSummary {
  readonly analysisId: string;
  readonly observationId: string;
  readonly observationVersionId?: string;
  readonly status: 'final' | 'amended';
  readonly clinician: { readonly reference: string; readonly display?: string };
  readonly recordedAt: string;
}

/** Returns the app's view of a chart record: the record without the study and model keys. */
export function chartRecordSummary(record: ChartRecord): ChartRecordSummary {
  return {
    analysisId: record.analysisId,
    observationId: record.observationId,
    ...(record.observationVersionId === undefined
      ? {}
      : { observationVersionId: record.observationVersionId }),
    status: record.status,
    clinician: record.clinician,
    recordedAt: record.recordedAt,
  };
}

/**
 * Builds the {@link AnalysisView} of a stored row, with the study's latest chart record when given;
 * the job's `patientId` is left out.
 */
export function viewOf(stored: StoredAnalysis, chartRecord?: ChartRecord): AnalysisView {
  const { job } = stored;
  const view: AnalysisView = {
    id: stored.id,
    status: stored.status,
    studyInstanceUid: job.studyInstanceUid,
    ...(job.imagingStudyId === undefined ? {} : { imagingStudyId: job.imagingStudyId }),
    ...(job.seriesInstanceUid === undefined ? {} : { seriesInstanceUid: job.seriesInstanceUid }),
    ...(job.segmentationSopInstanceUid === undefined
      ? {}
      : { segmentationSopInstanceUid: job.segmentationSopInstanceUid }),
    model: { id: job.modelId, version: job.modelVersion },
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
  };

  switch (stored.status) {
    case 'pending':
    case 'running':
      return view;
    case 'done':
      return {
        ...view,
        result: stored.result,
        ...(stored.observationId === undefined ? {} : { observationId: stored.observationId }),
        ...(chartRecord === undefined ? {} : { chartRecord: chartRecordSummary(chartRecord) }),
      };
    case 'failed':
      return { ...view, failure: stored.failure };
  }
}
