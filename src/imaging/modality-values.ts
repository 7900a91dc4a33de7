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

import type { PixelData } from './dicom-dataset.js';
import type { PixelFormat } from './pixel-data.js';

/** The linear rescale `value = stored × slope + intercept`. */
export interface Rescale {
  readonly slope: number;
  readonly intercept: number;
}

/**
 * Resolves RescaleSlope and RescaleIntercept. For Modality CT an absent slope is taken as 1 and an
 * absent intercept as 0, so a CT image that omits them is read as already in Hounsfield units. For
 * any other modality both must be present, because there the stored values have no fixed unit.
 *
 * @throws Nqo1Error ERR_DICOM_UNSUPPORTED for a non-CT image without rescale values;
 *   ERR_DICOM_MALFORMED for a slope of 0.
 */
export function readRescale(
  slope: number | null,
  intercept: number | null,
  modality: string,
  context: string,
): Rescale {
  if (modality !== 'CT' && (slope === null || intercept === null)) {
    throw new Nqo1Error(
      'ERR_DICOM_UNSUPPORTED',
      `${context}: Modality ${truncateInput(modality)} without RescaleSlope and RescaleIntercept; default rescale values ` +
        'are assumed only for CT. Use a CT series, or one whose images state their rescale.',
      { details: { modality: truncateInput(modality) } },
    );
  }
  const resolvedSlope = slope ?? 1;
  if (resolvedSlope === 0) {
    throw new Nqo1Error(
      'ERR_DICOM_MALFORMED',
      `${context}: RescaleSlope is 0, which would erase every pixel value.`,
    );
  }
  return { slope: resolvedSlope, intercept: intercept ?? 0 };
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
