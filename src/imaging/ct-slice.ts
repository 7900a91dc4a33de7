/**
 * One single-frame CT image: its identity, its plane geometry and its pixel values in Hounsfield
 * units. `ct-series.ts` stacks these slices into a volume.
 *
 * @see DICOM PS3.3 sections C.7.6.2 (Image Plane module), C.8.2.1 (CT Image module) and
 *   C.11.1 (Modality LUT module).
 */

import { Nqo1Error } from '../errors.js';

import { truncateInput } from './input-text.js';

import { readDicomFile } from './dicom-dataset.js';
import { decodeFrameStoredValues, readPixelFormat } from './pixel-data.js';

import type { Vec3 } from './volume.js';

/** SOP classes whose objects carry several frames; this release reads single-frame images only. */
const MULTI_FRAME_SOP_CLASSES: ReadonlyMap<string, string> = new Map([
  ['1.2.840.10008.5.1.4.1.1.2.1', 'Enhanced CT Image Storage'],
  ['1.2.840.10008.5.1.4.1.1.2.2', 'Legacy Converted Enhanced CT Image Storage'],
]);

/** SOP classes that are not images of a series, with the reader to use instead. */
const NON_IMAGE_SOP_CLASSES: ReadonlyMap<string, string> = new Map([
  ['1.2.840.10008.5.1.4.1.1.66.4', 'a Segmentation (read it with readSegMask)'],
  ['1.2.840.10008.5.1.4.1.1.66.7', 'a Label Map Segmentation'],
  ['1.2.840.10008.5.1.4.1.1.481.3', 'an RT Structure Set'],
  ['1.2.840.10008.5.1.4.1.1.88.22', 'an Enhanced SR document'],
  ['1.2.840.10008.5.1.4.1.1.88.33', 'a Comprehensive SR document'],
]);

/** One decoded slice of a series. */
export interface CtSlice {
  /** Names the file in error messages. */
  readonly context: string;
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly sopInstanceUid: string;
  readonly frameOfReferenceUid: string | null;
  readonly modality: string;
  readonly seriesDescription: string | null;
  readonly rows: number;
  readonly columns: number;
  /** ImagePositionPatient: centre of the first transmitted pixel, in millimetres. */
  readonly imagePositionMm: Vec3;
  readonly imageOrientation: readonly number[];
  /** PixelSpacing as stored: [between rows, between columns], in millimetres. */
  readonly pixelSpacingMm: readonly [number, number];
  readonly sliceThicknessMm: number | null;
  readonly spacingBetweenSlicesMm: number | null;
  /** Modality values (Hounsfield units for CT), row by row, column index fastest. */
  readonly values: Float64Array;
}

/**
 * Reads one single-frame image file and converts its stored values to modality values:
 * `value = stored × RescaleSlope + RescaleIntercept`.
 *
 * For Modality CT an absent RescaleSlope is taken as 1 and an absent RescaleIntercept as 0, so a
 * CT file that omits them is read as already in Hounsfield units. For any other modality both must
 * be present, because there the stored values have no fixed unit.
 *
 * @throws Nqo1Error ERR_DICOM_MALFORMED, ERR_DICOM_UNSUPPORTED (compressed, multi-frame, colour,
 *   Modality LUT Sequence, non-image objects).
 */
