/**
 * Conversion of stored pixel values to modality values (Hounsfield units for CT), shared by the
 * single-frame and the multi-frame CT readers.
 *
 * @see DICOM PS3.3 section C.11.1 (Modality LUT module) and C.7.6.16.2.9 (Pixel Value
 *   Transformation macro).
 */

import { Nqo1Error } from '../errors.js';

import { truncateInput } from './input-text.js';

import { decodeStoredValues } from './pixel-data.js';

import type { DicomItem, PixelData } from './dicom-dataset.js';
import type { PixelFormat } from './pixel-data.js';

/** The linear rescale `value = stored × slope + intercept`. */
export interface Rescale {
  readonly slope: number;
  readonly intercept: number;
}

/**
 * Reads the rescale that turns stored values into Hounsfield units:
 * `HU = stored × RescaleSlope + RescaleIntercept`.
 *
 * Only CT is read, because the model's features are defined on Hounsfield units. Both attributes
 * are required (Type 1 in the CT Image module, PS3.3 C.8.2.1, and in the Pixel Value
 * Transformation macro of Enhanced CT): assuming a default for one slice would shift it by the
 * intercept of its neighbours (−1024 HU is common) without any sign.
 *
 * @throws Nqo1Error ERR_DICOM_UNSUPPORTED for a modality other than CT; ERR_DICOM_MALFORMED when
 *   either attribute is missing or not a number, or the slope is 0.
 */
export function readRescale(
  slope: number | null,
  intercept: number | null,
  modality: string,
  context: string,
): Rescale {
  if (modality !== 'CT') {
    throw new Nqo1Error(
      'ERR_DICOM_UNSUPPORTED',
      `${context}: Modality is ${truncateInput(modality)}, but NQO1 CDS reads CT only, because its features are ` +
        'defined on Hounsfield units. Pass the arterial-phase CT series.',
      { details: { modality: truncateInput(modality) } },
    );
  }
  const missing = [
    slope === null ? 'RescaleSlope' : null,
    intercept === null ? 'RescaleIntercept' : null,
  ].filter((keyword): keyword is string => keyword !== null);
  if (slope === null || intercept === null) {
    throw new Nqo1Error(
      'ERR_DICOM_MALFORMED',
      `${context}: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} missing or not a number. The CT Image ` +
        'module requires both, and without them the stored values cannot be turned into Hounsfield units. Export ' +
        'the series again from the scanner or the PACS.',
      { details: { missing: missing.join(',') } },
    );
  }
  if (slope === 0) {
    throw new Nqo1Error(
      'ERR_DICOM_MALFORMED',
      `${context}: RescaleSlope is 0, which would erase every pixel value.`,
    );
  }
  return { slope, intercept };
}

/**
 * Requires PixelSpacing to hold two positive distances and returns them as stored:
 * [between rows, between columns], in millimetres.
 *
 * @throws Nqo1Error ERR_SERIES_GEOMETRY for a zero, negative or missing distance.
 */
export function checkPixelSpacing(
  pixelSpacing: readonly number[],
  context: string,
): readonly [number, number] {
  const [rowSpacing, columnSpacing] = pixelSpacing;
  if (
    pixelSpacing.length !== 2 ||
    rowSpacing === undefined ||
    columnSpacing === undefined ||
    !(rowSpacing > 0) ||
    !(columnSpacing > 0)
  ) {
    throw new Nqo1Error(
      'ERR_SERIES_GEOMETRY',
      `${context}: PixelSpacing ${pixelSpacing.join('\\')} must hold two positive distances in millimetres.`,
    );
  }
  return [rowSpacing, columnSpacing];
}

/**
 * Returns a function that decodes one frame and writes its modality values into `target` from
 * `offset` on, row by row with the column index fastest. Decoding is deferred so that a series
 * can be checked against its size limits from the headers before any voxel is allocated.
 */
export function frameDecoder(
  pixelData: PixelData,
  format: PixelFormat,
  littleEndian: boolean,
  frameIndex: number,
  rescale: Rescale,
  context: string,
): (target: Float64Array, offset: number) => void {
  return (target, offset) => {
    const stored = decodeStoredValues(pixelData, format, littleEndian, frameIndex, context);
    for (let p = 0; p < stored.length; p++)
      target[offset + p] = stored[p]! * rescale.slope + rescale.intercept;
  };
}

/** Transfer syntaxes whose compression loses information (PS3.5 section 10 and annex A.4). */
const LOSSY_TRANSFER_SYNTAXES: ReadonlySet<string> = new Set([
  '1.2.840.10008.1.2.4.50', // JPEG Baseline
  '1.2.840.10008.1.2.4.51', // JPEG Extended
  '1.2.840.10008.1.2.4.81', // JPEG-LS Near-Lossless
  '1.2.840.10008.1.2.4.91', // JPEG 2000
  '1.2.840.10008.1.2.4.203', // HTJ2K
]);

/**
 * Tells whether an image has been through lossy compression: LossyImageCompression (0028,2110) is
 * "01", as a modality or an earlier conversion records it, or the transfer syntax is lossy. JPEG
 * 2000 and HTJ2K may also hold lossless codestreams under these UIDs, so they count as lossy unless
 * the header says "00".
 */
export function isLossyCompressed(dataset: DicomItem, transferSyntaxUid: string): boolean {
  const recorded = dataset.string('LossyImageCompression');
  if (recorded === '01') return true;
  if (
    recorded === '00' &&
    transferSyntaxUid !== '1.2.840.10008.1.2.4.50' &&
    transferSyntaxUid !== '1.2.840.10008.1.2.4.51'
  ) {
    return false;
  }
  return LOSSY_TRANSFER_SYNTAXES.has(transferSyntaxUid);
}
