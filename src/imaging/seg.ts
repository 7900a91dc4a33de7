/**
 * DICOM Segmentation (SEG) objects as a binary mask on the grid of their CT series.
 *
 * BINARY, FRACTIONAL (thresholded, see `seg-frames.ts`) and Label Map segmentations are read.
 * Each frame is placed on a CT slice by its own geometry, never by its frame number. The
 * ImagePositionPatient of its PlanePositionSequence is projected on the CT slice normal and
 * matched to a slice within the position tolerance (default max(0.01 mm, 1 % of the slice step);
 * `toleranceMm` overrides it). A frame without a plane position is placed by the
 * ReferencedSOPInstanceUID of its DerivationImageSequence/SourceImageSequence.
 *
 * Within the slice, a frame may be cropped, shifted or sampled at another pixel spacing. Each CT
 * voxel (i, j) takes the frame pixel nearest to its centre, at column `c = round((i·Δx − oᵢ) / Δc)`
 * and row `r = round((j·Δy − oⱼ) / Δr)`, and 0 outside the frame. Here oᵢ, oⱼ is the frame
 * position relative to the CT origin along the row and column directions. A segment with a pixel
 * outside the image (a frame beyond the first or last CT slice, or past the slice edges) is an
 * error, and so is a frame between two slices.
 *
 * @see DICOM PS3.3 sections A.51 (Segmentation IOD), C.8.20 (Segmentation modules) and C.7.6.16
 *   (Multi-frame Functional Groups).
 */

import { Nqo1Error } from '../errors.js';

import { truncateInput } from './input-text.js';

import { readDicomFile } from './dicom-dataset.js';
import { checkRoiOnGrid, insideImage, maskToleranceMm } from './mask-on-grid.js';
import { readPixelFormat } from './pixel-data.js';
import {
  DEFAULT_FRACTIONAL_THRESHOLD,
  checkBitDepth,
  readSegmentationKind,
  segMalformed,
  segmentFrameDecoder,
} from './seg-frames.js';
import { FrameGroups } from './functional-groups.js';
import { checkFrameOrientation, framePixelSpacing, sliceOfFrame } from './seg-placement.js';
import { checkReferencedSeries } from './seg-references.js';
import { describeSegments, listSegments, selectSegment } from './seg-segments.js';
import { GEOMETRY_TOLERANCE, vectorsAgree } from './slice-geometry.js';
import { voxelCount } from './volume.js';

import type { CtSeries } from './ct-series.js';
import type { DicomItem } from './dicom-dataset.js';
import type { MaskGridOptions } from './mask-on-grid.js';
import type { PixelFormat } from './pixel-data.js';
import type { SegmentSelection } from './seg-segments.js';
import type { Grid, MaskVolume, Vec3 } from './volume.js';

export type { SegmentSelection } from './seg-segments.js';

/** Options of {@link readSegMask}: the segment, the geometry tolerance and the fractional threshold. */
export interface SegReadOptions extends SegmentSelection, MaskGridOptions {
  /**
   * For FRACTIONAL segmentations: a pixel is in the segment when its value is at least this
   * fraction of MaximumFractionalValue (inclusive). In (0, 1]; default 0.5.
   */
  readonly fractionalThreshold?: number;
}

/**
 * Reads one segment of a DICOM SEG as a 0/1 mask on the grid of `series`.
 *
 * The SEG must share the series' FrameOfReferenceUID (when both state one) and orientation, and
 * name the series in its ReferencedSeriesSequence when it has one. A frame that references source
 * images must reference images of the series.
 *
 * @param bytes - the SEG Part 10 file
 * @param series - the CT series the segmentation was drawn on
 * @param options - which segment to read (by default the only one), `toleranceMm`, `fractionalThreshold`
 * @throws Nqo1Error ERR_DICOM_UNSUPPORTED for tiled (microscopy) segmentations;
 *   ERR_SEGMENT_SELECTION when no single segment matches; ERR_MASK_EMPTY when the segment has no
 *   pixel; ERR_MASK_GEOMETRY when the SEG does not lie on the CT grid or wholly outside it;
 *   ERR_ROI_TOO_SMALL for a one-voxel segment; ERR_SEG_MALFORMED for missing or contradictory
 *   frame information.
 */