export function readCtSlice(bytes: ArrayBuffer, context: string): CtSlice {
  const file = readDicomFile(bytes, context);
  const dataset = file.dataset;

  const sopClassUid = dataset.string('SOPClassUID');
  const nonImage = sopClassUid === null ? undefined : NON_IMAGE_SOP_CLASSES.get(sopClassUid);
  if (nonImage !== undefined) {
    throw new Nqo1Error(
      'ERR_DICOM_UNSUPPORTED',
      `${context}: the object is ${nonImage}, not a slice of an image series. Pass only the image files of the CT series.`,
      { details: { sopClassUid: sopClassUid === null ? null : truncateInput(sopClassUid) } },
    );
  }
  if (file.pixelData === null) {
    throw new Nqo1Error(
      'ERR_DICOM_MALFORMED',
      `${context}: the file has no Pixel Data (7FE0,0010), so it is truncated or not an image. ` +
        'Retrieve the file again from the PACS, and pass only the image files of the CT series.',
      { details: { sopClassUid: sopClassUid === null ? null : truncateInput(sopClassUid) } },
    );
  }
  const multiFrameClass = sopClassUid === null ? undefined : MULTI_FRAME_SOP_CLASSES.get(sopClassUid);
  const format = readPixelFormat(dataset);
  if (multiFrameClass !== undefined || format.numberOfFrames !== 1) {
    // LIMITATION: multi-frame images (Enhanced and Legacy Converted Enhanced CT) are rejected,
    // because their per-frame geometry lives in functional group sequences that this reader does
    // not map yet. Reading PlanePositionSequence per frame, as seg.ts does, would lift this.
    throw new Nqo1Error(
      'ERR_DICOM_UNSUPPORTED',
      `${context}: ${multiFrameClass ?? 'a multi-frame image'} with ${format.numberOfFrames} frames is not read ` +
        'in this release. Export the series as single-frame CT Image Storage objects.',
      {
        details: {
          sopClassUid: sopClassUid === null ? null : truncateInput(sopClassUid),
          numberOfFrames: format.numberOfFrames,
        },
      },
    );
  }
  if (format.bitsAllocated === 1) {
    throw new Nqo1Error('ERR_DICOM_UNSUPPORTED', `${context}: 1-bit images are not CT slices.`);
  }

  const modality = dataset.requireString('Modality');
  if (dataset.sequence('ModalityLUTSequence').length > 0) {
    throw new Nqo1Error(
      'ERR_DICOM_UNSUPPORTED',
      `${context}: the image maps stored values through a Modality LUT Sequence, which this release does not ` +
        'apply. Export the series with RescaleSlope and RescaleIntercept.',
    );
  }
  const { slope, intercept } = readRescale(
    dataset.number('RescaleSlope'),
    dataset.number('RescaleIntercept'),
    modality,
    context,
  );

  const pixelSpacing = dataset.requireNumbers('PixelSpacing', 2);
  if (pixelSpacing.some((spacing) => !(spacing > 0))) {
    throw new Nqo1Error(
      'ERR_SERIES_GEOMETRY',
      `${context}: PixelSpacing ${pixelSpacing.join('\\')} must hold two positive distances in millimetres.`,
    );
  }
  const position = dataset.requireNumbers('ImagePositionPatient', 3);

  const stored = decodeFrameStoredValues(file, format, 0, context);
  const values = new Float64Array(stored.length);
  for (let p = 0; p < stored.length; p++) values[p] = stored[p]! * slope + intercept;

  return {
    context,
    studyInstanceUid: dataset.requireString('StudyInstanceUID'),
    seriesInstanceUid: dataset.requireString('SeriesInstanceUID'),
    sopInstanceUid: dataset.requireString('SOPInstanceUID'),
    frameOfReferenceUid: dataset.string('FrameOfReferenceUID'),
    modality,
    seriesDescription: dataset.string('SeriesDescription'),
    rows: format.rows,
    columns: format.columns,
    imagePositionMm: [position[0]!, position[1]!, position[2]!],
    imageOrientation: dataset.requireNumbers('ImageOrientationPatient', 6),
    pixelSpacingMm: [pixelSpacing[0]!, pixelSpacing[1]!],
    sliceThicknessMm: dataset.number('SliceThickness'),
    spacingBetweenSlicesMm: dataset.number('SpacingBetweenSlices'),
    values,
  };
}

function readRescale(
  slope: number | null,
  intercept: number | null,
  modality: string,
  context: string,
): { slope: number; intercept: number } {
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
