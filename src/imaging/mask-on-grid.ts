/**
 * Label volumes brought onto the grid of an image by nearest-neighbour resampling, and the checks
 * that the resulting mask can carry texture features.
 *
 * Resampling maps each image voxel centre through both grids' index↔patient transforms:
 * `x = O_img + Σ_a i_a·s_a·u_a` (patient mm), then the mask's continuous index
 * `c = M⁻¹ (x − O_mask)`, where the columns of M are `s_a·u_a` of the mask grid. The index is
 * rounded to the nearest integer per axis, halves upwards. Inside the mask grid the image voxel
 * takes that label, and outside it takes 0. An index within `toleranceMm / s_a` below a half counts as
 * the half, so header rounding never flips a voxel centre that lies on a mask voxel boundary.
 *
 * @see src/imaging/volume.ts for the grid convention.
 */

import { Nqo1Error } from '../errors.js';

import { formatVector, positionToleranceMm } from './slice-geometry.js';
import { voxelCentreMm, voxelCount } from './volume.js';

import type { Grid, MaskVolume, Vec3 } from './volume.js';

/** Settings shared by the SEG and NRRD mask readers. */
export interface MaskGridOptions {
  /**
   * Position tolerance in millimetres: a mask plane or index within this distance of an image
   * plane or voxel centre counts as lying on it. Default: max(0.01 mm, 1 % of the image spacing
   * along the axis concerned), as in `slice-geometry.ts`.
   */
  readonly toleranceMm?: number;
}

/** Smallest ROI accepted: one voxel gives no neighbour pair, so no texture matrix can be built. */
export const MIN_ROI_VOXELS = 2;

/** Returns the position tolerance along an axis of spacing `spacingMm` under `options`. */
export function maskToleranceMm(spacingMm: number, options: MaskGridOptions): number {
  const tolerance = options.toleranceMm;
  if (tolerance === undefined) return positionToleranceMm(spacingMm);
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    throw new Nqo1Error(
      'ERR_SETTINGS_INVALID',
      `Mask geometry tolerance toleranceMm is ${tolerance}; it must be a finite number of millimetres ≥ 0.`,
    );
  }
  return tolerance;
}

/**
 * Resamples a label volume (`values` on `from`, index = i + nx·(j + ny·k)) onto `to` by nearest
 * neighbour. Labels are truncated to integers; values outside 0..255 are not allowed.
 *
 * @returns the label at every voxel of `to` (0 outside `from`)
 */
export function resampleLabels(
  values: ArrayLike<number>,
  from: Grid,
  to: Grid,
  options: MaskGridOptions = {},
): Uint8Array {
  const inverse = inverseIndexTransform(from);
  const [nx, ny, nz] = to.dimensions;
  const [mx, my, mz] = from.dimensions;
  const snap = from.spacingMm.map((spacing) => maskToleranceMm(spacing, options) / spacing);
  const labels = new Uint8Array(voxelCount(to));

  // The mask index is affine in (i, j, k), so each row starts from its first voxel and steps by
  // the mask index change of one image voxel along i.
  const origin = applyInverse(inverse, to.originMm, from.originMm);
  const step = to.axes.map((axis, a) => applyInverse(inverse, scaled(axis, to.spacingMm[a]!), [0, 0, 0]));
  const [stepI, stepJ, stepK] = step as [Vec3, Vec3, Vec3];
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const rowStart = [0, 1, 2].map((a) => origin[a]! + j * stepJ[a]! + k * stepK[a]!);
      for (let i = 0; i < nx; i++) {
        const a = nearestIndex(rowStart[0]! + i * stepI[0], snap[0]!);
        const b = nearestIndex(rowStart[1]! + i * stepI[1], snap[1]!);
        const c = nearestIndex(rowStart[2]! + i * stepI[2], snap[2]!);
        if (a < 0 || b < 0 || c < 0 || a >= mx || b >= my || c >= mz) continue;
        const value = Math.trunc(values[a + mx * (b + my * c)]!);
        labels[i + nx * (j + ny * k)] = value < 0 || value > 255 ? 0 : value;
      }
    }
  }
  return labels;
}

/**
 * Rounds a continuous index to the nearest integer, halves upwards. A value within `snap` below a
 * half counts as the half, so header rounding cannot flip a voxel centre that lies on a boundary.
 */
