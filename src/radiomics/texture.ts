/**
 * Shared input of the texture classes (GLRLM, GLSZM, NGTDM): the discretised ROI in its bounding box.
 *
 * Texture works in index space: voxel spacing and direction cosines do not enter any texture feature.
 */

import type { Vec3 } from '../imaging/volume.js';
import type { DiscretisedRoi } from './discretise.js';

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
}

/** Builds the texture input from a discretised ROI. */
export function textureInput(
  discretised: DiscretisedRoi,
  size: Vec3,
  options: { readonly force2D: boolean; readonly force2Ddimension: number },
): TextureInput {
  return {
    bins: discretised.bins,
    size,
    levelCount: discretised.levelCount,
    histogram: discretised.histogram,
    force2D: options.force2D,
    force2Ddimension: options.force2Ddimension,
  };
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
