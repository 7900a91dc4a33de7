/**
 * Types shared by the result store, the in-process queue, the CDS hook that enqueues work and the
 * worker function that analyses a study (`src/jobs/analyse-study.ts`).
 */

import type { ErrorCode } from '../errors.js';
import type { RoiOverlay } from '../imaging/roi-overlay.js';
import type { ScoreResult } from '../model/result.js';

/** One request to score one imaging study with one model card version. */
export interface AnalysisJob {
  /** DICOM Study Instance UID (0020,000D), without the `urn:oid:` prefix. */
  readonly studyInstanceUid: string;
  /**
   * Logical id of the FHIR ImagingStudy the hook saw, used for write-back and `derivedFrom`. Absent
   * for a job started by a PACS notification or the QIDO poller, until a hook binds the ids.
   */
  readonly imagingStudyId?: string;
  /**
   * Logical id of the FHIR Patient. Stored for write-back and to bind the result to its patient;
   * never logged. Absent, like `imagingStudyId`, for a job started by the PACS.
   */
  readonly patientId?: string;
  /**
   * FHIR base URL that `imagingStudyId` and `patientId` belong to: the hook's `fhirServer`, or the
   * app's for a requested series. Absent in jobs stored before it was recorded, and in jobs started by
   * the PACS until a hook binds the ids; those belong to `fhir.baseUrl`.
   */
  readonly fhirServer?: string;
  /**
   * Series Instance UID of the CT series the SMART app requested. Absent: the service chooses the
   * series by its rules (`src/dicomweb/select-series.ts`), as for every hook, PACS notification and
   * poller job.
   */
  readonly seriesInstanceUid?: string;
  /**
   * SOP Instance UID of the requested SEG or RTSTRUCT. Absent: the segmentation rule chooses the one
   * that references the analysed CT series.
   */
  readonly segmentationSopInstanceUid?: string;
  readonly modelId: string;
  readonly modelVersion: string;
}

/** Output of a successful analysis, returned to the queue. */
export interface AnalysisOutput {
  readonly result: ScoreResult;
  /** Logical id of the FHIR Observation written back, when write-back is configured. */
  readonly observationId?: string;
  /** CT acquisition date or time for the Observation, kept for a write-back after the analysis. */
  readonly effectiveDateTime?: string;
  /** Pictures of the tumour and its margin over the CT, for the app; absent when they could not be drawn. */
  readonly overlay?: RoiOverlay;
  /**
   * Failure of the write-back during the analysis. The result is stored anyway, and the queue
   * retries only the write-back.
   */
  readonly writeBackFailure?: AnalysisFailure;
}

/**
 * Analyses one study: locate the series and segmentation, compute the features and score them.
 * Throws an {@link Nqo1Error} whose code lets the card state what is missing (e.g. no segmentation).
 */
export type AnalyseStudy = (job: AnalysisJob) => Promise<AnalysisOutput>;

/**
 * Key of one row in the result store. Without `seriesInstanceUid` and `segmentationSopInstanceUid`
 * it names the row of the service's automatic choice, which hooks read.
 */
export interface ResultKey {
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid?: string;
  readonly segmentationSopInstanceUid?: string;
  readonly modelId: string;
  readonly modelVersion: string;
}

/** Lifecycle of one stored analysis: pending → running → done | failed. */
export type ResultStatus = 'pending' | 'running' | 'done' | 'failed';

/** The typed reason an analysis failed, safe to show on a card and to log. */
export interface AnalysisFailure {
  readonly code: ErrorCode;
  readonly message: string;
}

/** One row of the result store, as the hook and the SMART app read it. */
export type StoredAnalysis =
  | (StoredAnalysisBase & { readonly status: 'pending' | 'running' })
  | (StoredAnalysisBase & {
      readonly status: 'done';
      readonly result: ScoreResult;
      readonly observationId?: string;
      /** CT acquisition date or time, when the analysis knew it; the Observation's `effectiveDateTime`. */
      readonly effectiveDateTime?: string;
    })
  | (StoredAnalysisBase & { readonly status: 'failed'; readonly failure: AnalysisFailure });

interface StoredAnalysisBase {
  /** Opaque id of this row (a UUID), passed to the SMART app as `appContext`. */
  readonly id: string;
  readonly job: AnalysisJob;
  /** ISO 8601 times of insertion and of the last status change. */
  readonly createdAt: string;
  readonly updatedAt: string;
}
