/**
 * Stored results, failures and FHIR studies shared by the SMART app browser tests.
 */
import type { ImagingStudy } from '@medplum/fhirtypes';

import { renderRoiOverlay, type RoiOverlay } from '../../src/imaging/roi-overlay.js';
import type { ResultStore } from '../../src/jobs/store.js';
import type { AnalysisFailure, AnalysisJob } from '../../src/jobs/types.js';
import type { ModelCard } from '../../src/model/card.js';
import type { ScoreResult, SeriesSelection } from '../../src/model/result.js';
import type { FhirServerHandle } from './fhir-server.js';
import { axisAlignedGrid } from './grid.js';
import { SAMPLE_FEATURES } from './score-result.js';

/** One different term per feature, so a value shown in the wrong row fails the test. */
export const DISTINCT_CONTRIBUTIONS: Readonly<Record<string, number>> = Object.fromEntries(
  Object.keys(SAMPLE_FEATURES).map((name, index) => [name, 0.125 * (index + 1) - 0.4]),
);

/** Why the stored results used their CT series. */
export const SERIES_SELECTION: SeriesSelection = {
  reason: 'arterial-phase-description',
  seriesDescription: 'Arterial phase 1.25 mm',
  seriesNumber: 4,
  instanceCount: 212,
  ctSeriesCount: 3,
  arterialCount: 1,
};

/** Failure stored for the failed analyses. */
export const FAILURE: AnalysisFailure = {
  code: 'ERR_SEGMENTATION_MISSING',
  message: 'Study 2.25.7004 has no SEG or RTSTRUCT that references CT series 2.25.7004.1.',
};

/**
 * Draws the region pictures of a phantom with the real renderer. The tumour covers 2 × 2 voxels on
 * slice 1 and 4 × 4 voxels on slice 2 of a 16 × 16 × 4 grid, so the app starts at slice 2.
 */
export function phantomOverlay(): RoiOverlay {
  const grid = axisAlignedGrid([16, 16, 4]);
  const tumour = new Uint8Array(16 * 16 * 4);
  for (const j of [7, 8]) for (const i of [7, 8]) tumour[i + 16 * (j + 16 * 1)] = 1;
  for (let j = 6; j <= 9; j++) for (let i = 6; i <= 9; i++) tumour[i + 16 * (j + 16 * 2)] = 1;
  const mask = { grid, voxels: tumour };
  return renderRoiOverlay({ grid, voxels: new Float64Array(16 * 16 * 4).fill(40) }, mask, mask, {
    marginMm: 2,
  });
}

/** A study to create in the FHIR server. */
export interface StudyToCreate {
  readonly studyInstanceUid: string;
  readonly patientId: string;
  /** FHIR `ImagingStudy.started`, if any. */
  readonly started?: string;
  /** Whether the study lists one CT series, `<uid>.1`, so that the search of CT studies finds it. */
  readonly ctSeries?: boolean;
}

/** Creates an ImagingStudy identified by its Study Instance UID and returns its logical id. */
export async function createImagingStudy(fhir: FhirServerHandle, study: StudyToCreate): Promise<string> {
  const uid = study.studyInstanceUid;
  const created = await fhir.repository.createResource<ImagingStudy>({
    resourceType: 'ImagingStudy',
    status: 'available',
    subject: { reference: `Patient/${study.patientId}` },
    identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${uid}` }],
    ...(study.started === undefined ? {} : { started: study.started }),
    ...(study.ctSeries === true
      ? {
          series: [
            {
              uid: `${uid}.1`,
              modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' },
            },
          ],
        }
      : {}),
  });
  return created.id;
}

/** Builds the queue's job for the whole study `imagingStudyId` with the model of `modelCard`. */
export function studyJob(
  modelCard: ModelCard,
  study: { readonly studyInstanceUid: string; readonly imagingStudyId: string; readonly patientId: string },
): AnalysisJob {
  return {
    studyInstanceUid: study.studyInstanceUid,
    imagingStudyId: study.imagingStudyId,
    patientId: study.patientId,
    modelId: modelCard.id,
    modelVersion: modelCard.version,
  };
}

/** A study and the state of its analysis, to store before the service starts. */
export interface StudyAnalysisToStore extends StudyToCreate {
  /** The finished result. Without it and without `failure`, the row stays pending. */
  readonly result?: ScoreResult | undefined;
  /** Logical id of the Observation written for `result`, if one was written. */
  readonly observationId?: string | undefined;
  readonly failure?: AnalysisFailure | undefined;
}

/** Ids of a study stored by {@link storeStudyAnalysis}. */
export interface StoredStudyAnalysis {
  /** Logical id of the FHIR ImagingStudy. */
  readonly imagingStudyId: string;
  /** Id of the analysis row, as `GET /api/analyses/{id}` takes it. */
  readonly analysisId: string;
}

/**
 * Creates the study's ImagingStudy in `fhir`, inserts the pending analysis of the whole study in
 * `store`, then marks it done or failed when `analysis` gives a result or a failure.
 */
export async function storeStudyAnalysis(
  servers: { readonly fhir: FhirServerHandle; readonly store: ResultStore; readonly modelCard: ModelCard },
  analysis: StudyAnalysisToStore,
): Promise<StoredStudyAnalysis> {
  const { store } = servers;
  const imagingStudyId = await createImagingStudy(servers.fhir, analysis);
  const job = studyJob(servers.modelCard, { ...analysis, imagingStudyId });
  await store.insertPending(job);

  if (analysis.result !== undefined) await store.markDone(job, analysis.result, analysis.observationId);
  if (analysis.failure !== undefined) await store.markFailed(job, analysis.failure);
  return { imagingStudyId, analysisId: (await store.getResult(job))!.id };
}
