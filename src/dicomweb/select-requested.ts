/**
 * Checks the CT series and the segmentation that a user requested (through the SMART app) in place
 * of the automatic rules of `select-series.ts`. A requested series must be a CT series of the study,
 * and a requested segmentation must be a DICOM SEG or RT Structure Set instance of the study. Whether
 * the segmentation lies on the CT grid is checked later by the mask reader, as for an automatic one.
 */
import { Nqo1Error } from '../errors.js';
import {
  DEFAULT_ARTERIAL_PHASE_PATTERNS,
  SEGMENTATION_MODALITIES,
  type CtSelection,
  type SegInstanceSummary,
  type SegSelection,
  type SeriesSummary,
} from './select-series.js';

/**
 * Returns the requested CT series with reason `requested`. The counts of CT and arterial-phase
 * series are filled as for an automatic choice, so a reader sees what else the study offered.
 *
 * @param arterialPhasePatterns - Patterns tested against SeriesDescription, for `arterialCount`.
 * @throws Nqo1Error `ERR_REQUESTED_SERIES_INVALID` when the study has no series with that UID, or
 *   when that series is not CT.
 */
export function selectRequestedCtSeries(
  series: readonly SeriesSummary[],
  seriesInstanceUid: string,
  arterialPhasePatterns: readonly RegExp[] = DEFAULT_ARTERIAL_PHASE_PATTERNS,
): CtSelection {
  const ctSeries = series.filter((candidate) => candidate.modality === 'CT');
  const requested = series.find((candidate) => candidate.seriesInstanceUid === seriesInstanceUid);
  if (requested === undefined) {
    throw new Nqo1Error(
      'ERR_REQUESTED_SERIES_INVALID',
      `The requested series ${seriesInstanceUid} is not in the study, which has ${ctSeries.length} CT ` +
        `series; request the Series Instance UID of one of them.`,
      { details: { seriesInstanceUid, ctSeriesCount: ctSeries.length } },
    );
  }
  if (requested.modality !== 'CT') {
    throw new Nqo1Error(
      'ERR_REQUESTED_SERIES_INVALID',
      `The requested series ${seriesInstanceUid} has modality ${requested.modality || 'none'}, not CT; ` +
        `request one of the study's ${ctSeries.length} CT series.`,
      { details: { seriesInstanceUid, modality: requested.modality, ctSeriesCount: ctSeries.length } },
    );
  }

  const arterialCount = ctSeries.filter((candidate) =>
    arterialPhasePatterns.some((pattern) => pattern.test(candidate.description)),
  ).length;
  const matched = arterialPhasePatterns.find((pattern) => pattern.test(requested.description));
  return {
    series: requested,
    reason: 'requested',
    ctSeriesCount: ctSeries.length,
    arterialCount,
    ...(matched === undefined ? {} : { matchedPattern: matched.source }),
    // The rules were not applied, so the acquisition attributes were not read.
    candidates: [
      {
        seriesInstanceUid: requested.seriesInstanceUid,
        seriesNumber: requested.seriesNumber,
        seriesDescription: requested.description,
        instanceCount: requested.instanceCount,
        sliceThicknessMm: null,
        convolutionKernel: null,
        contrastAgentRecorded: null,
        acquisitionDelaySeconds: null,
        outcome: 'chosen',
        rule: 'requested',
        ...(matched === undefined ? {} : { pattern: matched.source }),
      },
    ],
  };
}

/**
 * Returns the requested segmentation instance with reason `requested`.
 *
 * @param segInstances - The SEG and RTSTRUCT instances of the study, from WADO-RS metadata.
 * @throws Nqo1Error `ERR_REQUESTED_SEGMENTATION_INVALID` when no SEG or RTSTRUCT instance of the
 *   study has that SOP Instance UID.
 */
export function selectRequestedSegmentation(
  segInstances: readonly SegInstanceSummary[],
  sopInstanceUid: string,
): SegSelection {
  const requested = segInstances.find(
    (instance) =>
      instance.sopInstanceUid === sopInstanceUid && SEGMENTATION_MODALITIES.includes(instance.modality),
  );
  if (requested === undefined) {
    throw new Nqo1Error(
      'ERR_REQUESTED_SEGMENTATION_INVALID',
      `The requested segmentation ${sopInstanceUid} is not a DICOM SEG or RTSTRUCT instance of the study, ` +
        `which has ${segInstances.length}; request the SOP Instance UID of one of them, or omit it to use ` +
        'the segmentation that references the CT series.',
      { details: { sopInstanceUid, segInstanceCount: segInstances.length } },
    );
  }
  return { instance: requested, reason: 'requested' };
}
