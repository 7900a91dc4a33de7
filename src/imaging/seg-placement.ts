/**
 * Placement of a SEG frame on a CT series: its functional groups, its orientation and pixel
 * spacing, and the CT slice it belongs to (by plane position or by referenced source image).
 *
 * @see DICOM PS3.3 sections C.7.6.16 (Multi-frame Functional Groups), C.7.6.16.2.3 (Plane
 *   Position) and C.7.6.16.2.6 (Derivation Image).
 */

import { Nqo1Error } from '../errors.js';

import { truncateInput } from './input-text.js';

import { findSliceIndex } from './ct-series.js';
import { maskToleranceMm } from './mask-on-grid.js';
import { segMalformed } from './seg-frames.js';
import { GEOMETRY_TOLERANCE, formatVector, matchSlice, vectorsAgree } from './slice-geometry.js';
import { voxelCentreMm } from './volume.js';

import type { CtSeries } from './ct-series.js';
import type { FrameGroups } from './functional-groups.js';
import type { MaskGridOptions } from './mask-on-grid.js';
import type { Grid, Vec3 } from './volume.js';

/** Requires the frame's ImageOrientationPatient to equal the CT's within 1e-4 per component. */
export function checkFrameOrientation(groups: FrameGroups, frame: number, grid: Grid): void {
  const orientation = groups.item('PlaneOrientationSequence')?.numbers('ImageOrientationPatient', 6) ?? null;
  if (orientation === null) {
    throw segMalformed(`frame ${frame + 1} has no ImageOrientationPatient in PlaneOrientationSequence`);
  }
  const ctOrientation = [...grid.axes[0], ...grid.axes[1]];
  if (!vectorsAgree(orientation, ctOrientation, GEOMETRY_TOLERANCE.directionCosine)) {
    throw geometryError(
      `frame ${frame + 1} has ImageOrientationPatient ${formatVector(orientation)}, but the CT has ${formatVector(ctOrientation)}`,
    );
  }
}

/** Returns the frame's pixel spacing as [column step, row step] in mm (PixelSpacing is row\column). */
export function framePixelSpacing(groups: FrameGroups, frame: number): readonly [number, number] {
  const spacing = groups.item('PixelMeasuresSequence')?.numbers('PixelSpacing', 2) ?? null;
  if (spacing === null || !(spacing[0]! > 0) || !(spacing[1]! > 0)) {
    throw segMalformed(
      `frame ${frame + 1} has no positive PixelSpacing in PixelMeasuresSequence (found ${spacing === null ? 'none' : formatVector(spacing)})`,
    );
  }
  return [spacing[1]!, spacing[0]!];
}

/** The place of a frame: its CT slice (null when beyond the first or last slice) and its position. */
export interface FramePlacement {
  readonly k: number | null;
  /** Patient position of the frame's first pixel centre, in mm. */
  readonly positionMm: Vec3;
  /** That position relative to the CT origin along the CT i and j axes, in mm. */
  readonly inPlaneOffsetMm: readonly [number, number];
}

/**
 * Returns the CT slice index of a frame: from its plane position when present, else from the
 * CT image it was derived from (the frame then starts at that image's first pixel). When both are
 * present they must agree, and a source image outside the series is rejected even when the
 * position matches, because the frame was drawn on other images.
 */
