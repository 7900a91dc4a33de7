/**
 * Chooses, within one study, the CT series to analyse and the DICOM SEG that outlines the tumour on
 * it, from QIDO-RS series results and WADO-RS metadata of the SEG instances.
 *
 * CT rule: the candidates are the series with Modality (0008,0060) `CT`. The configured series rules
 * (`ct-series-rules.ts`) exclude a candidate for a non-contrast description, a missing contrast
 * agent, its slice thickness or its convolution kernel. They rank the rest by an arterial-phase
 * description, then an acquisition delay in the arterial window, then the most instances, then the
 * lower SeriesNumber and the smaller SeriesInstanceUID. The best-ranked series is chosen, and the
 * selection lists every candidate with the rule that excluded or ranked it.
 *
 * Segmentation rule, for DICOM SEG and RT Structure Set instances alike: the instance that names the
 * chosen CT series, a SEG in its ReferencedSeriesSequence (0008,1115) and an RTSTRUCT in the
 * RTReferencedSeriesSequence of its ReferencedFrameOfReferenceSequence (3006,0010); among several,
 * the one with the latest SeriesDate/SeriesTime, then the higher SeriesNumber. When none references
 * the CT series and the study has exactly one such instance that names no series at all, that one is
 * used, and the mask reader still checks that it lies on the CT grid. One that names another series
 * is not used: the mask readers would reject it after the images were retrieved.
 */
import { Nqo1Error } from '../errors.js';
import type { SeriesCandidate, SeriesSelectionReason } from '../model/result.js';
import type { DicomJsonDataset } from './client.js';
import {
  DEFAULT_CT_SERIES_RULES,
  describeCandidates,
  rankCtSeries,
  selectionReasonOf,
  type CtSeriesRules,
  type EvaluatedSeries,
} from './ct-series-rules.js';
import type { SeriesAcquisition } from './series-acquisition.js';

/**
 * Default patterns that mark an arterial-phase series description: English "arterial" or "art" as
 * a word, and Chinese 动脉 (artery), as in 动脉期 (arterial phase).
 */
export const DEFAULT_ARTERIAL_PHASE_PATTERNS: readonly RegExp[] =
  DEFAULT_CT_SERIES_RULES.arterialPhasePatterns;

/** DICOM JSON tags this module reads (PS3.6 data dictionary). */
const TAG = {
  StudyDate: '00080020',
  Modality: '00080060',
  SeriesDescription: '0008103E',
  SeriesDate: '00080021',
  SeriesTime: '00080031',
  SeriesInstanceUID: '0020000E',
  SeriesNumber: '00200011',
  SOPInstanceUID: '00080018',
  NumberOfSeriesRelatedInstances: '00201209',
  ReferencedSeriesSequence: '00081115',
  ReferencedFrameOfReferenceSequence: '30060010',
  RTReferencedStudySequence: '30060012',
  RTReferencedSeriesSequence: '30060014',
} as const;

/** Modalities of the segmentation objects the analysis reads. */
export const SEGMENTATION_MODALITIES: readonly string[] = ['SEG', 'RTSTRUCT'];

/** The attributes of one QIDO-RS series result that the selection uses. */
export interface SeriesSummary {
  readonly seriesInstanceUid: string;
  readonly modality: string;
  readonly description: string;
  readonly seriesNumber: number | null;
  /** Number of instances in the series, or null when the server omits the attribute. */
  readonly instanceCount: number | null;
  /**
   * SeriesDate, else StudyDate, as a FHIR date `YYYY-MM-DD`, or null when neither is a valid DICOM
   * date. The time of day is left out because DICOM times carry no time zone, which FHIR requires.
   */
  readonly acquisitionDate: string | null;
}

/**
 * The attributes of one segmentation instance (DICOM SEG or RT Structure Set) that the selection
 * uses, read from WADO-RS metadata.
 */
export interface SegInstanceSummary {
  /** `SEG` or `RTSTRUCT`, from Modality (0008,0060); '' when the metadata omits it. */
  readonly modality: string;
  readonly seriesInstanceUid: string;
  readonly sopInstanceUid: string;
  readonly seriesNumber: number | null;
  /** SeriesDate + SeriesTime as `YYYYMMDDHHMMSS…`, or '' when absent. */
  readonly seriesDateTime: string;
  /**
   * Series Instance UIDs listed in ReferencedSeriesSequence (SEG), or in the RTReferencedSeriesSequence
   * items of ReferencedFrameOfReferenceSequence (RTSTRUCT).
   */
  readonly referencedSeriesUids: readonly string[];
}

/**
 * Reason the CT series was chosen, for logs and the SMART app; `requested` comes from
 * `select-requested.ts`.
 */
export type CtSelectionReason = SeriesSelectionReason;