function nearestIndex(value: number, snap: number): number {
  return Math.floor(value + 0.5 + snap);
}

type Matrix3 = readonly [Vec3, Vec3, Vec3];

/** Inverse of the matrix whose columns are spacing × axis, mapping mm offsets to index units. */
function inverseIndexTransform(grid: Grid): Matrix3 {
  const columns = grid.axes.map((axis, a) =>
    axis.map((value) => value * grid.spacingMm[a]!),
  ) as unknown as Matrix3;
  const [c0, c1, c2] = columns;
  // Rows of the inverse are the cross products of the columns divided by the determinant.
  const r0 = crossOf(c1, c2);
  const r1 = crossOf(c2, c0);
  const r2 = crossOf(c0, c1);
  const determinant = c0[0] * r0[0] + c0[1] * r0[1] + c0[2] * r0[2];
  if (!Number.isFinite(determinant) || Math.abs(determinant) < 1e-12) {
    throw new Nqo1Error(
      'ERR_MASK_GEOMETRY',
      `The mask grid's axes ${grid.axes.map((axis) => formatVector(axis)).join(', ')} with spacing ` +
        `${formatVector(grid.spacingMm)} mm span no volume, so it cannot be resampled. Check the mask header.`,
    );
  }
  const scale = (row: Vec3): Vec3 => [row[0] / determinant, row[1] / determinant, row[2] / determinant];
  return [scale(r0), scale(r1), scale(r2)];
}

function scaled(vector: Vec3, factor: number): Vec3 {
  return [vector[0] * factor, vector[1] * factor, vector[2] * factor];
}

function crossOf(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

function applyInverse(inverse: Matrix3, point: Vec3, origin: Vec3): Vec3 {
  const d0 = point[0] - origin[0];
  const d1 = point[1] - origin[1];
  const d2 = point[2] - origin[2];
  const [r0, r1, r2] = inverse;
  return [
    r0[0] * d0 + r0[1] * d1 + r0[2] * d2,
    r1[0] * d0 + r1[1] * d1 + r1[2] * d2,
    r2[0] * d0 + r2[1] * d1 + r2[2] * d2,
  ];
}

/**
 * Returns a test of whether a patient-coordinate point lies within the image: its continuous index
 * on each axis lies in [−0.5, n − 0.5], widened by the mask tolerance, so that the point falls in a
 * voxel of the image.
 */
export function insideImage(grid: Grid, options: MaskGridOptions = {}): (pointMm: Vec3) => boolean {
  const inverse = inverseIndexTransform(grid);
  const slack = grid.spacingMm.map((spacing) => maskToleranceMm(spacing, options) / spacing);
  return (pointMm) => {
    const index = applyInverse(inverse, pointMm, grid.originMm);
    for (let a = 0; a < 3; a++) {
      const value = index[a]!;
      if (value < -0.5 - slack[a]! || value > grid.dimensions[a]! - 0.5 + slack[a]!) return false;
    }
    return true;
  };
}

/** Counts the voxels where `selected` whose centres lie outside `image`. */
export function countOutside(
  grid: Grid,
  selected: (index: number) => boolean,
  image: Grid,
  options: MaskGridOptions = {},
): number {
  const inside = insideImage(image, options);
  const [nx, ny, nz] = grid.dimensions;
  let outside = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        if (selected(i + nx * (j + ny * k)) && !inside(voxelCentreMm(grid, i, j, k))) outside++;
      }
    }
  }
  return outside;
}

/** Axis-aligned bounding box in patient coordinates (mm) of the voxel centres where `selected`. */
export function boundingBoxMm(
  grid: Grid,
  selected: (index: number) => boolean,
): { readonly minMm: Vec3; readonly maxMm: Vec3 } | null {
  const [nx, ny, nz] = grid.dimensions;
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  let found = false;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        if (!selected(i + nx * (j + ny * k))) continue;
        found = true;
        const centre = voxelCentreMm(grid, i, j, k);
        for (let a = 0; a < 3; a++) {
          min[a] = Math.min(min[a]!, centre[a]!);
          max[a] = Math.max(max[a]!, centre[a]!);
        }
      }
    }
  }
  if (!found) return null;
  return { minMm: [min[0]!, min[1]!, min[2]!], maxMm: [max[0]!, max[1]!, max[2]!] };
}