export function readSegMask(bytes: ArrayBuffer, series: CtSeries, options: SegReadOptions = {}): MaskVolume {
  const file = readDicomFile(bytes, 'SEG file');
  const dataset = file.dataset;
  const kind = readSegmentationKind(dataset);
  const format = readPixelFormat(dataset);
  checkBitDepth(kind, format);
  const labelMap = kind.type === 'LABELMAP';
  const segmentNumber = selectSegment(dataset, options, labelMap);

  const grid = series.volume.grid;
  checkFrameOfReference(dataset.string('FrameOfReferenceUID'), series.frameOfReferenceUid);
  checkReferencedSeries(dataset, series);

  const perFrame = dataset.sequence('PerFrameFunctionalGroupsSequence');
  if (perFrame.length !== format.numberOfFrames) {
    throw segMalformed(
      `PerFrameFunctionalGroupsSequence has ${perFrame.length} items for NumberOfFrames ${format.numberOfFrames}`,
    );
  }
  const shared = dataset.sequence('SharedFunctionalGroupsSequence')[0] ?? null;
  const threshold = options.fractionalThreshold ?? DEFAULT_FRACTIONAL_THRESHOLD;
  const decode = segmentFrameDecoder(file, format, kind, segmentNumber, threshold);

  const voxels = new Uint8Array(voxelCount(grid));
  const inside = insideImage(grid, options);
  const frameOfSlice = new Map<number, number>();
  const box = new BoxMm();
  let framesOfSegment = 0;
  for (let frame = 0; frame < format.numberOfFrames; frame++) {
    const groups = new FrameGroups(perFrame[frame]!, shared);
    if (!labelMap && frameSegmentNumber(groups, frame) !== segmentNumber) continue;
    framesOfSegment++;

    const pixels = decode(frame);
    if (!pixels.includes(1)) continue; // a frame without a pixel of the segment adds nothing

    checkFrameOrientation(groups, frame, grid);
    const spacing = framePixelSpacing(groups, frame);
    const placement = sliceOfFrame(groups, frame, series, options);
    box.addFrame(pixels, format, spacing, placement.positionMm, grid, inside);
    // A frame beyond the first or last CT slice is not placed; checkRoiOnGrid below rejects the
    // segment, since its pixels count as outside the image.
    if (placement.k === null) continue;

    const earlier = frameOfSlice.get(placement.k);
    if (earlier !== undefined) {
      throw segMalformed(
        `frames ${earlier + 1} and ${frame + 1} both place segment ${segmentNumber} on CT slice k=${placement.k}`,
      );
    }
    frameOfSlice.set(placement.k, frame);
    placeFrame(pixels, format, spacing, placement.inPlaneOffsetMm, grid, placement.k, voxels, options);
  }

  const description = segmentDescription(dataset, segmentNumber, labelMap);
  if (box.count === 0) {
    const thresholdText = kind.type === 'FRACTIONAL' ? ` at fractionalThreshold ${threshold}` : '';
    throw new Nqo1Error(
      'ERR_MASK_EMPTY',
      `SEG file: ${description} has no pixel in its ${framesOfSegment} frames${thresholdText}. The SEG contains segments ` +
        `${listSegments(describeSegments(dataset, labelMap))}; choose the segment of the tumour, or check the segmentation.`,
      { details: { segmentNumber, frames: framesOfSegment } },
    );
  }
  const mask = { grid, voxels };
  checkRoiOnGrid(mask, {
    description: `SEG file: ${description}`,
    sourceVoxels: box.count,
    sourceBoxMm: box.value(),
    outsideVoxels: box.outside,
  });
  return mask;
}

function segmentDescription(dataset: DicomItem, segmentNumber: number, labelMap: boolean): string {
  const segment = describeSegments(dataset, labelMap).find((candidate) => candidate.number === segmentNumber);
  return `segment ${segmentNumber} "${truncateInput(segment?.label ?? '')}"`;
}

