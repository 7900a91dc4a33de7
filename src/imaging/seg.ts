/**
 * DICOM Segmentation (SEG) objects as a binary mask on the grid of their CT series.
 *
 * Each frame is placed on a CT slice by its own geometry, never by its frame number. The
 * ImagePositionPatient of its PlanePositionSequence is projected on the CT slice normal and
 * matched to a slice within max(0.01 mm, 1 % of the slice step). A frame without a plane position
 * is placed by the ReferencedSOPInstanceUID of its DerivationImageSequence/SourceImageSequence.
 *
 * @see DICOM PS3.3 sections A.51 (Segmentation IOD), C.8.20 (Segmentation modules) and C.7.6.16
 *   (Multi-frame Functional Groups).
 */

import { Nqo1Error } from '../errors.js';

import { truncateInput } from './input-text.js';

import { readDicomFile } from './dicom-dataset.js';
import { readPixelFormat, unpackBinaryFrames } from './pixel-data.js';
import { checkReferencedSeries } from './seg-references.js';
import { selectSegment } from './seg-segments.js';
import {
  GEOMETRY_TOLERANCE,
  formatVector,
  matchSlice,
  positionToleranceMm,
  vectorsAgree,
} from './slice-geometry.js';

import type { CtSeries } from './ct-series.js';
import type { DicomItem } from './dicom-dataset.js';
import type { PixelFormat } from './pixel-data.js';
import type { SegmentSelection } from './seg-segments.js';
import type { Grid, MaskVolume } from './volume.js';

export type { SegmentSelection } from './seg-segments.js';

const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';
const LABEL_MAP_SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.7';

/**
 * Reads one segment of a BINARY DICOM SEG as a 0/1 mask on the grid of `series`.
 *
 * The SEG must share the series' FrameOfReferenceUID (when both state one), orientation, pixel
 * spacing, rows and columns, and name the series in its ReferencedSeriesSequence when it has one.
 * A frame that references source images must reference images of the series. A segment without
 * frames gives an empty mask.
 *
 * @param bytes - the SEG Part 10 file
 * @param series - the CT series the segmentation was drawn on
 * @param options - which segment to read; by default the only segment of the SEG
 * @throws Nqo1Error ERR_DICOM_UNSUPPORTED for FRACTIONAL and LABELMAP segmentations;
 *   ERR_SEGMENT_SELECTION when no single segment matches; ERR_MASK_GEOMETRY when the SEG does not
 *   lie on the CT grid; ERR_SEG_MALFORMED for missing or contradictory frame information.
 */
export function readSegMask(
  bytes: ArrayBuffer,
  series: CtSeries,
  options: SegmentSelection = {},
): MaskVolume {
  const context = 'SEG file';
  const file = readDicomFile(bytes, context);
  const dataset = file.dataset;
  checkSegmentationType(dataset);

  const format = readPixelFormat(dataset);
  if (format.bitsAllocated !== 1 || file.pixelData === null) {
    throw segError(`a BINARY SEG must store 1-bit Pixel Data, found BitsAllocated ${format.bitsAllocated}`);
  }
  const segmentNumber = selectSegment(dataset, options);

  const grid = series.volume.grid;
  checkFrameOfReference(dataset.string('FrameOfReferenceUID'), series.frameOfReferenceUid);
  checkReferencedSeries(dataset, series);
  checkFrameSize(format, grid);

  const perFrame = dataset.sequence('PerFrameFunctionalGroupsSequence');
  if (perFrame.length !== format.numberOfFrames) {
    throw segError(
      `PerFrameFunctionalGroupsSequence has ${perFrame.length} items for NumberOfFrames ${format.numberOfFrames}`,
    );
  }
  const shared = dataset.sequence('SharedFunctionalGroupsSequence')[0] ?? null;
  const frames = unpackBinaryFrames(file.pixelData, format, file.transferSyntax.littleEndian, context);

  const sliceSize = format.rows * format.columns;
  const voxels = new Uint8Array(sliceSize * grid.dimensions[2]);
  const frameOfSlice = new Map<number, number>();
  for (let frame = 0; frame < format.numberOfFrames; frame++) {
    const groups = new FrameGroups(perFrame[frame]!, shared);
    if (frameSegmentNumber(groups, frame) !== segmentNumber) continue;

    checkFramePlane(groups, frame, grid);
    const k = sliceOfFrame(groups, frame, series);
    const earlier = frameOfSlice.get(k);
    if (earlier !== undefined) {
      throw segError(
        `frames ${earlier + 1} and ${frame + 1} both place segment ${segmentNumber} on CT slice k=${k}`,
      );
    }
    frameOfSlice.set(k, frame);
    voxels.set(frames.subarray(frame * sliceSize, (frame + 1) * sliceSize), k * sliceSize);
  }
  return { grid, voxels };
}

/** The functional groups of one frame: its own item first, then the shared item. */
class FrameGroups {
  readonly #perFrame: DicomItem;
  readonly #shared: DicomItem | null;

