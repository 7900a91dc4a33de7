/**
 * The three kinds of DICOM segmentation and the decoding of their frames into 0/1 masks of one
 * segment:
 *
 * - BINARY (Segmentation Storage): 1-bit frames, one segment per frame.
 * - FRACTIONAL (Segmentation Storage): 8-bit frames, one segment per frame, each value a
 *   probability or occupancy in 0..MaximumFractionalValue. A pixel belongs to the segment when
 *   `value ≥ threshold × MaximumFractionalValue` (inclusive), threshold 0.5 by default.
 * - LABELMAP (Label Map Segmentation Storage): 8- or 16-bit frames, each value the SegmentNumber
 *   of the pixel (0 is background), so every frame contains every segment.
 *
 * @see DICOM PS3.3 sections C.8.20.2 (Segmentation Image module, SegmentationType and
 *   SegmentationFractionalType) and A.51 / A.51a (Segmentation and Label Map Segmentation IODs).
 */

import { Nqo1Error } from '../errors.js';

import { truncateInput } from './input-text.js';

import { decodeStoredValues, unpackBinaryFrames } from './pixel-data.js';

import type { DicomFile, DicomItem } from './dicom-dataset.js';
import type { PixelFormat } from './pixel-data.js';

export const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';
export const LABEL_MAP_SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.7';

/** Default fractional threshold, as a fraction of MaximumFractionalValue. */
export const DEFAULT_FRACTIONAL_THRESHOLD = 0.5;

export type SegmentationKind =
  | { readonly type: 'BINARY' }
  | {
      readonly type: 'FRACTIONAL';
      readonly fractionalType: 'PROBABILITY' | 'OCCUPANCY';
      readonly maximumFractionalValue: number;
    }
  | { readonly type: 'LABELMAP' };

/**
 * Reads the SOP class and SegmentationType, and rejects the objects this release cannot place on a CT grid.
 *
 * @throws Nqo1Error ERR_DICOM_UNSUPPORTED for another SOP class, for tiled (slide microscopy)
 *   segmentations and for an unknown SegmentationType; ERR_SEG_MALFORMED for a FRACTIONAL SEG
 *   without a valid SegmentationFractionalType or MaximumFractionalValue.
 */
export function readSegmentationKind(dataset: DicomItem): SegmentationKind {
  const sopClassUid = dataset.string('SOPClassUID');
  if (sopClassUid !== SEGMENTATION_STORAGE && sopClassUid !== LABEL_MAP_SEGMENTATION_STORAGE) {
    throw new Nqo1Error(
      'ERR_DICOM_UNSUPPORTED',
      `SEG file: SOPClassUID is ${truncateInput(String(sopClassUid))}, not Segmentation Storage (${SEGMENTATION_STORAGE}) ` +
        `or Label Map Segmentation Storage (${LABEL_MAP_SEGMENTATION_STORAGE}). Pass a DICOM SEG object.`,
      { details: { sopClassUid: sopClassUid === null ? null : truncateInput(sopClassUid) } },
    );
  }
  checkNotTiled(dataset);

  const segmentationType = dataset.requireString('SegmentationType');
  if (sopClassUid === LABEL_MAP_SEGMENTATION_STORAGE || segmentationType === 'LABELMAP') {
    if (sopClassUid !== LABEL_MAP_SEGMENTATION_STORAGE || segmentationType !== 'LABELMAP') {
      throw segMalformed(
        `SOPClassUID ${sopClassUid} and SegmentationType ${truncateInput(segmentationType)} disagree; ` +
          'a label map needs both Label Map Segmentation Storage and LABELMAP',
      );
    }
    return { type: 'LABELMAP' };
  }
  if (segmentationType === 'BINARY') return { type: 'BINARY' };
  if (segmentationType === 'FRACTIONAL') {
    const fractionalType = dataset.string('SegmentationFractionalType');
    if (fractionalType !== 'PROBABILITY' && fractionalType !== 'OCCUPANCY') {
      throw segMalformed(
        `SegmentationFractionalType is ${truncateInput(String(fractionalType))}; a FRACTIONAL SEG needs PROBABILITY or OCCUPANCY`,
      );
    }
    const maximumFractionalValue = dataset.requireNumber('MaximumFractionalValue');
    if (!Number.isInteger(maximumFractionalValue) || maximumFractionalValue < 1) {
      throw segMalformed(
        `MaximumFractionalValue is ${maximumFractionalValue}; it must be a positive integer`,
      );
    }
    return { type: 'FRACTIONAL', fractionalType, maximumFractionalValue };
  }
  throw new Nqo1Error(
    'ERR_DICOM_UNSUPPORTED',
    `SEG file: SegmentationType ${truncateInput(segmentationType)} is not a known type; BINARY, FRACTIONAL and LABELMAP are read.`,
    { details: { segmentationType: truncateInput(segmentationType) } },
  );
}

