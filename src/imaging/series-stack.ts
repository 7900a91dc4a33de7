/**
 * Selection and ordering of the slices of one series before they are stacked into a volume:
 * slices of another orientation are set aside, slices are ordered along the slice normal, and
 * exact duplicates are dropped.
 *
 * @see DICOM PS3.3 section C.7.6.2.1.1 (Image Position and Image Orientation).
 */

import { Nqo1Error } from '../errors.js';

import { truncateInput } from './input-text.js';

import {
  GEOMETRY_TOLERANCE,
  dot,
  formatVector,
  orientationFromIop,
  positionToleranceMm,
  subtract,
} from './slice-geometry.js';

import type { CtSlice } from './ct-slice.js';
import type { SliceOrientation } from './slice-geometry.js';

/** A slice left out of the volume, and why. */
export interface ExcludedImage {
  /** Names the file, and the frame of a multi-frame image. */
  readonly context: string;
  readonly sopInstanceUid: string;
  /** 1-based frame number within a multi-frame image; null for a single-frame image. */
  readonly frameNumber: number | null;
  readonly reason: string;
}

/** The slices of the largest stack of one orientation, and the slices set aside. */
export interface OrientedStack {
  readonly slices: readonly CtSlice[];
  readonly orientation: SliceOrientation;
  readonly excluded: readonly ExcludedImage[];
}

/**
 * Groups the slices by ImageOrientationPatient (components equal within
 * {@link GEOMETRY_TOLERANCE.directionCosine}) and keeps the largest group, so that a localizer or
 * a reformatted image stored in the series is set aside instead of breaking the volume.
 *
 * @throws Nqo1Error ERR_SERIES_GEOMETRY when two groups are equally large, because then no
 *   orientation is the series' own.
 */
export function selectLargestStack(slices: readonly CtSlice[]): OrientedStack {
  const groups: { readonly iop: readonly number[]; readonly slices: CtSlice[] }[] = [];
  for (const slice of slices) {
    const group = groups.find((candidate) =>
      candidate.iop.every(
        (value, index) =>
          Math.abs(value - slice.imageOrientation[index]!) <= GEOMETRY_TOLERANCE.directionCosine,
      ),
    );
    if (group === undefined) groups.push({ iop: slice.imageOrientation, slices: [slice] });
    else group.slices.push(slice);
  }
  groups.sort((a, b) => b.slices.length - a.slices.length);

  const largest = groups[0]!;
  const runnerUp = groups[1];
  if (runnerUp !== undefined && runnerUp.slices.length === largest.slices.length) {
    const listed = groups
      .map(
        (group) =>
          `${formatVector(group.iop)} (${group.slices.length} slices, e.g. ${group.slices[0]!.context})`,
      )
      .join(', ');
    throw geometryError(
      `the slices have ${groups.length} orientations and the two largest stacks are equally large, so it is not ` +
        `clear which one is the series: ImageOrientationPatient ${listed}. Pass only the slices of one stack`,
    );
  }

  const excluded = groups
    .slice(1)
    .flatMap((group) =>
      group.slices.map((slice) =>
        excludedImage(
          slice,
          `ImageOrientationPatient ${formatVector(group.iop)} differs from the ${largest.slices.length} slices of the ` +
            `series stack ${formatVector(largest.iop)} (localizer or reformatted image)`,
        ),
      ),
    );
  return {
    slices: largest.slices,
    orientation: orientationFromIop(largest.iop, largest.slices[0]!.context),
    excluded,
  };
}

/** Slices ordered along the normal, with their positions along it. */
export interface OrderedSlices {
  readonly slices: readonly CtSlice[];
  /** Projection of each ImagePositionPatient on the slice normal, in millimetres, ascending. */
  readonly positionsMm: readonly number[];
  readonly excluded: readonly ExcludedImage[];
}

/**
 * Orders the slices by ImagePositionPatient projected on the slice normal (never by InstanceNumber)
 * and drops a slice that repeats another one's position with identical pixel values, which happens
 * when the same image is sent twice. Among equal positions the slice given first is kept.
 *
 * @throws Nqo1Error ERR_SERIES_GEOMETRY naming both slices when two slices share a position but
 *   differ in pixel values, or share a plane at different in-plane positions.
 */
