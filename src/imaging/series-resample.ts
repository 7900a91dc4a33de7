/**
 * Resampling of a stack with varying slice steps, or with a gantry tilt, onto a regular orthogonal
 * grid whose k axis is the slice normal (row direction × column direction).
 *
 * Every source slice is parallel to the output slices, so each output voxel is interpolated in two
 * stages. Within each of the two source slices around it along the normal, the voxel's in-plane
 * position is sampled bilinearly, after removing that slice's in-plane shift from the first
 * slice (zero without tilt). Between the two samples the value is interpolated linearly along the
 * normal: `v = (1 − w)·a + w·b` with `w = (t − tₐ) / (t_b − tₐ)`. The result is exact for a value
 * that is linear in patient coordinates.
 *
 * Output slice k lies at `positionsMm[0] + k × stepMm` along the normal. Without tilt the in-plane
 * grid is the source grid, and an output slice within the position tolerance of a source slice
 * copies it. With tilt the in-plane grid grows to cover every shifted slice, and voxels outside
 * the field of view of the slices around them get the smallest value of the series.
 */

import { dot, positionToleranceMm, subtract } from './slice-geometry.js';

import type { CtSlice } from './ct-slice.js';
import type { SliceOrientation } from './slice-geometry.js';
import type { Vec3 } from './volume.js';

/** The output grid of a resampling, relative to the first source slice. */
export interface ResamplingPlan {
  readonly stepMm: number;
  readonly sliceCount: number;
  readonly columns: number;
  readonly rows: number;
  /** Patient-coordinate centre of output voxel (0, 0, 0), in millimetres. */
  readonly originMm: Vec3;
  /** In-plane shift of each source slice from the output origin: [along row, along column], in millimetres. */
  readonly sliceShiftsMm: readonly (readonly [number, number])[];
  readonly tilted: boolean;
}

/**
 * Plans the output grid. Along the normal it runs from the first position to the last with step
 * `stepMm`, and includes the last one when it lies within the position tolerance of the grid.
 * In-plane it is the source grid, enlarged to cover the shifted slices when `tilted`.
 */
export function planResampling(
  slices: readonly CtSlice[],
  positionsMm: readonly number[],
  orientation: SliceOrientation,
  stepMm: number,
  tilted: boolean,
): ResamplingPlan {
  const first = slices[0]!;
  const [rowSpacing, columnSpacing] = first.pixelSpacingMm;
  const extentMm = positionsMm[positionsMm.length - 1]! - positionsMm[0]!;
  const sliceCount = Math.floor((extentMm + positionToleranceMm(stepMm)) / stepMm) + 1;

  const shifts = slices.map((slice): [number, number] => {
    if (!tilted) return [0, 0];
    const offset = subtract(slice.imagePositionMm, first.imagePositionMm);
    return [dot(offset, orientation.row), dot(offset, orientation.column)];
  });
  const minAlongRow = Math.min(...shifts.map((shift) => shift[0]));
  const maxAlongRow = Math.max(...shifts.map((shift) => shift[0]));
  const minAlongColumn = Math.min(...shifts.map((shift) => shift[1]));
  const maxAlongColumn = Math.max(...shifts.map((shift) => shift[1]));
  const extraColumns = Math.max(
    0,
    Math.ceil((maxAlongRow - minAlongRow - positionToleranceMm(columnSpacing)) / columnSpacing),
  );
  const extraRows = Math.max(
    0,
    Math.ceil((maxAlongColumn - minAlongColumn - positionToleranceMm(rowSpacing)) / rowSpacing),
  );

  const p = first.imagePositionMm;
  const { row, column } = orientation;
  return {
    stepMm,
    sliceCount,
    columns: first.columns + extraColumns,
    rows: first.rows + extraRows,
    originMm: [
      p[0] + minAlongRow * row[0] + minAlongColumn * column[0],
      p[1] + minAlongRow * row[1] + minAlongColumn * column[1],
      p[2] + minAlongRow * row[2] + minAlongColumn * column[2],
    ],
    sliceShiftsMm: shifts.map((shift): [number, number] => [
      shift[0] - minAlongRow,
      shift[1] - minAlongColumn,
    ]),
    tilted,
  };
}

/** A resampled stack: the voxels and, per output slice, the source slice it copies. */
export interface ResampledStack {
  readonly voxels: Float64Array;
  /** Index into the source slices when output slice k copies one, else null (always null with tilt). */
  readonly sourceOfSlice: readonly (number | null)[];
  /** Voxels outside the field of view of the source slices, set to the smallest value of the series. */
  readonly filledVoxels: number;
}

/**
 * Decodes the source slices and interpolates them onto the planned grid. The caller checks the
 * size limits first: this allocates the source and the output voxels.
 *
 * @param positionsMm - ascending positions of the slices along the normal, in millimetres
 */
