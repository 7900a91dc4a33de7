/**
 * Physical-distance dilation of a mask, for the peritumoral region.
 *
 * The dilated mask contains every voxel whose centre lies within `radiusMm` (Euclidean distance in
 * millimetres, from the grid spacing) of the centre of a mask voxel, the mask included. The grid
 * axes must be orthonormal, so that the distance between voxels (i, j, k) and (i+di, j+dj, k+dk) is
 * √((di·sx)² + (dj·sy)² + (dk·sz)²) wherever they are.
 */

import { Nqo1Error } from '../errors.js';

import { GEOMETRY_TOLERANCE, dot } from './slice-geometry.js';

import type { Grid, MaskVolume } from './volume.js';

/**
 * Relative slack on r² in the structuring element test, so that offsets exactly on the sphere
 * (such as 3 voxels of 1 mm for r = 3 mm, or 3 × 0.8 mm for r = 2.4 mm) stay inside despite
 * floating-point rounding: an offset is kept when d² ≤ r² · (1 + 1e-9).
 */
export const RADIUS_SQUARED_RELATIVE_SLACK = 1e-9;

/** Index offsets of an ellipsoidal structuring element. */
export interface StructuringElement {
  readonly offsets: readonly (readonly [number, number, number])[];
  /** Largest |di|, |dj|, |dk| among the offsets. */
  readonly reach: readonly [number, number, number];
}

/**
 * Lists the index offsets (di, dj, dk) with (di·sx)² + (dj·sy)² + (dk·sz)² ≤ r² · (1 + 1e-9).
 */
export function structuringElement(
  spacingMm: readonly [number, number, number],
  radiusMm: number,
): StructuringElement {
  const limit = radiusMm * radiusMm * (1 + RADIUS_SQUARED_RELATIVE_SLACK);
  const reach = spacingMm.map((spacing) => Math.floor(Math.sqrt(limit) / spacing)) as [
    number,
    number,
    number,
  ];
  const offsets: [number, number, number][] = [];
  for (let dk = -reach[2]; dk <= reach[2]; dk++) {
    for (let dj = -reach[1]; dj <= reach[1]; dj++) {
      for (let di = -reach[0]; di <= reach[0]; di++) {
        const x = di * spacingMm[0];
        const y = dj * spacingMm[1];
        const z = dk * spacingMm[2];
        if (x * x + y * y + z * z <= limit) offsets.push([di, dj, dk]);
      }
    }
  }
  return { offsets, reach };
}

/**
 * Dilates `mask` (non-zero voxels) by `radiusMm` and returns a 0/1 mask on the same grid.
 *
 * Only boundary voxels, mask voxels with a 6-neighbour inside the volume that is not in the mask,
 * are stamped with the structuring element. That suffices because the mask voxel nearest to any
 * outside voxel always has such a neighbour: stepping from an interior voxel towards the outside
 * voxel along one axis would reach a mask voxel that is closer still. Stamps are clipped at the
 * volume edge.
 *
 * @throws Nqo1Error ERR_SETTINGS_INVALID for a negative or non-finite radius; ERR_MASK_GEOMETRY when
 *   the grid axes are not orthonormal.
 */
export function dilateMaskMm(mask: MaskVolume, radiusMm: number): MaskVolume {
  if (!Number.isFinite(radiusMm) || radiusMm < 0) {
    throw new Nqo1Error(
      'ERR_SETTINGS_INVALID',
      `The dilation radius is ${radiusMm} mm; it must be a finite distance of 0 mm or more.`,
      { details: { radiusMm } },
    );
  }
  checkOrthonormalAxes(mask.grid);

  const [nx, ny, nz] = mask.grid.dimensions;
  const source = mask.voxels;
  const result = new Uint8Array(source.length);
  for (let index = 0; index < source.length; index++) if (source[index] !== 0) result[index] = 1;

  const element = structuringElement(mask.grid.spacingMm, radiusMm);
  const [ri, rj, rk] = element.reach;
  const flatOffsets = Int32Array.from(element.offsets, ([di, dj, dk]) => di + nx * (dj + ny * dk));

  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const index = i + nx * (j + ny * k);
        if (source[index] === 0 || !isBoundary(source, mask.grid, i, j, k, index)) continue;

        const clear = i >= ri && i < nx - ri && j >= rj && j < ny - rj && k >= rk && k < nz - rk;
        if (clear) {
          for (const delta of flatOffsets) result[index + delta] = 1;
          continue;
        }
        for (const [di, dj, dk] of element.offsets) {
          const ii = i + di;
          const jj = j + dj;
          const kk = k + dk;
          if (ii < 0 || ii >= nx || jj < 0 || jj >= ny || kk < 0 || kk >= nz) continue;
          result[ii + nx * (jj + ny * kk)] = 1;
        }
      }
    }
  }
  return { grid: mask.grid, voxels: result };
}

/**
 * Returns the voxels of `dilated` that are not in `tumour`: the peritumoral ring without the
 * tumour itself. Both masks must share one grid.
 *
 * @throws Nqo1Error ERR_MASK_GEOMETRY when the grids' dimensions differ.
 */
export function ringMask(dilated: MaskVolume, tumour: MaskVolume): MaskVolume {
  const a = dilated.grid.dimensions;
  const b = tumour.grid.dimensions;
  if (a[0] !== b[0] || a[1] !== b[1] || a[2] !== b[2] || dilated.voxels.length !== tumour.voxels.length) {
    throw new Nqo1Error(
      'ERR_MASK_GEOMETRY',
      `The dilated mask (${a.join('×')}) and the tumour mask (${b.join('×')}) are on different grids. ` +
        'Dilate the tumour mask itself.',
    );
  }
  const voxels = new Uint8Array(dilated.voxels.length);
  for (let index = 0; index < voxels.length; index++) {
    if (dilated.voxels[index] !== 0 && tumour.voxels[index] === 0) voxels[index] = 1;
  }
  return { grid: dilated.grid, voxels };
}

/** Returns true when a 6-neighbour of (i, j, k) lies inside the volume and outside the mask. */
function isBoundary(voxels: Uint8Array, grid: Grid, i: number, j: number, k: number, index: number): boolean {
  const [nx, ny, nz] = grid.dimensions;
  const slice = nx * ny;
  return (
    (i > 0 && voxels[index - 1] === 0) ||
    (i < nx - 1 && voxels[index + 1] === 0) ||
    (j > 0 && voxels[index - nx] === 0) ||
    (j < ny - 1 && voxels[index + nx] === 0) ||
    (k > 0 && voxels[index - slice] === 0) ||
    (k < nz - 1 && voxels[index + slice] === 0)
  );
}

function checkOrthonormalAxes(grid: Grid): void {
  const tolerance = GEOMETRY_TOLERANCE.orthonormality;
  const [u, v, w] = grid.axes;
  const pairs = [dot(u, v), dot(u, w), dot(v, w)];
  const lengths = [dot(u, u), dot(v, v), dot(w, w)].map(Math.sqrt);
  const orthonormal =
    pairs.every((value) => Math.abs(value) <= tolerance) &&
    lengths.every((value) => Math.abs(value - 1) <= tolerance);
  if (!orthonormal) {
    throw new Nqo1Error(
      'ERR_MASK_GEOMETRY',
      `The mask grid axes are not orthonormal (dot products ${pairs.map((value) => value.toFixed(4)).join(', ')}), ` +
        'so index offsets do not map to one physical distance. Resample the image and mask to an orthogonal grid.',
    );
  }
}
