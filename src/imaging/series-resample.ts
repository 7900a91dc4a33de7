/**
 * Resampling of a stack with varying slice steps onto a regular grid along the slice normal.
 *
 * Output slice k lies at `positionsMm[0] + k × stepMm` along the normal. Its value at each pixel is
 * the linear interpolation between the two source slices around it:
 * `v = (1 − w)·a + w·b` with `w = (t − tₐ) / (t_b − tₐ)`, and an output slice within the position
 * tolerance of a source slice copies it. Pixels keep their in-plane position,
 * so this applies only to a stack that lies straight along its normal (no gantry tilt).
 */

import { positionToleranceMm } from './slice-geometry.js';

import type { CtSlice } from './ct-slice.js';

/**
 * Returns the number of regular slices from the first position to the last, the last one included
 * when it lies within the position tolerance of the grid.
 */
export function resampledSliceCount(positionsMm: readonly number[], stepMm: number): number {
  const extentMm = positionsMm[positionsMm.length - 1]! - positionsMm[0]!;
  return Math.floor((extentMm + positionToleranceMm(stepMm)) / stepMm) + 1;
}

/** A resampled stack: the voxels and, per output slice, the source slice it coincides with. */
export interface ResampledStack {
  readonly voxels: Float64Array;
  /** Index into the source slices when output slice k lies on one (within tolerance), else null. */
  readonly sourceOfSlice: readonly (number | null)[];
}

/**
 * Decodes the source slices and interpolates them onto `sliceCount` regular slices of step `stepMm`.
 * The caller checks the size limits first: this allocates the source and the output voxels.
 *
 * @param positionsMm - ascending positions of the slices along the normal, in millimetres
 */
export function resampleAlongNormal(
  slices: readonly CtSlice[],
  positionsMm: readonly number[],
  stepMm: number,
  sliceCount: number,
): ResampledStack {
  const sliceSize = slices[0]!.rows * slices[0]!.columns;
  const source = new Float64Array(sliceSize * slices.length);
  slices.forEach((slice, index) => {
    slice.decodeInto(source, index * sliceSize);
  });

  const voxels = new Float64Array(sliceSize * sliceCount);
  const sourceOfSlice: (number | null)[] = [];
  const tolerance = positionToleranceMm(stepMm);
  let below = 0;
  for (let k = 0; k < sliceCount; k++) {
    const target = positionsMm[0]! + k * stepMm;
    while (below < slices.length - 2 && positionsMm[below + 1]! <= target) below++;

    const lowerMm = positionsMm[below]!;
    const upperMm = positionsMm[below + 1]!;
    let weight = Math.min(1, Math.max(0, (target - lowerMm) / (upperMm - lowerMm)));
    if (Math.abs(target - lowerMm) <= tolerance) {
      weight = 0;
      sourceOfSlice.push(below);
    } else if (Math.abs(target - upperMm) <= tolerance) {
      weight = 1;
      sourceOfSlice.push(below + 1);
    } else {
      sourceOfSlice.push(null);
    }

    const lowerStart = below * sliceSize;
    const upperStart = (below + 1) * sliceSize;
    const outStart = k * sliceSize;
    for (let p = 0; p < sliceSize; p++) {
      voxels[outStart + p] = (1 - weight) * source[lowerStart + p]! + weight * source[upperStart + p]!;
    }
  }
  return { voxels, sourceOfSlice };
}