export function orderAlongNormal(slices: readonly CtSlice[], orientation: SliceOrientation): OrderedSlices {
  const order = slices
    .map((slice, index) => ({ slice, index, position: dot(slice.imagePositionMm, orientation.normal) }))
    .sort((a, b) => a.position - b.position || a.index - b.index);

  const kept: CtSlice[] = [];
  const positionsMm: number[] = [];
  const excluded: ExcludedImage[] = [];
  for (const { slice, position } of order) {
    const previous = kept[kept.length - 1];
    const previousPosition = positionsMm[positionsMm.length - 1];
    if (
      previous === undefined ||
      previousPosition === undefined ||
      position - previousPosition > GEOMETRY_TOLERANCE.minPositionMm
    ) {
      kept.push(slice);
      positionsMm.push(position);
      continue;
    }
    requireSamePlanePosition(previous, slice, orientation);
    requireEqualPixels(previous, slice);
    excluded.push(
      excludedImage(slice, `duplicate of ${previous.context}: same position and identical pixel values`),
    );
  }
  requireDistinctInstances(kept);
  return { slices: kept, positionsMm, excluded };
}

/**
 * Requires each SOP instance (and frame) to appear at one position only, because references from
 * a SEG or RTSTRUCT to that instance would otherwise name two slices.
 */
function requireDistinctInstances(slices: readonly CtSlice[]): void {
  const seen = new Map<string, CtSlice>();
  for (const slice of slices) {
    const key = `${slice.sopInstanceUid}#${slice.frameNumber ?? 0}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      throw geometryError(
        `${earlier.context} and ${slice.context} carry the same SOPInstanceUID ${truncateInput(slice.sopInstanceUid)}` +
          `${slice.frameNumber === null ? '' : ` and frame number ${slice.frameNumber}`} but lie at different positions ` +
          `${formatVector(earlier.imagePositionMm)} and ${formatVector(slice.imagePositionMm)}. Retrieve the series ` +
          'again from the PACS; an edited copy of an image is mixed in',
      );
    }
    seen.set(key, slice);
  }
}

function requireSamePlanePosition(kept: CtSlice, duplicate: CtSlice, orientation: SliceOrientation): void {
  const offset = subtract(duplicate.imagePositionMm, kept.imagePositionMm);
  const shift = [dot(offset, orientation.row), dot(offset, orientation.column)] as const;
  const [rowSpacing, columnSpacing] = kept.pixelSpacingMm;
  if (
    Math.abs(shift[0]) > positionToleranceMm(columnSpacing) ||
    Math.abs(shift[1]) > positionToleranceMm(rowSpacing)
  ) {
    throw geometryError(
      `${kept.context} and ${duplicate.context} lie in the same plane but are shifted by ${formatVector(shift)} mm ` +
        'within it, so they are not one stack. Pass the slices of one reconstruction only',
    );
  }
}

/** Compares the modality values of two slices of the same size, decoding both. */
function requireEqualPixels(kept: CtSlice, duplicate: CtSlice): void {
  const size = kept.rows * kept.columns;
  if (duplicate.rows * duplicate.columns !== size) {
    throw geometryError(
      `${kept.context} and ${duplicate.context} lie at the same position ${formatVector(kept.imagePositionMm)} ` +
        'but differ in size',
    );
  }
  const keptValues = new Float64Array(size);
  const duplicateValues = new Float64Array(size);
  kept.decodeInto(keptValues, 0);
  duplicate.decodeInto(duplicateValues, 0);

  let differing = 0;
  for (let p = 0; p < size; p++) if (keptValues[p] !== duplicateValues[p]) differing++;
  if (differing === 0) return;
  throw geometryError(
    `${kept.context} and ${duplicate.context} lie at the same position ${formatVector(kept.imagePositionMm)} but ` +
      `${differing} of their ${size} pixel values differ, so they are two different images of one place (a second ` +
      'phase, reconstruction or time point). Pass the slices of one reconstruction only',
  );
}

function excludedImage(slice: CtSlice, reason: string): ExcludedImage {
  return {
    context: slice.context,
    sopInstanceUid: slice.sopInstanceUid,
    frameNumber: slice.frameNumber,
    reason,
  };
}

export function geometryError(problem: string): Nqo1Error {
  return new Nqo1Error('ERR_SERIES_GEOMETRY', `The slices do not form one regular volume: ${problem}.`);
}
