/**
 * Reads the acquisition attributes that the CT series rules test (slice thickness, convolution
 * kernel, contrast agent and the delay after contrast injection) from one instance of each series.
 *
 * QIDO-RS series results rarely carry these attributes, because they belong to the image level. So
 * for each CT series this module sends one QIDO-RS instance search (PS3.18 section 10.6) with
 * `limit=1` and `includefield` naming the tags. When the result contains none of the image-level tags,
 * the server ignored `includefield`, and the module retrieves the WADO-RS metadata of that one
 * instance (PS3.18 section 10.4) instead.
 *
 * Orthanc 1.10 with its DICOMweb plugin is such a server here. dicomweb-client 0.11.3 sends the tag
 * list comma-separated and percent-encodes the commas (`%2C`), and Orthanc then returns none of the
 * tags. So against Orthanc every series costs two small requests.
 */
import { Nqo1Error, isNqo1Error } from '../errors.js';
import type { DicomJsonDataset, DicomWebClient } from './client.js';

/** DICOM JSON tags of the acquisition attributes (PS3.6 data dictionary). */
export const ACQUISITION_TAG = {
  SOPInstanceUID: '00080018',
  SeriesTime: '00080031',
  AcquisitionTime: '00080032',
  ContrastBolusAgent: '00180010',
  SliceThickness: '00180050',
  ConvolutionKernel: '00181210',
  ContrastBolusStartTime: '00181042',
} as const;

/** Tags that no QIDO-RS server returns by default at the instance level, so their presence shows that `includefield` worked. */
const IMAGE_LEVEL_TAGS: readonly string[] = [
  ACQUISITION_TAG.AcquisitionTime,
  ACQUISITION_TAG.ContrastBolusAgent,
  ACQUISITION_TAG.SliceThickness,
  ACQUISITION_TAG.ConvolutionKernel,
  ACQUISITION_TAG.ContrastBolusStartTime,
];

/** ContrastBolusAgent values that some scanners write when no agent was given. */
const NO_AGENT_VALUES: readonly string[] = ['NONE', 'NO', 'NIL', 'N/A', '-'];

const SECONDS_PER_DAY = 86_400;

/** The acquisition attributes of one series, read from one of its instances. */
export interface SeriesAcquisition {
  /** SliceThickness (0018,0050) in millimetres, or null when absent. */
  readonly sliceThicknessMm: number | null;
  /** Values of ConvolutionKernel (0018,1210); empty when absent. */
  readonly convolutionKernels: readonly string[];
  /** ContrastBolusAgent (0018,0010), or null when absent, empty or a "none" value such as `NONE`. */
  readonly contrastBolusAgent: string | null;
  /**
   * AcquisitionTime (0008,0032), else SeriesTime (0008,0031), minus ContrastBolusStartTime
   * (0018,1042), in seconds; null when either time is absent. See {@link acquisitionDelaySeconds}.
   */
  readonly acquisitionDelaySeconds: number | null;
}

/** Origin of the attributes of a series: `none` when the series has no instance or the request failed. */
export type AcquisitionSource = 'qido' | 'metadata' | 'none';

/** The DICOMweb operations this module uses; {@link DicomWebClient} implements them. */
export type AcquisitionPacs = Pick<DicomWebClient, 'searchInstances' | 'retrieveInstanceMetadata'>;

/** Reads the acquisition attributes from one instance's DICOM JSON (QIDO-RS result or WADO-RS metadata). */
export function readSeriesAcquisition(dataset: DicomJsonDataset): SeriesAcquisition {
  const kernels = stringValues(dataset, ACQUISITION_TAG.ConvolutionKernel);
  const agent = stringValues(dataset, ACQUISITION_TAG.ContrastBolusAgent)[0] ?? '';
  const acquired =
    dicomTimeSeconds(stringValues(dataset, ACQUISITION_TAG.AcquisitionTime)[0] ?? '') ??
    dicomTimeSeconds(stringValues(dataset, ACQUISITION_TAG.SeriesTime)[0] ?? '');
  const injected = dicomTimeSeconds(stringValues(dataset, ACQUISITION_TAG.ContrastBolusStartTime)[0] ?? '');

  return {
    sliceThicknessMm: decimalValue(dataset, ACQUISITION_TAG.SliceThickness),
    convolutionKernels: kernels,
    contrastBolusAgent: agent === '' || NO_AGENT_VALUES.includes(agent.toUpperCase()) ? null : agent,
    acquisitionDelaySeconds:
      acquired === null || injected === null ? null : acquisitionDelaySeconds(injected, acquired),
  };
}

/**
 * Returns the seconds from contrast injection to acquisition, both as seconds since midnight. DICOM
 * times carry no date, so a difference below −12 hours is taken to cross midnight and gains a day.
 * A negative result means the series was acquired before the injection.
 */
export function acquisitionDelaySeconds(injectedSeconds: number, acquiredSeconds: number): number {
  const delay = acquiredSeconds - injectedSeconds;
  const wrapped = delay < -SECONDS_PER_DAY / 2 ? delay + SECONDS_PER_DAY : delay;
  return Math.round(wrapped * 1000) / 1000;
}

