/**
 * Shared input of the texture classes (GLRLM, GLSZM, NGTDM): the discretised ROI in its bounding box.
 *
 * Texture works in index space: voxel spacing and direction cosines do not enter any texture feature.
 */

import type { Vec3 } from '../imaging/volume.js';
import type { Offset } from './angles.js';
import type { DiscretisedRoi } from './discretise.js';
import type { WeightingNorm } from './settings.js';

/** Discretised ROI plus the box geometry the texture classes need. */
export interface TextureInput {
  /** Bin number of each box voxel (i fastest), 0 outside the ROI. */
  readonly bins: Int32Array;
  /** Bounding-box voxel counts along i, j and k. */
  readonly size: Vec3;
  /** Highest occupied bin number. */
  readonly levelCount: number;
  /** Voxel count per bin number, indexed 0..levelCount. */
  readonly histogram: Float64Array;
  readonly force2D: boolean;
  readonly force2Ddimension: number;
  /** Voxel spacing in millimetres along i, j and k; only the direction weights use it. */
  readonly spacingMm: Vec3;
  readonly weightingNorm?: WeightingNorm;
}

/** Builds the texture input from a discretised ROI. */
export function textureInput(
  discretised: DiscretisedRoi,
  size: Vec3,
  options: {
    readonly force2D: boolean;
    readonly force2Ddimension: number;
    readonly spacingMm: Vec3;
    readonly weightingNorm?: WeightingNorm;
  },
): TextureInput {
  return {
    bins: discretised.bins,
    size,
    levelCount: discretised.levelCount,
    histogram: discretised.histogram,
    force2D: options.force2D,
    force2Ddimension: options.force2Ddimension,
    spacingMm: options.spacingMm,
    ...(options.weightingNorm === undefined ? {} : { weightingNorm: options.weightingNorm }),
  };
}

/**
 * Returns the physical length in millimetres of an offset under `norm`: the largest component
 * (infinity), the Euclidean length, or the sum of components (manhattan). 'no_weighting' gives 0.
 *
 * NOTE: only 'no_weighting' is checked against pyradiomics output (the "combined" baseline columns).
 * The three distance norms follow the pyradiomics formulas, but no reference value covers them.
 */
export function offsetLengthMm(offset: Offset, spacingMm: Vec3, norm: WeightingNorm): number {
  const x = Math.abs(offset[0]) * spacingMm[0];
  const y = Math.abs(offset[1]) * spacingMm[1];
  const z = Math.abs(offset[2]) * spacingMm[2];
  switch (norm) {
    case 'infinity':
      return Math.max(x, y, z);
    case 'euclidean':
      return Math.sqrt(x * x + y * y + z * z);
    case 'manhattan':
      return x + y + z;
    case 'no_weighting':
      return 0;
  }
}

/**
 * Lists the occupied bin numbers in ascending order and maps each bin number to its position in
 * that list (−1 for an empty bin). pyradiomics removes empty gray levels from every matrix and uses
 * the bin number itself as the gray value i in the formulas.
 */
export function occupiedLevels(histogram: Float64Array): { levels: Float64Array; positionOf: Int32Array } {
  const positionOf = new Int32Array(histogram.length).fill(-1);
  const levels: number[] = [];
  for (let bin = 1; bin < histogram.length; bin++) {
    if (histogram[bin]! > 0) {
      positionOf[bin] = levels.length;
      levels.push(bin);
    }
  }
  return { levels: Float64Array.from(levels), positionOf };
}

/**
 * Most cells a texture matrix may have (400 MB of float64). Beyond it the matrix would not fit in a
 * server process, which means a setting produced far too many gray levels or an absurdly large box.
 */
export const MAX_MATRIX_CELLS = 50_000_000;

/**
 * Computes the Gray Level Variance of a matrix with one row per gray level: p_i = (Σ_j P(i, j)) / total,
 * μ = Σ p_i·i, result Σ p_i (i − μ)². Each row is summed before dividing, as pyradiomics does with its
 * marginals, so a single gray level gives p = 1 and exactly 0 (cell-by-cell weighting left about 1e-32).
 */
export function grayLevelVariance(
  levels: Float64Array,
  counts: Float64Array,
  columns: number,
  total: number,
): number {
  const probabilities = new Float64Array(levels.length);
  for (let row = 0; row < levels.length; row++) {
    let marginal = 0;
    for (let column = 0; column < columns; column++) marginal += counts[row * columns + column]!;
    probabilities[row] = marginal / total;
  }

  let mean = 0;
  for (let row = 0; row < levels.length; row++) mean += probabilities[row]! * levels[row]!;
  let variance = 0;
  for (let row = 0; row < levels.length; row++) variance += probabilities[row]! * (levels[row]! - mean) ** 2;
  return variance;
}
