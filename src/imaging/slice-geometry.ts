/**
 * Geometry shared by the CT series reader and the mask readers: direction cosines, the slice
 * normal, and the tolerances used to decide that two positions, spacings or directions agree.
 *
 * Positions are DICOM patient coordinates (LPS) in millimetres.
 *
 * @see DICOM PS3.3 section C.7.6.2.1.1 (Image Position and Image Orientation).
 */

import { Nqo1Error } from '../errors.js';

import type { Grid, Vec3 } from './volume.js';

/**
 * Tolerances of this module, chosen to absorb the rounding of decimal strings (a DS value has at
 * most 16 characters, so 6 significant digits are common) while catching any real mismatch.
 */
export const GEOMETRY_TOLERANCE = {
  /** Maximum difference of two direction-cosine components, and of a direction's length from 1. */
  directionCosine: 1e-4,
  /** Maximum deviation of a header direction's length from 1, and of the row-column dot product from 0. */
  orthonormality: 1e-3,
  /** Maximum difference of two pixel spacings, in millimetres. */
  spacingMm: 1e-3,
  /** Lower bound of the position tolerance, in millimetres. */
  minPositionMm: 0.01,
  /** Position tolerance as a fraction of the voxel spacing along the same axis. */
  positionFractionOfSpacing: 0.01,
} as const;

/**
 * Returns the tolerance for comparing positions along an axis with voxel spacing `spacingMm`:
 * the larger of 0.01 mm and 1 % of the spacing.
 */
export function positionToleranceMm(spacingMm: number): number {
  return Math.max(GEOMETRY_TOLERANCE.minPositionMm, GEOMETRY_TOLERANCE.positionFractionOfSpacing * spacingMm);
}

export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

export function subtract(a: Vec3, b: Vec3): Vec3 {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}

function scale(a: Vec3, factor: number): Vec3 {
  return [a[0] * factor, a[1] * factor, a[2] * factor];
}

/** Returns true when every component of `a` and `b` differs by at most `tolerance`. */
export function vectorsAgree(a: readonly number[], b: readonly number[], tolerance: number): boolean {
  return a.length === b.length && a.every((value, index) => Math.abs(value - b[index]!) <= tolerance);
}

/** Formats a vector for an error message. */
export function formatVector(values: readonly number[]): string {
  return `(${values.map((value) => Number(value.toFixed(6))).join(', ')})`;
}

/** The in-plane directions of an image and its slice normal, all unit vectors. */
export interface SliceOrientation {
  /** Direction of increasing column index along a row: ImageOrientationPatient[0..2]. */
  readonly row: Vec3;
  /** Direction of increasing row index down a column: ImageOrientationPatient[3..5]. */
  readonly column: Vec3;
  /** row × column. */
  readonly normal: Vec3;
}

/**
 * Builds the slice orientation from the six ImageOrientationPatient values. Both directions must
 * be unit vectors and orthogonal within {@link GEOMETRY_TOLERANCE.orthonormality}; they are then
 * normalised so that rounding in the header does not accumulate along the volume.
 *
 * @throws Nqo1Error ERR_SERIES_GEOMETRY when the directions are not orthonormal.
 */
export function orientationFromIop(iop: readonly number[], context: string): SliceOrientation {
  const row: Vec3 = [iop[0] ?? NaN, iop[1] ?? NaN, iop[2] ?? NaN];
  const column: Vec3 = [iop[3] ?? NaN, iop[4] ?? NaN, iop[5] ?? NaN];
  const rowLength = Math.sqrt(dot(row, row));
  const columnLength = Math.sqrt(dot(column, column));
  const tolerance = GEOMETRY_TOLERANCE.orthonormality;
  const orthonormal =
    Math.abs(rowLength - 1) <= tolerance &&
    Math.abs(columnLength - 1) <= tolerance &&
    Math.abs(dot(row, column)) <= tolerance;
  if (!orthonormal) {
    throw new Nqo1Error(
      'ERR_SERIES_GEOMETRY',
      `${context}: ImageOrientationPatient ${formatVector(iop)} does not hold two orthogonal unit vectors ` +
        `(lengths ${rowLength.toFixed(6)} and ${columnLength.toFixed(6)}, dot product ${dot(row, column).toFixed(6)}). ` +
        'Correct the header of the exported series.',
    );
  }
  const unitRow = scale(row, 1 / rowLength);
  const unitColumn = scale(column, 1 / columnLength);
  const normal = cross(unitRow, unitColumn);
  return { row: unitRow, column: unitColumn, normal: scale(normal, 1 / Math.sqrt(dot(normal, normal))) };
}

/** Position of an image plane relative to the slices of a grid. */
export interface SliceMatch {
  /** The nearest slice index, possibly outside 0..nk−1. */
  readonly k: number;
  /** Distance along the normal from that slice's plane, in millimetres. */
  readonly normalOffsetMm: number;
  /** Shift of the position within the plane from the grid's origin line, in millimetres (along i, j). */
  readonly inPlaneOffsetMm: readonly [number, number];
}

/**
 * Locates the slice of `grid` whose plane passes through `positionMm`, the top-left pixel centre
 * of an image in that plane. The caller decides whether the offsets are within tolerance.
 */
export function matchSlice(grid: Grid, positionMm: Vec3): SliceMatch {
  const [axisI, axisJ, axisK] = grid.axes;
  const offset = subtract(positionMm, grid.originMm);
  const along = dot(offset, axisK) / grid.spacingMm[2];
  const k = Math.round(along);
  return {
    k,
    normalOffsetMm: (along - k) * grid.spacingMm[2],
    inPlaneOffsetMm: [dot(offset, axisI), dot(offset, axisJ)],
  };
}
