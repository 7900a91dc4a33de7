/**
 * The slices of one CT image object: their identity, their plane geometry and a decoder of their
 * pixel values in Hounsfield units. A single-frame CT Image gives one slice, and an Enhanced or a
 * Legacy Converted Enhanced CT Image one slice per frame (see `enhanced-ct.ts`). `ct-series.ts`
 * stacks the slices into a volume.
 *
 * @see DICOM PS3.3 sections C.7.6.2 (Image Plane module), C.8.2.1 (CT Image module) and
 *   C.11.1 (Modality LUT module).
 */

import { Nqo1Error } from '../errors.js';

import { truncateInput } from './input-text.js';

import { readDicomFile } from './dicom-dataset.js';
import { ENHANCED_CT_SOP_CLASSES, readEnhancedCtSlices } from './enhanced-ct.js';
import { checkPixelSpacing, frameDecoder, isLossyCompressed, readRescale } from './modality-values.js';
import { readPixelFormat } from './pixel-data.js';

import type { Vec3 } from './volume.js';

/** SOP classes that are not images of a series, with the reader to use instead. */
const NON_IMAGE_SOP_CLASSES: ReadonlyMap<string, string> = new Map([
  ['1.2.840.10008.5.1.4.1.1.66.4', 'a Segmentation (read it with readSegMask)'],
  ['1.2.840.10008.5.1.4.1.1.66.7', 'a Label Map Segmentation'],
  ['1.2.840.10008.5.1.4.1.1.481.3', 'an RT Structure Set'],
  ['1.2.840.10008.5.1.4.1.1.88.22', 'an Enhanced SR document'],
  ['1.2.840.10008.5.1.4.1.1.88.33', 'a Comprehensive SR document'],
]);

/** One slice of a series: a single-frame image, or one frame of a multi-frame image. */
export interface CtSlice {
  /** Names the file, and the frame of a multi-frame image, in error messages. */
  readonly context: string;
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly sopInstanceUid: string;
  /** 1-based frame number within a multi-frame image; null for a single-frame image. */
  readonly frameNumber: number | null;
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
  /** True when the pixels have been through lossy compression (see `isLossyCompressed`). */
  readonly lossyCompressed: boolean;
  /**
   * Decodes the slice and writes its modality values (Hounsfield units for CT) into `target` from
   * `offset` on: rows × columns values, row by row, column index fastest.
   */
  readonly decodeInto: (target: Float64Array, offset: number) => void;
}

/**
 * Reads the header of one image file and returns its slices, whose pixel values are decoded only
 * when `decodeInto` is called: `value = stored × RescaleSlope + RescaleIntercept`.
 *
 * Only Modality CT is read, and RescaleSlope and RescaleIntercept must both be present (see
 * `readRescale`).
 *
 * @throws Nqo1Error ERR_DICOM_MALFORMED, ERR_DICOM_UNSUPPORTED (compressed, multi-frame images of
 *   other SOP classes, colour, Modality LUT Sequence, non-image objects).
 */
export function readCtSlices(bytes: ArrayBuffer, context: string): CtSlice[] {
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
  const pixelData = file.pixelData;
  if (pixelData === null) {
    throw new Nqo1Error(
      'ERR_DICOM_MALFORMED',
      `${context}: the file has no Pixel Data (7FE0,0010), so it is truncated or not an image. ` +
        'Retrieve the file again from the PACS, and pass only the image files of the CT series.',
      { details: { sopClassUid: sopClassUid === null ? null : truncateInput(sopClassUid) } },
    );
  }
  const format = readPixelFormat(dataset);
  if (format.bitsAllocated === 1) {
    throw new Nqo1Error('ERR_DICOM_UNSUPPORTED', `${context}: 1-bit images are not CT slices.`);
  }
  if (sopClassUid !== null && ENHANCED_CT_SOP_CLASSES.has(sopClassUid)) {
    return readEnhancedCtSlices(file, pixelData, format, context);
  }
  if (format.numberOfFrames !== 1) {
    throw new Nqo1Error(
      'ERR_DICOM_UNSUPPORTED',
      `${context}: a multi-frame image of SOP class ${truncateInput(sopClassUid ?? '(absent)')} with ` +
        `${format.numberOfFrames} frames is not read. Export the series as CT Image Storage or Enhanced CT Image Storage objects.`,
      {
        details: {
          sopClassUid: sopClassUid === null ? null : truncateInput(sopClassUid),
          numberOfFrames: format.numberOfFrames,
        },
      },
    );
  }

  const modality = dataset.requireString('Modality');
  if (dataset.sequence('ModalityLUTSequence').length > 0) {
    throw new Nqo1Error(
      'ERR_DICOM_UNSUPPORTED',
      `${context}: the image maps stored values through a Modality LUT Sequence, which this release does not ` +
        'apply. Export the series with RescaleSlope and RescaleIntercept.',
    );
  }
  const rescale = readRescale(
    dataset.number('RescaleSlope'),
    dataset.number('RescaleIntercept'),
    modality,
    context,
  );
  const pixelSpacing = checkPixelSpacing(dataset.requireNumbers('PixelSpacing', 2), context);
  const position = dataset.requireNumbers('ImagePositionPatient', 3);

  return [
    {
      context,
      studyInstanceUid: dataset.requireString('StudyInstanceUID'),
      seriesInstanceUid: dataset.requireString('SeriesInstanceUID'),
      sopInstanceUid: dataset.requireString('SOPInstanceUID'),
      frameNumber: null,
      frameOfReferenceUid: dataset.string('FrameOfReferenceUID'),
      modality,
      seriesDescription: dataset.string('SeriesDescription'),
      rows: format.rows,
      columns: format.columns,
      imagePositionMm: [position[0]!, position[1]!, position[2]!],
      imageOrientation: dataset.requireNumbers('ImageOrientationPatient', 6),
      pixelSpacingMm: pixelSpacing,
      sliceThicknessMm: dataset.number('SliceThickness'),
      spacingBetweenSlicesMm: dataset.number('SpacingBetweenSlices'),
      lossyCompressed: isLossyCompressed(dataset, file.transferSyntax.uid),
      decodeInto: frameDecoder(pixelData, format, file.transferSyntax.littleEndian, 0, rescale, context),
    },
  ];
}
