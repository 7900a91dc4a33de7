import type { Grid, Vec3 } from '../../src/imaging/volume.js';

/** A grid at the origin with axes along x, y and z, for phantoms. */
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
