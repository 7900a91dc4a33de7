/**
 * Neighbour offsets ("angles") of the texture matrices, as pyradiomics 3.x `cmatrices.c`
 * (`get_angle_count`, `build_angles`) generates them.
 *
 * For each distance d, the offsets are every (dk, dj, di) with infinity norm d, listed with dk, then
 * dj, then di running from +d down to −d. A unidirectional set keeps the first half of that list (13
 * offsets for d = 1 in 3-D), a bidirectional set keeps all of it (26). An offset is dropped when it
 * is at least as long as the cropped bounding box along some axis, so a one-slice ROI keeps only
 * in-plane offsets. With force2D, offsets that move along the force2D axis are dropped too.
 */

import type { Vec3 } from '../imaging/volume.js';

/** A voxel offset along i (columns), j (rows) and k (slices). */
export type Offset = readonly [di: number, dj: number, dk: number];

export interface OffsetOptions {
  /** Keep both signs of every direction (GLSZM, NGTDM) or only the first half (GLCM, GLRLM). */
  readonly bidirectional: boolean;
  readonly force2D: boolean;
  /** Axis left out with force2D, in NumPy order: 0 = k, 1 = j, 2 = i. */
  readonly force2Ddimension: number;
}

/**
 * Builds the offsets for a bounding box of `size` voxels (along i, j, k), in pyradiomics order.
 */
export function buildOffsets(size: Vec3, distances: readonly number[], options: OffsetOptions): Offset[] {
  const offsets: Offset[] = [];

  for (const distance of distances) {
    const all: Offset[] = [];
    for (let dk = distance; dk >= -distance; dk--) {
      for (let dj = distance; dj >= -distance; dj--) {
        for (let di = distance; di >= -distance; di--) {
          if (Math.max(Math.abs(dk), Math.abs(dj), Math.abs(di)) === distance) all.push([di, dj, dk]);
        }
      }
    }

    const candidates = options.bidirectional ? all : all.slice(0, all.length / 2);
    for (const offset of candidates) {
      if (fitsInBox(offset, size) && !movesAlongForcedAxis(offset, options)) offsets.push(offset);
    }
  }
  return offsets;
}

/** Returns true when every component of `offset` is shorter than the box along that axis. */
function fitsInBox(offset: Offset, size: Vec3): boolean {
  return Math.abs(offset[0]) < size[0] && Math.abs(offset[1]) < size[1] && Math.abs(offset[2]) < size[2];
}

function movesAlongForcedAxis(offset: Offset, options: OffsetOptions): boolean {
  if (!options.force2D) return false;
  // NumPy axis 0 is k, which is component 2 of an Offset.
  return offset[2 - options.force2Ddimension] !== 0;
}