/**
 * Rejects segmentations of a tiled pixel matrix (slide microscopy): their frames are tiles of one
 * slide image located by TotalPixelMatrix coordinates, not CT slices in patient space.
 */
function checkNotTiled(dataset: DicomItem): void {
  const organization = dataset.string('DimensionOrganizationType');
  const tiled =
    organization === 'TILED_FULL' || organization === 'TILED_SPARSE' || dataset.has('TotalPixelMatrixRows');
  if (!tiled) return;
  throw new Nqo1Error(
    'ERR_DICOM_UNSUPPORTED',
    `SEG file: the segmentation is tiled (DimensionOrganizationType ${truncateInput(String(organization))}, ` +
      'a total pixel matrix as in slide microscopy), so its frames are tiles of one image, not slices of a CT series. ' +
      'Pass a segmentation of the CT series.',
    { details: { dimensionOrganizationType: organization === null ? null : truncateInput(organization) } },
  );
}

/** Requires the bit depth the kind stores: 1 for BINARY, 8 for FRACTIONAL, 8 or 16 for LABELMAP. */
export function checkBitDepth(kind: SegmentationKind, format: PixelFormat): void {
  let allowed = [8, 16];
  if (kind.type === 'BINARY') allowed = [1];
  if (kind.type === 'FRACTIONAL') allowed = [8];
  if (!allowed.includes(format.bitsAllocated)) {
    throw segMalformed(
      `a ${kind.type} segmentation must store ${allowed.join(' or ')}-bit Pixel Data, found BitsAllocated ${format.bitsAllocated}`,
    );
  }
}

/** Returns the threshold as a stored value, checking the setting lies in (0, 1]. */
export function fractionalCutoff(maximumFractionalValue: number, threshold: number): number {
  if (!Number.isFinite(threshold) || threshold <= 0 || threshold > 1) {
    throw new Nqo1Error(
      'ERR_SETTINGS_INVALID',
      `fractionalThreshold is ${threshold}; it must lie in (0, 1] (a fraction of MaximumFractionalValue ${maximumFractionalValue}).`,
    );
  }
  return threshold * maximumFractionalValue;
}

/**
 * Decodes the frames of a SEG and returns, per frame, the 0/1 mask of `segmentNumber`.
 *
 * Seam for compressed SEG frames: this reads native Pixel Data only (`readDicomFile` rejects
 * compressed transfer syntaxes). A decoder of encapsulated frames returning the stored values of
 * one frame would be called in `storedFrame` in place of `decodeStoredValues`, and for 1-bit
 * frames in place of `unpackBinaryFrames`.
 */
export function segmentFrameDecoder(
  file: DicomFile,
  format: PixelFormat,
  kind: SegmentationKind,
  segmentNumber: number,
  fractionalThreshold: number,
): (frame: number) => Uint8Array {
  const pixelData = file.pixelData;
  if (pixelData === null) throw segMalformed('the object has no Pixel Data');
  const context = 'SEG file';
  const sliceSize = format.rows * format.columns;
  const littleEndian = file.transferSyntax.littleEndian;

  if (kind.type === 'BINARY') {
    const frames = unpackBinaryFrames(pixelData, format, littleEndian, context);
    return (frame) => frames.subarray(frame * sliceSize, (frame + 1) * sliceSize);
  }

  const cutoff =
    kind.type === 'FRACTIONAL' ? fractionalCutoff(kind.maximumFractionalValue, fractionalThreshold) : 0;
  return (frame) => {
    const stored = decodeStoredValues(pixelData, format, littleEndian, frame, context);
    const mask = new Uint8Array(sliceSize);
    for (let p = 0; p < sliceSize; p++) {
      const value = stored[p]!;
      const inSegment = kind.type === 'LABELMAP' ? value === segmentNumber : value >= cutoff;
      mask[p] = inSegment ? 1 : 0;
    }
    return mask;
  };
}

export function segMalformed(problem: string): Nqo1Error {
  return new Nqo1Error(
    'ERR_SEG_MALFORMED',
    `SEG file: ${problem}. Export the segmentation again with a complete header.`,
  );
}