function checkFrameOfReference(segUid: string | null, ctUid: string | null): void {
  if (segUid !== null && ctUid !== null && segUid !== ctUid) {
    throw new Nqo1Error(
      'ERR_MASK_GEOMETRY',
      `SEG file: the segmentation does not lie on the CT grid: the SEG FrameOfReferenceUID ${truncateInput(segUid)} ` +
        `differs from the CT series' ${truncateInput(ctUid)}, so it was drawn on other images. Pass the SEG made on ` +
        'this CT series, or the CT series the SEG was made on.',
    );
  }
}

function frameSegmentNumber(groups: FrameGroups, frame: number): number {
  const identification = groups.item('SegmentIdentificationSequence');
  if (identification === null) {
    throw segMalformed(`frame ${frame + 1} has no SegmentIdentificationSequence`);
  }
  return identification.requireNumber('ReferencedSegmentNumber');
}

/**
 * Copies a frame onto CT slice k, nearest neighbour in the plane. `spacing` is [column step Δc,
 * row step Δr] of the frame; `offsetMm` the frame's first pixel centre relative to the CT origin
 * along the CT i and j axes.
 */
function placeFrame(
  pixels: Uint8Array,
  format: PixelFormat,
  spacing: readonly [number, number],
  offsetMm: readonly [number, number],
  grid: Grid,
  k: number,
  voxels: Uint8Array,
  options: MaskGridOptions,
): void {
  const [nx, ny] = grid.dimensions;
  const [sx, sy] = grid.spacingMm;
  const sliceStart = k * nx * ny;
  const aligned =
    format.columns === nx &&
    format.rows === ny &&
    vectorsAgree(spacing, [sx, sy], GEOMETRY_TOLERANCE.spacingMm) &&
    Math.abs(offsetMm[0]) <= maskToleranceMm(sx, options) &&
    Math.abs(offsetMm[1]) <= maskToleranceMm(sy, options);
  if (aligned) {
    voxels.set(pixels, sliceStart);
    return;
  }

  const snapC = maskToleranceMm(spacing[0], options) / spacing[0];
  const snapR = maskToleranceMm(spacing[1], options) / spacing[1];
  for (let j = 0; j < ny; j++) {
    const r = Math.floor((j * sy - offsetMm[1]) / spacing[1] + 0.5 + snapR);
    if (r < 0 || r >= format.rows) continue;
    for (let i = 0; i < nx; i++) {
      const c = Math.floor((i * sx - offsetMm[0]) / spacing[0] + 0.5 + snapC);
      if (c < 0 || c >= format.columns) continue;
      if (pixels[c + format.columns * r] === 1) voxels[sliceStart + i + nx * j] = 1;
    }
  }
}

/** Counts the segment's pixels and their bounding box in patient coordinates. */
class BoxMm {
  count = 0;
  /** Pixels whose centres lie outside the image. */
  outside = 0;
  readonly #min = [Infinity, Infinity, Infinity];
  readonly #max = [-Infinity, -Infinity, -Infinity];

  addFrame(
    pixels: Uint8Array,
    format: PixelFormat,
    spacing: readonly [number, number],
    positionMm: Vec3,
    grid: Grid,
    inside: (pointMm: Vec3) => boolean,
  ): void {
    const [row, column] = grid.axes;
    for (let r = 0; r < format.rows; r++) {
      for (let c = 0; c < format.columns; c++) {
        if (pixels[c + format.columns * r] !== 1) continue;
        this.count++;
        const point: [number, number, number] = [0, 0, 0];
        for (let a = 0; a < 3; a++) {
          const value = positionMm[a]! + c * spacing[0] * row[a]! + r * spacing[1] * column[a]!;
          point[a] = value;
          this.#min[a] = Math.min(this.#min[a]!, value);
          this.#max[a] = Math.max(this.#max[a]!, value);
        }
        if (!inside(point)) this.outside++;
      }
    }
  }

  value(): { readonly minMm: Vec3; readonly maxMm: Vec3 } | null {
    if (this.count === 0) return null;
    return {
      minMm: [this.#min[0]!, this.#min[1]!, this.#min[2]!],
      maxMm: [this.#max[0]!, this.#max[1]!, this.#max[2]!],
    };
  }
}