export interface CtSelection {
  readonly series: SeriesSummary;
  readonly reason: CtSelectionReason;
  /** Number of CT series in the study, and of those passing the rules whose description matched a pattern. */
  readonly ctSeriesCount: number;
  readonly arterialCount: number;
  /** Source of the pattern the chosen description matched, when the reason is the description. */
  readonly matchedPattern?: string;
  /** Every CT series with the rule that excluded or ranked it, the chosen one first. */
  readonly candidates: readonly SeriesCandidate[];
}

/** Reason the SEG was chosen; `requested` comes from `select-requested.ts`. */
export type SegSelectionReason = 'references-ct-series' | 'only-seg-in-study' | 'requested';

export interface SegSelection {
  readonly instance: SegInstanceSummary;
  readonly reason: SegSelectionReason;
}

/**
 * Reads the selection attributes from one QIDO-RS series result.
 *
 * @throws Nqo1Error `ERR_DICOMWEB_FAILED` when the result lacks SeriesInstanceUID.
 */
export function summariseSeries(dataset: DicomJsonDataset): SeriesSummary {
  const seriesInstanceUid = stringValue(dataset, TAG.SeriesInstanceUID);
  if (seriesInstanceUid === '') {
    throw new Nqo1Error(
      'ERR_DICOMWEB_FAILED',
      'A QIDO-RS series result has no SeriesInstanceUID (0020,000E); the PACS response is not valid DICOM JSON.',
    );
  }
  return {
    seriesInstanceUid,
    modality: stringValue(dataset, TAG.Modality).toUpperCase(),
    description: stringValue(dataset, TAG.SeriesDescription),
    seriesNumber: numberValue(dataset, TAG.SeriesNumber),
    instanceCount: numberValue(dataset, TAG.NumberOfSeriesRelatedInstances),
    acquisitionDate:
      fhirDate(stringValue(dataset, TAG.SeriesDate)) ?? fhirDate(stringValue(dataset, TAG.StudyDate)),
  };
}

/**
 * Reads the selection attributes from the WADO-RS metadata of one SEG instance.
 *
 * @throws Nqo1Error `ERR_DICOMWEB_FAILED` when the metadata lacks the series or SOP instance UID.
 */
export function summariseSegInstance(metadata: DicomJsonDataset): SegInstanceSummary {
  const seriesInstanceUid = stringValue(metadata, TAG.SeriesInstanceUID);
  const sopInstanceUid = stringValue(metadata, TAG.SOPInstanceUID);
  if (seriesInstanceUid === '' || sopInstanceUid === '') {
    throw new Nqo1Error(
      'ERR_DICOMWEB_FAILED',
      'WADO-RS metadata of a SEG instance lacks SeriesInstanceUID or SOPInstanceUID; the PACS response is not valid DICOM JSON.',
    );
  }

  const referencedSeries = [...sequenceItems(metadata, TAG.ReferencedSeriesSequence)];
  for (const frame of sequenceItems(metadata, TAG.ReferencedFrameOfReferenceSequence)) {
    for (const study of sequenceItems(frame, TAG.RTReferencedStudySequence)) {
      referencedSeries.push(...sequenceItems(study, TAG.RTReferencedSeriesSequence));
    }
  }
  const referencedSeriesUids = referencedSeries
    .map((item) => stringValue(item, TAG.SeriesInstanceUID))
    .filter((uid) => uid !== '');

  return {
    modality: stringValue(metadata, TAG.Modality).toUpperCase(),
    seriesInstanceUid,
    sopInstanceUid,
    seriesNumber: numberValue(metadata, TAG.SeriesNumber),
    seriesDateTime: stringValue(metadata, TAG.SeriesDate) + stringValue(metadata, TAG.SeriesTime),
    referencedSeriesUids,
  };
}

/**
 * Chooses the CT series to analyse by the rule in the module header.
 *
 * @param rules - Series rules; omitted fields take the defaults of `DEFAULT_CT_SERIES_RULES`.
 * @param acquisitions - Acquisition attributes by SeriesInstanceUID; rules on a series without an
 *   entry see its attributes as unknown and neither exclude nor prefer it for them.
 * @throws Nqo1Error `ERR_SERIES_EMPTY` when the study has no CT series, or the rules exclude every one.
 */
export function selectCtSeries(
  series: readonly SeriesSummary[],
  rules: Partial<CtSeriesRules> = {},
  acquisitions: ReadonlyMap<string, SeriesAcquisition> = new Map(),
): CtSelection {
  const ctSeries = series.filter((candidate) => candidate.modality === 'CT');
  if (ctSeries.length === 0) {
    const modalities = [...new Set(series.map((candidate) => candidate.modality))].join(', ') || 'none';
    throw new Nqo1Error(
      'ERR_SERIES_EMPTY',
      `The study has no CT series (modalities found: ${modalities}); send the arterial-phase CT to the PACS.`,
      { details: { seriesCount: series.length } },
    );
  }

  const ranking = rankCtSeries(ctSeries, { ...DEFAULT_CT_SERIES_RULES, ...rules }, acquisitions);
  const [best] = ranking.ranked;
  if (best === undefined) throw allExcludedError(ranking.excluded);

  const matchedPattern = best.arterialPattern?.source;
  return {
    series: best.series,
    reason: selectionReasonOf(best),
    ctSeriesCount: ctSeries.length,
    arterialCount: ranking.ranked.filter((item) => item.arterialPattern !== null).length,
    ...(matchedPattern === undefined ? {} : { matchedPattern }),
    candidates: describeCandidates(ranking),
  };
}

