/**
 * Resampling of image and mask onto `resampledPixelSpacing`, as pyradiomics 3.x
 * `imageoperations.resampleImage` sets up SimpleITK's ResampleImageFilter.
 *
 * Grid (per axis a, original spacing s, target spacing t, ROI bounding box from index L with size S):
 * - t = s where the setting is 0, and where the ROI spans a single voxel (S = 1);
 * - when t equals s within NumPy's allclose tolerance (|s − t| ≤ 1e-8 + 1e-5·|t|) nothing is
 *   interpolated: image and mask are only cropped to the ROI box plus `padDistance`;
 * - otherwise, with r = s/t: the new index range is [floor((L − ½)·r − pad), ceil((L + S − ½)·r + pad)],
 *   clipped to [0, ceil(n·r) − 1]. The new origin is the continuous input index ½·(t − s)/s + low/r
 *   mapped to patient coordinates, so the new grid is aligned at the corner of the original first voxel.
 * Output voxels outside the input get 0. The mask is sampled by nearest neighbour (index rounded half
 * up); the image by `interpolator`: nearest neighbour, trilinear, or the cubic B-spline of bspline.ts. An integer-valued image keeps an integer type as in SimpleITK,
 * where the output pixel type is the input's: interpolated values are truncated towards zero.
 */

import type { Grid, ImageVolume, MaskVolume, Vec3 } from '../imaging/volume.js';
import { cropToRoi, labelBoundingBox } from './crop.js';
import { bsplineCoefficients, bsplineSampler } from './bspline.js';
import type { InterpolatorName, RadiomicsSettings } from './settings.js';

/** Geometry of the resampling: target grid and the continuous input index of its first voxel. */
export interface ResamplingPlan {
  readonly grid: Grid;
  /** Target spacing per axis after the zero and single-slice substitutions. */
  readonly spacingMm: Vec3;
  /** True when the target spacing equals the input spacing and only cropping is needed. */
  readonly cropOnly: boolean;
}

type ResampleSettings = Pick<
  RadiomicsSettings,
  'resampledPixelSpacing' | 'interpolator' | 'padDistance' | 'label'
>;

/**
 * Plans the target grid for `mask` (see the module comment).
 *
 * @throws Nqo1Error ERR_MASK_EMPTY when no voxel carries the label.
 */
export function planResampling(mask: MaskVolume, settings: ResampleSettings): ResamplingPlan {
  const requested = settings.resampledPixelSpacing!;
  const grid = mask.grid;
  const box = labelBoundingBox(mask, settings.label);

  const target = [0, 1, 2].map((axis) => {
    const size = box.upper[axis]! - box.lower[axis]! + 1;
    if (requested[axis] === 0 || size === 1) return grid.spacingMm[axis]!;
    return requested[axis]!;
  }) as unknown as Vec3;

  const cropOnly = [0, 1, 2].every(
    (axis) => Math.abs(grid.spacingMm[axis]! - target[axis]!) <= 1e-8 + 1e-5 * Math.abs(target[axis]!),
  );
  if (cropOnly) return { grid, spacingMm: target, cropOnly };

  const dimensions: number[] = [];
  const originIndex: number[] = [];
  for (let axis = 0; axis < 3; axis++) {
    const s = grid.spacingMm[axis]!;
    const t = target[axis]!;
    const ratio = s / t;
    const lower = box.lower[axis]!;
    const size = box.upper[axis]! - lower + 1;
    let low = Math.floor((lower - 0.5) * ratio - settings.padDistance);
    let high = Math.ceil((lower + size - 0.5) * ratio + settings.padDistance);
    const maxHigh = Math.ceil(grid.dimensions[axis]! * ratio) - 1;
    if (low < 0) low = 0;
    if (high > maxHigh) high = maxHigh;
    dimensions.push(high - low + 1);
    originIndex.push((0.5 * (t - s)) / s + low / ratio);
  }

  return {
    grid: {
      dimensions: dimensions as unknown as Vec3,
      spacingMm: target,
      originMm: continuousIndexToPoint(grid, originIndex),
      axes: grid.axes,
    },
    spacingMm: target,
    cropOnly,
  };
}

/**
 * Resamples image and mask (on one grid) to `settings.resampledPixelSpacing`.
 *
 * @throws Nqo1Error ERR_MASK_EMPTY when no voxel carries the label.
 */
export function resampleToSpacing(
  image: ImageVolume,
  mask: MaskVolume,
  settings: ResampleSettings,
): { image: ImageVolume; mask: MaskVolume } {
  const plan = planResampling(mask, settings);
  if (plan.cropOnly) return cropToRoi(image, mask, settings.label, settings.padDistance);

  // NOTE: ImageVolume stores no pixel type, so an all-integer image is treated like SimpleITK's integer
  // input types. SimpleITK would also clamp to the type's range; values here are only truncated.
  const integerImage = image.voxels.every((value) => Number.isInteger(value));
  const imageSampler = samplerFor(image, settings.interpolator);
  const maskSampler = nearestSampler(mask.grid, mask.voxels);

  const [nx, ny, nz] = plan.grid.dimensions;
  const imageVoxels = new Float64Array(nx * ny * nz);
  const maskVoxels = new Uint8Array(nx * ny * nz);
  let index = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, index++) {
        const point = indexToPoint(plan.grid, i, j, k);
        const continuous = pointToContinuousIndex(image.grid, point);
        const value = imageSampler(continuous);
        imageVoxels[index] = integerImage ? Math.trunc(value) : value;
        maskVoxels[index] = maskSampler(continuous);
      }
    }
  }
  return { image: { grid: plan.grid, voxels: imageVoxels }, mask: { grid: plan.grid, voxels: maskVoxels } };
}