/** Formats a bounding box for an error message. */
export function formatBox(box: { readonly minMm: Vec3; readonly maxMm: Vec3 } | null): string {
  return box === null ? 'none' : `${formatVector(box.minMm)} to ${formatVector(box.maxMm)} mm`;
}

/** Returns the bounding box of all voxel centres of a grid. */
export function gridBoxMm(grid: Grid): { readonly minMm: Vec3; readonly maxMm: Vec3 } {
  const [nx, ny, nz] = grid.dimensions;
  const corners: Vec3[] = [];
  for (const i of [0, nx - 1])
    for (const j of [0, ny - 1]) for (const k of [0, nz - 1]) corners.push(voxelCentreMm(grid, i, j, k));
  const min: [number, number, number] = [Infinity, Infinity, Infinity];
  const max: [number, number, number] = [-Infinity, -Infinity, -Infinity];
  for (const corner of corners) {
    for (let a = 0; a < 3; a++) {
      min[a] = Math.min(min[a]!, corner[a]!);
      max[a] = Math.max(max[a]!, corner[a]!);
    }
  }
  return { minMm: min, maxMm: max };
}

/** A summary of the mask source, reported when the mask on the image grid is unusable. */
export interface MaskSourceSummary {
  /** Names the source in messages, e.g. "The NRRD label map" or "SEG segment 2 \"Liver\"". */
  readonly description: string;
  /** Voxels of the requested label in the source, before resampling. */
  readonly sourceVoxels: number;
  /** Bounding box of those voxels in patient mm, null when there are none. */
  readonly sourceBoxMm: { readonly minMm: Vec3; readonly maxMm: Vec3 } | null;
  /** Voxels of the source whose centres lie outside the image (see {@link insideImage}). */
  readonly outsideVoxels: number;
}

/**
 * Requires the mask on the image grid to hold at least {@link MIN_ROI_VOXELS} voxels.
 *
 * @throws Nqo1Error ERR_MASK_GEOMETRY when the source has voxels but none lands on the image
 *   (the ROI lies outside the image), or when some of its voxels lie outside the image (a clipped
 *   ROI), naming both bounding boxes; ERR_ROI_TOO_SMALL for a
 *   single voxel, naming the count. An empty source is the caller's ERR_MASK_EMPTY.
 */
export function checkRoiOnGrid(mask: MaskVolume, source: MaskSourceSummary): void {
  let count = 0;
  const voxels = mask.voxels;
  for (let index = 0; index < voxels.length; index++) if (voxels[index] !== 0) count++;

  if (count === 0 && source.sourceVoxels > 0) {
    throw new Nqo1Error(
      'ERR_MASK_GEOMETRY',
      `${source.description} has ${source.sourceVoxels} voxels in ${formatBox(source.sourceBoxMm)}, ` +
        `but none lies inside the image, whose voxel centres span ${formatBox(gridBoxMm(mask.grid))}. ` +
        'Pass the mask drawn on this image series.',
      { details: { sourceVoxels: source.sourceVoxels } },
    );
  }
  if (source.outsideVoxels > 0) {
    throw new Nqo1Error(
      'ERR_MASK_GEOMETRY',
      `${source.description} has ${source.outsideVoxels} of its ${source.sourceVoxels} voxels outside the image ` +
        `(mask ${formatBox(source.sourceBoxMm)}; image voxel centres ${formatBox(gridBoxMm(mask.grid))}), so ` +
        'features would describe a clipped region. The image series may be incomplete: pass the whole series ' +
        'the mask was drawn on.',
      { details: { sourceVoxels: source.sourceVoxels, outsideVoxels: source.outsideVoxels } },
    );
  }
  if (count > 0 && count < MIN_ROI_VOXELS) {
    throw new Nqo1Error(
      'ERR_ROI_TOO_SMALL',
      `${source.description} covers ${count} voxel of the image (${source.sourceVoxels} in the mask itself); texture ` +
        `features need at least ${MIN_ROI_VOXELS} voxels. Check that the right label or segment was chosen.`,
      { details: { roiVoxels: count, sourceVoxels: source.sourceVoxels } },
    );
  }
}