/** Builds the error for a study whose CT series the rules all exclude, naming each series and its rule. */
function allExcludedError(excluded: readonly EvaluatedSeries<SeriesSummary>[]): Nqo1Error {
  const reasons = excluded.map(({ series, exclusion }) => {
    const name = series.seriesNumber === null ? series.seriesInstanceUid : `number ${series.seriesNumber}`;
    return `series ${name}: ${exclusion?.rule ?? 'excluded'}`;
  });
  return new Nqo1Error(
    'ERR_SERIES_EMPTY',
    `The series rules exclude all ${excluded.length} CT series of the study (${reasons.join('; ')}); ` +
      'send a contrast-enhanced arterial-phase CT with a soft-tissue kernel to the PACS, or adjust the series settings.',
    { details: { ctSeriesCount: excluded.length } },
  );
}

/**
 * Chooses the SEG instance that segments `ctSeriesInstanceUid` by the rule in the module header.
 *
 * @throws Nqo1Error `ERR_SEGMENTATION_MISSING` when the study has no SEG, when its only SEG names
 *   another series, or when several SEGs exist and none references the CT series.
 */
export function selectSegmentation(
  ctSeriesInstanceUid: string,
  segInstances: readonly SegInstanceSummary[],
): SegSelection {
  const referencing = segInstances.filter((instance) =>
    instance.referencedSeriesUids.includes(ctSeriesInstanceUid),
  );
  if (referencing.length > 0) {
    const chosen = [...referencing].sort(compareSegCandidates)[0]!;
    return { instance: chosen, reason: 'references-ct-series' };
  }

  const lone = segInstances.length === 1 ? segInstances[0]! : undefined;
  if (lone !== undefined && lone.referencedSeriesUids.length === 0) {
    return { instance: lone, reason: 'only-seg-in-study' };
  }

  const problem =
    lone !== undefined
      ? `The study's only ${lone.modality || 'segmentation'} (${lone.sopInstanceUid}) outlines series ${lone.referencedSeriesUids.join(', ')}, not CT series ${ctSeriesInstanceUid}`
      : segInstances.length === 0
        ? 'The study has no DICOM SEG or RT Structure Set'
        : `None of the study's ${segInstances.length} DICOM SEG and RTSTRUCT instances references CT series ${ctSeriesInstanceUid}`;
  throw new Nqo1Error(
    'ERR_SEGMENTATION_MISSING',
    `${problem}; segment the tumour on the arterial-phase CT and store the SEG or RTSTRUCT in the same study.`,
    { details: { ctSeriesInstanceUid, segInstanceCount: segInstances.length } },
  );
}

function compareSegCandidates(a: SegInstanceSummary, b: SegInstanceSummary): number {
  if (a.seriesDateTime !== b.seriesDateTime) return a.seriesDateTime > b.seriesDateTime ? -1 : 1;
  const byNumber = (b.seriesNumber ?? -1) - (a.seriesNumber ?? -1);
  if (byNumber !== 0) return byNumber;
  return compareStrings(a.sopInstanceUid, b.sopInstanceUid);
}

/** Converts a DICOM DA value `YYYYMMDD` to a FHIR date `YYYY-MM-DD`, or null when it is not a calendar date. */
function fhirDate(value: string): string | null {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(value);
  if (match === null) return null;
  const [, year, month, day] = match;
  const date = `${year}-${month}-${day}`;
  const parsed = new Date(`${date}T00:00:00Z`);
  return Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== date ? null : date;
}

/** Orders strings by UTF-16 code units, independent of the locale. */
function compareStrings(a: string, b: string): number {
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}

function firstValue(dataset: DicomJsonDataset, tag: string): unknown {
  return dataset[tag]?.Value?.[0];
}

function stringValue(dataset: DicomJsonDataset, tag: string): string {
  const value = firstValue(dataset, tag);
  return typeof value === 'string' ? value.trim() : '';
}

/** Reads an IS/US value, which DICOM JSON encodes as a number (or, from some servers, a string). */
function numberValue(dataset: DicomJsonDataset, tag: string): number | null {
  const value = firstValue(dataset, tag);
  if (typeof value === 'string' && value.trim() === '') return null;
  const number = typeof value === 'string' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) ? number : null;
}

function sequenceItems(dataset: DicomJsonDataset, tag: string): DicomJsonDataset[] {
  const items = dataset[tag]?.Value ?? [];
  return items.filter((item): item is DicomJsonDataset => typeof item === 'object' && item !== null);
}