/** The image sampler of an interpolator; B-spline computes its coefficients over the whole image once. */
function samplerFor(image: ImageVolume, interpolator: InterpolatorName): (index: Vec3) => number {
  if (interpolator === 'sitkLinear') return linearSampler(image);
  if (interpolator === 'sitkNearestNeighbor') return nearestSampler(image.grid, image.voxels);
  const spline = bsplineSampler(bsplineCoefficients(image), image.grid.dimensions);
  return (index) => (insideBuffer(image.grid, index) ? spline(index) : 0);
}

/** Patient coordinates of a continuous index: origin + Σ_a axes[a]·spacing[a]·index[a]. */
function continuousIndexToPoint(grid: Grid, index: readonly number[]): Vec3 {
  const point = [grid.originMm[0], grid.originMm[1], grid.originMm[2]];
  for (let axis = 0; axis < 3; axis++) {
    const step = grid.spacingMm[axis]! * index[axis]!;
    for (let c = 0; c < 3; c++) point[c]! += grid.axes[axis]![c]! * step;
  }
  return point as unknown as Vec3;
}

function indexToPoint(grid: Grid, i: number, j: number, k: number): Vec3 {
  return continuousIndexToPoint(grid, [i, j, k]);
}

/** Continuous index of a patient point on a grid with orthonormal axes: axes[a]·(p − origin) / spacing[a]. */
function pointToContinuousIndex(grid: Grid, point: Vec3): Vec3 {
  const offset = [point[0] - grid.originMm[0], point[1] - grid.originMm[1], point[2] - grid.originMm[2]];
  return [0, 1, 2].map((axis) => {
    const direction = grid.axes[axis]!;
    return (
      (direction[0] * offset[0]! + direction[1] * offset[1]! + direction[2] * offset[2]!) /
      grid.spacingMm[axis]!
    );
  }) as unknown as Vec3;
}

/** True when a continuous index lies in [−½, n − ½) on every axis, the sampling region of ITK. */
function insideBuffer(grid: Grid, index: Vec3): boolean {
  for (let axis = 0; axis < 3; axis++) {
    if (!(index[axis]! >= -0.5 && index[axis]! < grid.dimensions[axis]! - 0.5)) return false;
  }
  return true;
}

/** Nearest-neighbour sampling: the voxel at floor(index + ½), 0 outside the buffer. */
function nearestSampler(grid: Grid, voxels: Float64Array | Uint8Array): (index: Vec3) => number {
  const [nx, ny, nz] = grid.dimensions;
  return (index) => {
    if (!insideBuffer(grid, index)) return 0;
    const i = Math.min(nx - 1, Math.floor(index[0] + 0.5));
    const j = Math.min(ny - 1, Math.floor(index[1] + 0.5));
    const k = Math.min(nz - 1, Math.floor(index[2] + 0.5));
    return voxels[i + nx * (j + ny * k)]!;
  };
}

/**
 * Trilinear sampling as ITK's LinearInterpolateImageFunction: base = floor(index) clamped to 0, d = index − base;
 * an axis with d ≤ 0 or without a next voxel is not interpolated; otherwise v = a + (b − a)·d, along i
 * first, then j, then k. 0 outside the buffer.
 */
function linearSampler(image: ImageVolume): (index: Vec3) => number {
  const grid = image.grid;
  const [nx, ny, nz] = grid.dimensions;
  const voxels = image.voxels;
  return (index) => {
    if (!insideBuffer(grid, index)) return 0;
    const limits = [nx, ny, nz];
    const base: number[] = [];
    const distance: number[] = [];
    const step: boolean[] = [];
    for (let axis = 0; axis < 3; axis++) {
      const b = Math.max(0, Math.floor(index[axis]!));
      base.push(b);
      distance.push(index[axis]! - b);
      step.push(distance[axis]! > 0 && b + 1 < limits[axis]!);
    }

    const at = (di: number, dj: number, dk: number): number =>
      voxels[base[0]! + di + nx * (base[1]! + dj + ny * (base[2]! + dk))]!;
    const alongI = (dj: number, dk: number): number => {
      const a = at(0, dj, dk);
      return step[0] ? a + (at(1, dj, dk) - a) * distance[0]! : a;
    };
    const alongJ = (dk: number): number => {
      const a = alongI(0, dk);
      return step[1] ? a + (alongI(1, dk) - a) * distance[1]! : a;
    };
    const a = alongJ(0);
    return step[2] ? a + (alongJ(1) - a) * distance[2]! : a;
  };
}
