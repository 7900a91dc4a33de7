/** Small synthetic volumes for hand-derived tests. */

import type { Grid, ImageVolume, MaskVolume, Vec3 } from '../../../src/imaging/volume.js';

/** Creates a grid with identity axes at the origin. */
export function makeGrid(dimensions: Vec3, spacingMm: Vec3 = [1, 1, 1]): Grid {
  return {
    dimensions,
    spacingMm,
    originMm: [0, 0, 0],
    axes: [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ],
  };
}

export function makeImage(grid: Grid, values: readonly number[]): ImageVolume {
  return { grid, voxels: Float64Array.from(values) };
}

export function makeMask(grid: Grid, values: readonly number[]): MaskVolume {
  return { grid, voxels: Uint8Array.from(values) };
}