  constructor(perFrame: DicomItem, shared: DicomItem | null) {
    this.#perFrame = perFrame;
    this.#shared = shared;
  }

  /** Returns the first item of a functional group macro, per-frame before shared; null when absent. */
  item(keyword: string): DicomItem | null {
    return this.#perFrame.sequence(keyword)[0] ?? this.#shared?.sequence(keyword)[0] ?? null;
  }

  get perFrame(): DicomItem {
    return this.#perFrame;
  }
}

function checkSegmentationType(dataset: DicomItem): void {
  const sopClassUid = dataset.string('SOPClassUID');
  if (sopClassUid === LABEL_MAP_SEGMENTATION_STORAGE) {
    // LIMITATION: Label Map Segmentation objects (one 8- or 16-bit label per pixel) are rejected
    // because only bit-packed BINARY frames are decoded. Mapping label values to segments with
    // the 8/16-bit stored-value decoder of pixel-data.ts would lift this.
    throw new Nqo1Error(
      'ERR_DICOM_UNSUPPORTED',
      'SEG file: Label Map Segmentation Storage objects are not read in this release. Export the segmentation as a BINARY SEG.',
      { details: { sopClassUid } },
    );
  }
  if (sopClassUid !== SEGMENTATION_STORAGE) {
    throw new Nqo1Error(
      'ERR_DICOM_UNSUPPORTED',
      `SEG file: SOPClassUID is ${truncateInput(String(sopClassUid))}, not Segmentation Storage (${SEGMENTATION_STORAGE}). Pass a DICOM SEG object.`,
      { details: { sopClassUid: sopClassUid === null ? null : truncateInput(sopClassUid) } },
    );
  }
  const segmentationType = dataset.requireString('SegmentationType');
  if (segmentationType !== 'BINARY') {
    // LIMITATION: FRACTIONAL segmentations (probability or occupancy per pixel, 8-bit) are
    // rejected because the product needs a binary tumour mask and no threshold rule has been
    // agreed. Decoding the 8-bit frames and thresholding at a model-card setting would lift this.
    throw new Nqo1Error(
      'ERR_DICOM_UNSUPPORTED',
      `SEG file: SegmentationType ${truncateInput(segmentationType)} is not read in this release; only BINARY segmentations are. ` +
        'Export the tumour as a BINARY SEG.',
      { details: { segmentationType: truncateInput(segmentationType) } },
    );
  }
}

function checkFrameOfReference(segUid: string | null, ctUid: string | null): void {
  if (segUid !== null && ctUid !== null && segUid !== ctUid) {
    throw maskGeometryError(
      `the SEG FrameOfReferenceUID ${truncateInput(segUid)} differs from the CT series' ${truncateInput(ctUid)}, ` +
        'so it was drawn on other images. Pass the SEG made on this CT series, or the CT series the SEG was made on',
    );
  }
}

function checkFrameSize(format: PixelFormat, grid: Grid): void {
  // LIMITATION: frames must cover the whole CT slice. A SEG whose frames are cropped or sampled on
  // another grid would need resampling onto the CT grid, which this release does not do.
  if (format.columns !== grid.dimensions[0] || format.rows !== grid.dimensions[1]) {
    throw maskGeometryError(
      `SEG frames have ${format.rows} rows × ${format.columns} columns, but the CT slices have ` +
        `${grid.dimensions[1]} × ${grid.dimensions[0]}; cropped or resampled segmentations are not read yet`,
    );
  }
}

function frameSegmentNumber(groups: FrameGroups, frame: number): number {
  const identification = groups.item('SegmentIdentificationSequence');
  if (identification === null) {
    throw segError(`frame ${frame + 1} has no SegmentIdentificationSequence`);
  }
  return identification.requireNumber('ReferencedSegmentNumber');
}

/** Requires the frame's orientation and pixel spacing to equal the CT's. */
function checkFramePlane(groups: FrameGroups, frame: number, grid: Grid): void {
  const orientation = groups.item('PlaneOrientationSequence')?.numbers('ImageOrientationPatient', 6) ?? null;
  if (orientation === null) {
    throw segError(`frame ${frame + 1} has no ImageOrientationPatient in PlaneOrientationSequence`);
  }
  const ctOrientation = [...grid.axes[0], ...grid.axes[1]];
  if (!vectorsAgree(orientation, ctOrientation, GEOMETRY_TOLERANCE.directionCosine)) {
    throw maskGeometryError(
      `frame ${frame + 1} has ImageOrientationPatient ${formatVector(orientation)}, but the CT has ${formatVector(ctOrientation)}`,
    );
  }

  const spacing = groups.item('PixelMeasuresSequence')?.numbers('PixelSpacing', 2) ?? null;
  if (spacing === null) {
    throw segError(`frame ${frame + 1} has no PixelSpacing in PixelMeasuresSequence`);
  }
  const ctSpacing = [grid.spacingMm[1], grid.spacingMm[0]];
  if (!vectorsAgree(spacing, ctSpacing, GEOMETRY_TOLERANCE.spacingMm)) {
    throw maskGeometryError(
      `frame ${frame + 1} has PixelSpacing ${formatVector(spacing)} mm, but the CT has ${formatVector(ctSpacing)} mm`,
    );
  }
}

