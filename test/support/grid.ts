import type { Grid, Vec3 } from '../../src/imaging/volume.js';

/** Builds a phantom grid at the origin with axes along x, y and z. */
export function axisAlignedGrid(dimensions: Vec3, spacingMm: Vec3 = [1, 1, 1]): Grid {
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