/**
 * Converts a DICOM TM value (PS3.5 section 6.2: `HH`, `HHMM`, `HHMMSS` or `HHMMSS.FFFFFF`, and the
 * older `HH:MM:SS` form) to seconds since midnight, or null when it is not a valid time.
 */
export function dicomTimeSeconds(value: string): number | null {
  const match = /^(\d{2})(?::?(\d{2})(?::?(\d{2})(\.\d{1,6})?)?)?$/.exec(value.trim());
  if (match === null) return null;

  const hours = Number(match[1]);
  const minutes = Number(match[2] ?? '0');
  const seconds = Number(match[3] ?? '0') + Number(match[4] ?? '0');
  // PS3.5 allows a leap second, 60, in the seconds field.
  if (hours > 23 || minutes > 59 || seconds >= 61) return null;
  return hours * 3600 + minutes * 60 + seconds;
}

/**
 * Fetches the acquisition attributes of one series from one of its instances, as the module header
 * describes: one QIDO-RS request, and one WADO-RS metadata request when the server ignored
 * `includefield`.
 *
 * @returns null attributes with source `none` when the series has no instance.
 * @throws Nqo1Error `ERR_DICOMWEB_FAILED` from the client when a request fails.
 */
export async function fetchSeriesAcquisition(
  pacs: AcquisitionPacs,
  studyInstanceUid: string,
  seriesInstanceUid: string,
): Promise<{ readonly acquisition: SeriesAcquisition; readonly source: AcquisitionSource }> {
  const [first] = await pacs.searchInstances(studyInstanceUid, seriesInstanceUid, {
    limit: 1,
    includeFields: Object.values(ACQUISITION_TAG),
  });
  if (first === undefined) return { acquisition: readSeriesAcquisition({}), source: 'none' };
  if (IMAGE_LEVEL_TAGS.some((tag) => tag in first)) {
    return { acquisition: readSeriesAcquisition(first), source: 'qido' };
  }

  const sopInstanceUid = stringValues(first, ACQUISITION_TAG.SOPInstanceUID)[0];
  if (sopInstanceUid === undefined) {
    throw new Nqo1Error(
      'ERR_DICOMWEB_FAILED',
      `A QIDO-RS instance result of series ${seriesInstanceUid} has no SOPInstanceUID (0008,0018); the PACS response is not valid DICOM JSON.`,
      { details: { seriesInstanceUid } },
    );
  }
  const metadata = await pacs.retrieveInstanceMetadata(studyInstanceUid, seriesInstanceUid, sopInstanceUid);
  return { acquisition: readSeriesAcquisition(metadata), source: 'metadata' };
}

/** Attributes of a series whose instance could not be read: every rule treats them as unknown. */
export const UNKNOWN_ACQUISITION: SeriesAcquisition = readSeriesAcquisition({});

/**
 * Fetches the acquisition attributes of several series, at most `concurrency` requests at a time.
 * A series whose request fails with `ERR_DICOMWEB_FAILED` gets unknown attributes, so that the
 * rules neither exclude nor prefer it, and is reported to `onFailure`. Other errors are thrown.
 */
export async function fetchSeriesAcquisitions(
  pacs: AcquisitionPacs,
  studyInstanceUid: string,
  seriesInstanceUids: readonly string[],
  options: {
    readonly concurrency?: number;
    readonly onFailure?: (seriesInstanceUid: string, error: Nqo1Error) => void;
  } = {},
): Promise<Map<string, { readonly acquisition: SeriesAcquisition; readonly source: AcquisitionSource }>> {
  const results = new Map<string, { acquisition: SeriesAcquisition; source: AcquisitionSource }>();
  let next = 0;

  const worker = async (): Promise<void> => {
    while (next < seriesInstanceUids.length) {
      const uid = seriesInstanceUids[next]!;
      next += 1;
      try {
        results.set(uid, await fetchSeriesAcquisition(pacs, studyInstanceUid, uid));
      } catch (error) {
        if (!isNqo1Error(error, 'ERR_DICOMWEB_FAILED')) throw error;
        options.onFailure?.(uid, error);
        results.set(uid, { acquisition: UNKNOWN_ACQUISITION, source: 'none' });
      }
    }
  };

  const workers = Math.max(1, Math.min(options.concurrency ?? 4, seriesInstanceUids.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}

/** Returns the non-empty string values of an attribute, trimmed. */
function stringValues(dataset: DicomJsonDataset, tag: string): string[] {
  const values = dataset[tag]?.Value ?? [];
  const strings: string[] = [];
  for (const value of values) {
    let text = '';
    if (typeof value === 'string') text = value.trim();
    else if (typeof value === 'number') text = String(value);
    if (text !== '') strings.push(text);
  }
  return strings;
}

/** Reads a DS value, which DICOM JSON encodes as a number (or, from some servers, a string). */
function decimalValue(dataset: DicomJsonDataset, tag: string): number | null {
  const value = dataset[tag]?.Value?.[0];
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) ? number : null;
}