/**
 * Returns the CT slice index of a frame: from its plane position when present, else from the
 * CT image it was derived from. When both are present they must agree, and a source image outside
 * the series is rejected even when the position matches, because the frame was drawn on other images.
 */
function sliceOfFrame(groups: FrameGroups, frame: number, series: CtSeries): number {
  const byPosition = sliceFromPosition(groups, frame, series.volume.grid);
  const byReference = sliceFromReference(groups, frame, series);
  if (byPosition !== null && byReference.unknownUids.length > 0) {
    throw maskGeometryError(
      `frame ${frame + 1} references source images ${truncateInput(byReference.unknownUids.join(', '))}, which are ` +
        `not images of CT series ${truncateInput(series.seriesInstanceUid)}, although its ImagePositionPatient lies on slice k=${byPosition}. ` +
        'Pass the SEG made on this CT series',
    );
  }
  if (byPosition !== null && byReference.k !== null && byPosition !== byReference.k) {
    throw segError(
      `frame ${frame + 1} lies on CT slice k=${byPosition} by its ImagePositionPatient but references the image ` +
        `of slice k=${byReference.k}`,
    );
  }
  const k = byPosition ?? byReference.k;
  if (k === null && byReference.unknownUids.length === 0) {
    throw segError(
      `frame ${frame + 1} has neither a PlanePositionSequence nor a source image reference, so it cannot be placed`,
    );
  }
  if (k === null) {
    throw maskGeometryError(
      `frame ${frame + 1} has no PlanePositionSequence and references ${truncateInput(byReference.unknownUids.join(', '))}, ` +
        `which are not images of CT series ${truncateInput(series.seriesInstanceUid)}. Pass the CT series the segmentation was drawn on`,
    );
  }
  return k;
}

function sliceFromPosition(groups: FrameGroups, frame: number, grid: Grid): number | null {
  const position = groups.item('PlanePositionSequence')?.numbers('ImagePositionPatient', 3) ?? null;
  if (position === null) return null;

  const match = matchSlice(grid, [position[0]!, position[1]!, position[2]!]);
  const normalTolerance = positionToleranceMm(grid.spacingMm[2]);
  const inside =
    match.k >= 0 && match.k < grid.dimensions[2] && Math.abs(match.normalOffsetMm) <= normalTolerance;
  const inPlane =
    Math.abs(match.inPlaneOffsetMm[0]) <= positionToleranceMm(grid.spacingMm[0]) &&
    Math.abs(match.inPlaneOffsetMm[1]) <= positionToleranceMm(grid.spacingMm[1]);
  if (!inside || !inPlane) {
    throw maskGeometryError(
      `frame ${frame + 1} at ImagePositionPatient ${formatVector(position)} matches no CT slice: nearest slice ` +
        `k=${match.k} of 0..${grid.dimensions[2] - 1}, ${match.normalOffsetMm.toFixed(4)} mm off along the normal ` +
        `and ${formatVector(match.inPlaneOffsetMm)} mm off within the plane (tolerance ${normalTolerance.toFixed(4)} mm). ` +
        'Pass the complete CT series the segmentation was drawn on',
    );
  }
  return match.k;
}

/** Finds the CT slice whose SOPInstanceUID the frame's DerivationImageSequence references. */
function sliceFromReference(
  groups: FrameGroups,
  frame: number,
  series: CtSeries,
): { readonly k: number | null; readonly unknownUids: readonly string[] } {
  const slices = new Set<number>();
  const unknownUids: string[] = [];
  for (const derivation of groups.perFrame.sequence('DerivationImageSequence')) {
    for (const source of derivation.sequence('SourceImageSequence')) {
      const uid = source.string('ReferencedSOPInstanceUID');
      if (uid === null) continue;
      const k = series.sopInstanceUids.indexOf(uid);
      if (k >= 0) slices.add(k);
      else unknownUids.push(uid);
    }
  }
  if (slices.size > 1) {
    throw segError(`frame ${frame + 1} references images of several CT slices (k=${[...slices].join(', ')})`);
  }
  const [k] = slices;
  return { k: k ?? null, unknownUids };
}

function segError(problem: string): Nqo1Error {
  return new Nqo1Error(
    'ERR_SEG_MALFORMED',
    `SEG file: ${problem}. Export the segmentation again with a complete header.`,
  );
}

function maskGeometryError(problem: string): Nqo1Error {
  return new Nqo1Error(
    'ERR_MASK_GEOMETRY',
    `SEG file: the segmentation does not lie on the CT grid: ${problem}.`,
  );
}