export function sliceOfFrame(
  groups: FrameGroups,
  frame: number,
  series: CtSeries,
  options: MaskGridOptions,
): FramePlacement {
  const grid = series.volume.grid;
  const byPosition = placementFromPosition(groups, frame, grid, options);
  const byReference = sliceFromReference(groups, frame, series);
  // A frame beyond the CT volume may well reference an image that was not passed with the series.
  if (byPosition !== null && byPosition.k !== null && byReference.unknownUids.length > 0) {
    throw geometryError(
      `frame ${frame + 1} references source images ${truncateInput(byReference.unknownUids.join(', '))}, which are ` +
        `not images of CT series ${truncateInput(series.seriesInstanceUid)}, although its ImagePositionPatient matches the CT volume. ` +
        'Pass the SEG made on this CT series',
    );
  }
  if (byPosition !== null && byReference.k !== null && byPosition.k !== byReference.k) {
    throw segMalformed(
      `frame ${frame + 1} lies ${byPosition.k === null ? 'outside the CT volume' : `on CT slice k=${byPosition.k}`} ` +
        `by its ImagePositionPatient but references the image of slice k=${byReference.k}`,
    );
  }
  if (byPosition !== null) return byPosition;

  const k = byReference.k;
  if (k === null && byReference.unknownUids.length === 0) {
    throw segMalformed(
      `frame ${frame + 1} has neither a PlanePositionSequence nor a source image reference, so it cannot be placed`,
    );
  }
  if (k === null) {
    throw geometryError(
      `frame ${frame + 1} has no PlanePositionSequence and references ${truncateInput(byReference.unknownUids.join(', '))}, ` +
        `which are not images of CT series ${truncateInput(series.seriesInstanceUid)}. Pass the CT series the segmentation was drawn on`,
    );
  }
  return { k, positionMm: voxelCentreMm(grid, 0, 0, k), inPlaneOffsetMm: [0, 0] };
}

function placementFromPosition(
  groups: FrameGroups,
  frame: number,
  grid: Grid,
  options: MaskGridOptions,
): FramePlacement | null {
  const position = groups.item('PlanePositionSequence')?.numbers('ImagePositionPatient', 3) ?? null;
  if (position === null) return null;

  const positionMm: Vec3 = [position[0]!, position[1]!, position[2]!];
  const match = matchSlice(grid, positionMm);
  const outside = match.k < 0 || match.k >= grid.dimensions[2];
  const normalTolerance = maskToleranceMm(grid.spacingMm[2], options);
  if (!outside && Math.abs(match.normalOffsetMm) > normalTolerance) {
    throw geometryError(
      `frame ${frame + 1} at ImagePositionPatient ${formatVector(position)} matches no CT slice: nearest slice ` +
        `k=${match.k} of 0..${grid.dimensions[2] - 1}, ${match.normalOffsetMm.toFixed(4)} mm off along the normal ` +
        `(tolerance ${normalTolerance.toFixed(4)} mm). Pass the complete CT series the segmentation was drawn on`,
    );
  }
  return { k: outside ? null : match.k, positionMm, inPlaneOffsetMm: match.inPlaneOffsetMm };
}

/**
 * Finds the CT slice that the frame's DerivationImageSequence references, by SOPInstanceUID and,
 * for a multi-frame CT, ReferencedFrameNumber.
 */
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
      if (!series.sopInstanceUids.includes(uid)) {
        unknownUids.push(uid);
        continue;
      }
      // A multi-frame CT instance contains several slices, and ReferencedFrameNumber distinguishes them.
      const frameNumbers = source.numbers('ReferencedFrameNumber') ?? [null];
      for (const frameNumber of frameNumbers) {
        const k = findSliceIndex(series, uid, frameNumber);
        if (k === null) {
          throw segMalformed(
            `frame ${frame + 1} references image ${truncateInput(uid)}` +
              (frameNumber === null ? ' without ReferencedFrameNumber' : ` frame ${frameNumber}`) +
              ', which does not name one slice of the multi-frame CT',
          );
        }
        slices.add(k);
      }
    }
  }
  if (slices.size > 1) {
    throw segMalformed(
      `frame ${frame + 1} references images of several CT slices (k=${[...slices].join(', ')})`,
    );
  }
  const [k] = slices;
  return { k: k ?? null, unknownUids };
}

function geometryError(problem: string): Nqo1Error {
  return new Nqo1Error(
    'ERR_MASK_GEOMETRY',
    `SEG file: the segmentation does not lie on the CT grid: ${problem}.`,
  );
}