export function resampleStack(
  slices: readonly CtSlice[],
  positionsMm: readonly number[],
  plan: ResamplingPlan,
): ResampledStack {
  const first = slices[0]!;
  const sourceSize = first.rows * first.columns;
  const source = new Float64Array(sourceSize * slices.length);
  slices.forEach((slice, index) => {
    slice.decodeInto(source, index * sourceSize);
  });
  let minimum = Infinity;
  for (let index = 0; index < source.length; index++) {
    const value = source[index]!;
    if (value < minimum) minimum = value;
  }

  const sampler = new SliceSampler(source, first, plan);
  const outputSize = plan.rows * plan.columns;
  const voxels = new Float64Array(outputSize * plan.sliceCount);
  const sourceOfSlice: (number | null)[] = [];
  const tolerance = positionToleranceMm(plan.stepMm);
  let filledVoxels = 0;
  let below = 0;
  for (let k = 0; k < plan.sliceCount; k++) {
    const target = positionsMm[0]! + k * plan.stepMm;
    while (below < slices.length - 2 && positionsMm[below + 1]! <= target) below++;

    const lowerMm = positionsMm[below]!;
    const upperMm = positionsMm[below + 1] ?? lowerMm;
    let weight = upperMm > lowerMm ? Math.min(1, Math.max(0, (target - lowerMm) / (upperMm - lowerMm))) : 0;
    let copied: number | null = null;
    if (Math.abs(target - lowerMm) <= tolerance) {
      weight = 0;
      copied = below;
    } else if (Math.abs(target - upperMm) <= tolerance) {
      weight = 1;
      copied = below + 1;
    }
    sourceOfSlice.push(plan.tilted ? null : copied);

    for (let j = 0; j < plan.rows; j++) {
      for (let i = 0; i < plan.columns; i++) {
        const lower = weight === 1 ? 0 : sampler.sample(below, i, j);
        const upper = weight === 0 ? 0 : sampler.sample(below + 1, i, j);
        const index = k * outputSize + j * plan.columns + i;
        if (Number.isNaN(lower) || Number.isNaN(upper)) {
          voxels[index] = minimum;
          filledVoxels++;
        } else {
          voxels[index] = (1 - weight) * lower + weight * upper;
        }
      }
    }
  }
  return { voxels, sourceOfSlice, filledVoxels };
}

/** Bilinear sampling of source slices at output pixel centres; NaN outside a slice's field of view. */
class SliceSampler {
  readonly #source: Float64Array;
  readonly #columns: number;
  readonly #rows: number;
  readonly #columnSpacingMm: number;
  readonly #rowSpacingMm: number;
  readonly #plan: ResamplingPlan;

  constructor(source: Float64Array, first: CtSlice, plan: ResamplingPlan) {
    this.#source = source;
    this.#columns = first.columns;
    this.#rows = first.rows;
    this.#rowSpacingMm = first.pixelSpacingMm[0];
    this.#columnSpacingMm = first.pixelSpacingMm[1];
    this.#plan = plan;
  }

  /** Returns the value of source slice `n` at the centre of output pixel (i, j). */
  sample(n: number, i: number, j: number): number {
    const shift = this.#plan.sliceShiftsMm[n]!;
    const x = (i * this.#columnSpacingMm - shift[0]) / this.#columnSpacingMm;
    const y = (j * this.#rowSpacingMm - shift[1]) / this.#rowSpacingMm;
    const cellX = this.#cell(x, this.#columns, this.#columnSpacingMm);
    const cellY = this.#cell(y, this.#rows, this.#rowSpacingMm);
    if (cellX === null || cellY === null) return NaN;

    const source = this.#source;
    const [x0, fx] = cellX;
    const [y0, fy] = cellY;
    const top = n * this.#rows * this.#columns + y0 * this.#columns;
    const bottom = fy === 0 ? top : top + this.#columns;
    const x1 = fx === 0 ? x0 : x0 + 1;
    const upperRow = (1 - fx) * source[top + x0]! + fx * source[top + x1]!;
    const lowerRow = (1 - fx) * source[bottom + x0]! + fx * source[bottom + x1]!;
    return (1 - fy) * upperRow + fy * lowerRow;
  }

  /**
   * Returns the lower pixel index and the fraction towards the next one for a continuous pixel
   * coordinate. A coordinate within the position tolerance of a pixel snaps to it, and one outside
   * 0..count−1 gives null.
   */
  #cell(coordinate: number, count: number, spacingMm: number): [number, number] | null {
    const snap = positionToleranceMm(spacingMm) / spacingMm;
    const nearest = Math.round(coordinate);
    if (Math.abs(coordinate - nearest) <= snap) {
      return nearest >= 0 && nearest < count ? [nearest, 0] : null;
    }
    const lower = Math.floor(coordinate);
    if (lower < 0 || lower + 1 >= count) return null;
    return [lower, coordinate - lower];
  }
}
