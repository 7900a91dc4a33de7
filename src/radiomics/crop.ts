/**
 * Cropping of image and mask to the ROI bounding box plus a margin (pyradiomics `preCrop` with
 * `padDistance`, `imageoperations.cropToTumorMask`).
 *
 * The box is [lower − padDistance, upper + padDistance] on every axis, clipped to the grid. The cropped
 * grid keeps spacing and axes; its origin is the centre of the first kept voxel. Cropping changes no
 * feature value, because every class already works on the unpadded bounding box; it only saves memory
 * before resampling.
 */

import { Nqo1Error } from '../errors.js';
import { voxelCentreMm, type Grid, type ImageVolume, type MaskVolume, type Vec3 } from '../imaging/volume.js';

/** Inclusive index bounds of a box along i, j and k. */
export interface IndexBox {
  readonly lower: Vec3;
  readonly upper: Vec3;
}

/**
 * Returns the inclusive bounding box of the voxels equal to `label`.
 *
 * @throws Nqo1Error ERR_MASK_EMPTY when no voxel carries the label.
 */
export function labelBoundingBox(mask: MaskVolume, label: number): IndexBox {
  const [nx, ny, nz] = mask.grid.dimensions;
  const lower = [nx, ny, nz];
  const upper = [-1, -1, -1];
  let index = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, index++) {
        if (mask.voxels[index] !== label) continue;
        const position = [i, j, k];
        for (let axis = 0; axis < 3; axis++) {
          if (position[axis]! < lower[axis]!) lower[axis] = position[axis]!;
          if (position[axis]! > upper[axis]!) upper[axis] = position[axis]!;
        }
      }
    }
  }
  if (upper[0]! < 0) {
    throw new Nqo1Error(
      'ERR_MASK_EMPTY',
      `The mask contains no voxel with label ${label}. Set the label setting to the value that marks the region.`,
      { details: { label } },
    );
  }
  return { lower: lower as unknown as Vec3, upper: upper as unknown as Vec3 };
}

/** Grid of the sub-box `box` of `grid`: same spacing and axes, origin at the first kept voxel. */
export function subGrid(grid: Grid, box: IndexBox): Grid {
  return {
    dimensions: [
      box.upper[0] - box.lower[0] + 1,
      box.upper[1] - box.lower[1] + 1,
      box.upper[2] - box.lower[2] + 1,
    ],
    spacingMm: grid.spacingMm,
    originMm: voxelCentreMm(grid, box.lower[0], box.lower[1], box.lower[2]),
    axes: grid.axes,
  };
}

/** Copies the voxels of `box` out of a volume stored on `grid` into a new array of the same type. */
function cropVoxels<T extends Float64Array | Uint8Array>(voxels: T, grid: Grid, box: IndexBox, out: T): T {
  const [nx, ny] = grid.dimensions;
  const sx = box.upper[0] - box.lower[0] + 1;
  let target = 0;
  for (let k = box.lower[2]; k <= box.upper[2]; k++) {
    for (let j = box.lower[1]; j <= box.upper[1]; j++) {
      const source = box.lower[0] + nx * (j + ny * k);
      out.set(voxels.subarray(source, source + sx), target);
      target += sx;
    }
  }
  return out;
}

/**
 * Crops image and mask (on the same grid) to the bounding box of `label` widened by `padDistance`
 * voxels on every side and clipped to the grid.
 */
export function cropToRoi(
  image: ImageVolume,
  mask: MaskVolume,
  label: number,
  padDistance: number,
): { image: ImageVolume; mask: MaskVolume } {
  const box = labelBoundingBox(mask, label);
  const dimensions = mask.grid.dimensions;
  const padded: IndexBox = {
    lower: [0, 1, 2].map((axis) => Math.max(0, box.lower[axis]! - padDistance)) as unknown as Vec3,
    upper: [0, 1, 2].map((axis) =>
      Math.min(dimensions[axis]! - 1, box.upper[axis]! + padDistance),
    ) as unknown as Vec3,
  };
  const grid = subGrid(mask.grid, padded);
  const count = grid.dimensions[0] * grid.dimensions[1] * grid.dimensions[2];
  return {
    image: { grid, voxels: cropVoxels(image.voxels, image.grid, padded, new Float64Array(count)) },
    mask: { grid, voxels: cropVoxels(mask.voxels, mask.grid, padded, new Uint8Array(count)) },
  };
}
