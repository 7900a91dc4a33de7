/**
 * Gray Level Run Length Matrix (GLRLM), as pyradiomics 3.x builds it (`cmatrices.c` calculate_glrlm)
 * with its default `weightingNorm` None.
 *
 * Symbols: P(i, j | θ) counts runs of gray level i and length j along direction θ, where a run is a
 * maximal line of consecutive ROI voxels of one gray level (a non-ROI voxel ends a run). i is the bin
 * number. N_r(θ) = Σ P(i, j | θ) is the number of runs and N_p(θ) = Σ j·P(i, j | θ) the number of
 * voxels seen along θ. p(i, j | θ) = P(i, j | θ) / N_r(θ). ε = 2.220446049250313e-16.
 *
 * Directions are the 13 unidirectional offsets at distance 1 (fewer when the bounding box is thin,
 * see angles.ts). A direction along which every line crosses at most one ROI voxel is dropped, and so
 * is a direction without runs. Every feature is computed per direction and averaged over the kept
 * directions (IBSI "3-D averaged", aggregation code BTW3). With the `weightingNorm` setting the
 * directions are instead summed into one matrix, each scaled by its length in millimetres under that
 * norm ('no_weighting' scales by 1, giving IBSI "3-D merged"), and features use that single matrix.
 */

import { Nqo1Error } from '../errors.js';
import { buildOffsets, type Offset } from './angles.js';
import { countRunningLengths, hasRunOfTwo, runBox } from './glrlm-runs.js';
import { roiRows } from './roi-rows.js';
import {
  grayLevelVariance as levelVariance,
  MAX_MATRIX_CELLS,
  occupiedLevels,
  offsetLengthMm,
  type TextureInput,
} from './texture.js';

const EPSILON = 2.220446049250313e-16;

/** Run length matrices of the kept directions. */
export interface Glrlm {
  /** Occupied bin numbers, one per matrix row, ascending. */
  readonly grayLevels: Float64Array;
  /** Number of run-length columns: lengths 1..maxRunLength (the longest box side). */
  readonly maxRunLength: number;
  /** Kept directions, in pyradiomics order. */
  readonly angles: readonly Offset[];
  /**
   * One matrix per kept direction, row-major: `counts[a][row · maxRunLength + (length − 1)]`. With
   * `weightingNorm` there is a single matrix: the weighted sum over the kept directions.
   */
  readonly counts: readonly Float64Array[];
}

/**
 * Builds the GLRLM of every direction. The run counts come from the counts H(i, r) of voxels whose
 * running length is r (glrlm-runs.ts), one pass over the ROI per direction: P(i, r) = H(i, r) −
 * H(i, r + 1). A direction with H(i, 2) > 0 for some i has a line with two ROI voxels; for the others
 * the lines are walked to find out.
 *
 * @throws Nqo1Error ERR_ROI_TOO_SMALL when no direction has a line with two ROI voxels.
 * @throws Nqo1Error ERR_TOO_MANY_GRAY_LEVELS when the matrices would exceed MAX_MATRIX_CELLS.
 */
export function buildGlrlm(input: TextureInput): Glrlm {
  const [sx, sy, sz] = input.size;
  const { levels, positionOf } = occupiedLevels(input.histogram);
  const maxRunLength = Math.max(sx, sy, sz);
  const offsets = buildOffsets(input.size, [1], {
    bidirectional: false,
    force2D: input.force2D,
    force2Ddimension: input.force2Ddimension,
  });

  const cells = levels.length * maxRunLength * offsets.length;
  if (cells > MAX_MATRIX_CELLS) {
    throw new Nqo1Error(
      'ERR_TOO_MANY_GRAY_LEVELS',
      `The GLRLM would need ${cells} cells (${levels.length} gray levels × ${maxRunLength} run lengths × ` +
        `${offsets.length} directions), more than the limit of ${MAX_MATRIX_CELLS}. Use a larger binWidth or a smaller binCount.`,
    );
  }

  const angles: Offset[] = [];
  const counts: Float64Array[] = [];
  const box = runBox(input.bins, input.size, roiRows(input), positionOf, levels.length, maxRunLength);
  const runningLengths = countRunningLengths(box, offsets);
  let sentinelPadded: Int16Array | Int32Array | undefined;
  let rowBase: Int32Array | undefined;
  for (const [d, offset] of offsets.entries()) {
    let hasLineWithTwoVoxels = hasRunOfTwo(box, runningLengths[d]!);
    const matrix = runsFromRunningLengths(runningLengths[d]!, box.columns, levels.length, maxRunLength);
    if (!hasLineWithTwoVoxels) {
      // No run along the offset is two voxels long, but two ROI voxels may still share a line.
      sentinelPadded ??= sentinelBins(input.bins, input.size, input.levelCount);
      rowBase ??= binRowBases(positionOf, input.levelCount, maxRunLength);
      const runs = new Float64Array((levels.length + 1) * maxRunLength + 1);
      hasLineWithTwoVoxels = countRuns(sentinelPadded, input.size, offset, rowBase, runs);
    }

    // A direction is kept only if some line crosses two ROI voxels and it has runs.
    if (!hasLineWithTwoVoxels || !matrix.some((value) => value > 0)) continue;
    angles.push(offset);
    counts.push(matrix);
  }

  if (angles.length === 0) {
    throw new Nqo1Error(
      'ERR_ROI_TOO_SMALL',
      'No run-length direction crosses two voxels of the region, so the GLRLM is empty. Check the segmentation.',
    );
  }
  if (input.weightingNorm === undefined) return { grayLevels: levels, maxRunLength, angles, counts };

  // Weighted merge: each direction is scaled by its length in mm ('no_weighting': by 1) and summed.
  const norm = input.weightingNorm;
  const merged = new Float64Array(levels.length * maxRunLength);
  angles.forEach((offset, a) => {
    const weight = norm === 'no_weighting' ? 1 : offsetLengthMm(offset, input.spacingMm, norm);
    const matrix = counts[a]!;
    for (let cell = 0; cell < merged.length; cell++) merged[cell]! += weight * matrix[cell]!;
  });
  return { grayLevels: levels, maxRunLength, angles, counts: [merged] };
}

/**
 * Turns the running-length counts H(g, r) (`runningLengths[g · columns + r]`, rows g = 1..rowCount)
 * into the run counts P(g, r) = H(g, r) − H(g, r + 1), with H(g, maxRunLength + 1) = 0, as a float64
 * matrix of rowCount rows and maxRunLength columns. Counts are integers, so the result is exact.
 */
function runsFromRunningLengths(
  runningLengths: Int32Array,
  columns: number,
  rowCount: number,
  maxRunLength: number,
): Float64Array {
  const matrix = new Float64Array(rowCount * maxRunLength);
  for (let row = 0; row < rowCount; row++) {
    const from = (row + 1) * columns;
    const to = row * maxRunLength;
    for (let length = 1; length < maxRunLength; length++) {
      matrix[to + length - 1] = runningLengths[from + length]! - runningLengths[from + length + 1]!;
    }
    matrix[to + maxRunLength - 1] = runningLengths[from + maxRunLength]!;
  }
  return matrix;
}

/** `rowBase[bin]`: first cell of the row of `bin` in the layout of {@link countRuns}. */
function binRowBases(positionOf: Int32Array, levelCount: number, maxRunLength: number): Int32Array {
  const rowBase = new Int32Array(levelCount + 1);
  for (let bin = 1; bin <= levelCount; bin++) {
    if (positionOf[bin]! >= 0) rowBase[bin] = (positionOf[bin]! + 1) * maxRunLength;
  }
  return rowBase;
}

/**
 * Copies the bins into a box padded by one voxel of −1 on every side, so that a line walk stops at
 * the first −1 instead of counting steps. 16-bit cells when the levels fit, to halve the memory the
 * walks along k stride through.
 */
function sentinelBins(
  bins: Int32Array,
  size: readonly [number, number, number],
  levelCount: number,
): Int16Array | Int32Array {
  const [sx, sy, sz] = size;
  const px = sx + 2;
  const py = sy + 2;
  const cells = px * py * (sz + 2);
  const padded = levelCount < 2 ** 15 ? new Int16Array(cells) : new Int32Array(cells);
  padded.fill(-1);
  for (let k = 0; k < sz; k++) {
    for (let j = 0; j < sy; j++) {
      const from = sx * (j + sy * k);
      padded.set(bins.subarray(from, from + sx), 1 + px * (j + 1 + py * (k + 1)));
    }
  }
  return padded;
}

/**
 * Traces every line of the box along `offset` and adds its runs to `extended`. `padded` contains the
 * bins with a border of −1 (see {@link sentinelBins}). `extended` has one row of `maxRunLength`
 * cells per bin position + 1, row 0 collecting the runs of non-ROI voxels, and one last cell that
 * collects the steps without a run end; `rowBase[bin]` is the first cell of the row of `bin`.
 * The walk has no data-dependent branch: each step adds 1 either to the cell of the run that just
 * ended or to the last cell. Returns true when some line crosses more than one ROI voxel.
 */
function countRuns(
  padded: Int16Array | Int32Array,
  size: readonly [number, number, number],
  offset: Offset,
  rowBase: Int32Array,
  extended: Float64Array,
): boolean {
  const [sx, sy, sz] = size;
  const px = sx + 2;
  const py = sy + 2;
  const [di, dj, dk] = offset;
  const stride = di + px * (dj + py * dk);
  const spare = extended.length - 1;
  let hasLineWithTwoVoxels = false;

  for (let k = 0; k < sz; k++) {
    for (let j = 0; j < sy; j++) {
      const rowStart = 1 + px * (j + 1 + py * (k + 1));
      for (let start = rowStart; start < rowStart + sx; start++) {
        // A line starts where stepping back by the offset leaves the box.
        if (padded[start - stride]! >= 0) continue;

        let level = padded[start]!;
        let roiVoxels = level > 0 ? 1 : 0;
        let runStart = 0;
        let step = 1;
        for (let index = start + stride; ; index += stride, step++) {
          const bin = padded[index]!;
          if (bin < 0) break;
          const ended = +(bin !== level);
          const cell = rowBase[level]! + step - runStart - 1;
          extended[spare + ended * (cell - spare)]!++;
          runStart += ended * (step - runStart);
          level = bin;
          roiVoxels += +(bin > 0);
        }
        extended[rowBase[level]! + step - runStart - 1]!++;
        if (roiVoxels > 1) hasLineWithTwoVoxels = true;
      }
    }
  }
  return hasLineWithTwoVoxels;
}

/** Averages `perAngle` over the kept directions. */
function meanOverAngles(glrlm: Glrlm, perAngle: (matrix: Float64Array, runCount: number) => number): number {
  let sum = 0;
  for (const matrix of glrlm.counts) {
    let runCount = 0;
    for (const value of matrix) runCount += value;
    sum += perAngle(matrix, runCount);
  }
  return sum / glrlm.counts.length;
}

/** Sums `weight(i, j) · P(i, j)` over the matrix of one direction; i is the bin number, j the run length. */
function weightedSum(glrlm: Glrlm, matrix: Float64Array, weight: (i: number, j: number) => number): number {
  const columns = glrlm.maxRunLength;
  let sum = 0;
  for (let row = 0; row < glrlm.grayLevels.length; row++) {
    const i = glrlm.grayLevels[row]!;
    for (let column = 0; column < columns; column++) {
      const count = matrix[row * columns + column]!;
      if (count !== 0) sum += weight(i, column + 1) * count;
    }
  }
  return sum;
}

/** Σ_j (Σ_i P(i, j))², the sum of squared run-length marginals of one direction. */
function squaredRunLengthMarginals(glrlm: Glrlm, matrix: Float64Array): number {
  const columns = glrlm.maxRunLength;
  let sum = 0;
  for (let column = 0; column < columns; column++) {
    let marginal = 0;
    for (let row = 0; row < glrlm.grayLevels.length; row++) marginal += matrix[row * columns + column]!;
    sum += marginal * marginal;
  }
  return sum;
}

/** Σ_i (Σ_j P(i, j))², the sum of squared gray-level marginals of one direction. */
function squaredGrayLevelMarginals(glrlm: Glrlm, matrix: Float64Array): number {
  const columns = glrlm.maxRunLength;
  let sum = 0;
  for (let row = 0; row < glrlm.grayLevels.length; row++) {
    let marginal = 0;
    for (let column = 0; column < columns; column++) marginal += matrix[row * columns + column]!;
    sum += marginal * marginal;
  }
  return sum;
}

/**
 * Short Run Emphasis: Σ P(i, j)/j² / N_r. pyradiomics `original_glrlm_ShortRunEmphasis`, IBSI
 * "short runs emphasis" 22OV. A flat ROI gives the value of its run lengths alone.
 */
export function shortRunEmphasis(glrlm: Glrlm): number {
  return meanOverAngles(glrlm, (m, nr) => weightedSum(glrlm, m, (_i, j) => 1 / (j * j)) / nr);
}

/** Long Run Emphasis: Σ P(i, j)·j² / N_r. pyradiomics `original_glrlm_LongRunEmphasis`, IBSI W4KF. */
export function longRunEmphasis(glrlm: Glrlm): number {
  return meanOverAngles(glrlm, (m, nr) => weightedSum(glrlm, m, (_i, j) => j * j) / nr);
}

/**
 * Gray Level Non-Uniformity: Σ_i (Σ_j P(i, j))² / N_r. pyradiomics
 * `original_glrlm_GrayLevelNonUniformity`, IBSI R5YN. A flat ROI gives N_r.
 */
export function grayLevelNonUniformity(glrlm: Glrlm): number {
  return meanOverAngles(glrlm, (m, nr) => squaredGrayLevelMarginals(glrlm, m) / nr);
}

/**
 * Gray Level Non-Uniformity Normalized: Σ_i (Σ_j P(i, j))² / N_r². pyradiomics
 * `original_glrlm_GrayLevelNonUniformityNormalized`, IBSI OVBL. A flat ROI gives 1.
 */
export function grayLevelNonUniformityNormalized(glrlm: Glrlm): number {
  return meanOverAngles(glrlm, (m, nr) => squaredGrayLevelMarginals(glrlm, m) / (nr * nr));
}

/**
 * Run Length Non-Uniformity: Σ_j (Σ_i P(i, j))² / N_r, averaged over directions. pyradiomics
 * `original_glrlm_RunLengthNonUniformity`, IBSI "run length non-uniformity" W92Y. It grows with the
 * number of runs, so it is not normalised for ROI size. Part of the BR-RO model.
 */
export function runLengthNonUniformity(glrlm: Glrlm): number {
  return meanOverAngles(glrlm, (m, nr) => squaredRunLengthMarginals(glrlm, m) / nr);
}

/**
 * Run Length Non-Uniformity Normalized: Σ_j (Σ_i P(i, j))² / N_r². pyradiomics
 * `original_glrlm_RunLengthNonUniformityNormalized`, IBSI IC23. Runs of a single length give 1.
 */
export function runLengthNonUniformityNormalized(glrlm: Glrlm): number {
  return meanOverAngles(glrlm, (m, nr) => squaredRunLengthMarginals(glrlm, m) / (nr * nr));
}

/**
 * Run Percentage: N_r / N_p(θ), with N_p(θ) = Σ j·P(i, j) the voxels seen along θ. pyradiomics
 * `original_glrlm_RunPercentage`, IBSI 9ZK5. Lies in (0, 1]; 1 when every run is one voxel long.
 */
export function runPercentage(glrlm: Glrlm): number {
  return meanOverAngles(glrlm, (m, nr) => nr / weightedSum(glrlm, m, (_i, j) => j));
}

/**
 * Gray Level Variance: Σ p(i, j)(i − μ)² with μ = Σ p(i, j)·i. pyradiomics
 * `original_glrlm_GrayLevelVariance`, IBSI 8CE5. A flat ROI gives 0.
 */
export function grayLevelVariance(glrlm: Glrlm): number {
  return meanOverAngles(glrlm, (m, nr) => levelVariance(glrlm.grayLevels, m, glrlm.maxRunLength, nr));
}

/**
 * Run Variance: Σ p(i, j)(j − μ)² with μ = Σ p(i, j)·j. pyradiomics `original_glrlm_RunVariance`,
 * IBSI SXLW. Runs of a single length give 0.
 */
export function runVariance(glrlm: Glrlm): number {
  return meanOverAngles(glrlm, (m, nr) => {
    const mean = weightedSum(glrlm, m, (_i, j) => j / nr);
    return weightedSum(glrlm, m, (_i, j) => ((j - mean) * (j - mean)) / nr);
  });
}

/**
 * Run Entropy: −Σ p(i, j) log2(p(i, j) + ε). pyradiomics `original_glrlm_RunEntropy`, IBSI HJ9O.
 * A matrix with a single occupied cell gives −log2(1 + ε) ≈ −3.2e-16.
 */
export function runEntropy(glrlm: Glrlm): number {
  return meanOverAngles(glrlm, (m, nr) => {
    let sum = 0;
    for (const count of m) {
      if (count === 0) continue;
      const p = count / nr;
      sum -= p * Math.log2(p + EPSILON);
    }
    return sum;
  });
}

/**
 * Low Gray Level Run Emphasis: Σ P(i, j)/i² / N_r. pyradiomics `original_glrlm_LowGrayLevelRunEmphasis`, IBSI
 * V3SW. A flat ROI (all bin 1) gives 1.
 */
export function lowGrayLevelRunEmphasis(glrlm: Glrlm): number {
  return meanOverAngles(glrlm, (m, nr) => weightedSum(glrlm, m, (i) => 1 / (i * i)) / nr);
}

/**
 * High Gray Level Run Emphasis: Σ P(i, j)·i² / N_r. pyradiomics `original_glrlm_HighGrayLevelRunEmphasis`,
 * IBSI G3QZ. A flat ROI (all bin 1) gives 1.
 */
export function highGrayLevelRunEmphasis(glrlm: Glrlm): number {
  return meanOverAngles(glrlm, (m, nr) => weightedSum(glrlm, m, (i) => i * i) / nr);
}

/**
 * Short Run Low Gray Level Emphasis: Σ P(i, j)/(i²j²) / N_r. pyradiomics
 * `original_glrlm_ShortRunLowGrayLevelEmphasis`, IBSI HTZT. A flat ROI gives ShortRunEmphasis.
 */
export function shortRunLowGrayLevelEmphasis(glrlm: Glrlm): number {
  return meanOverAngles(glrlm, (m, nr) => weightedSum(glrlm, m, (i, j) => 1 / (i * i * j * j)) / nr);
}

/**
 * Short Run High Gray Level Emphasis: Σ P(i, j)·i²/j² / N_r. pyradiomics
 * `original_glrlm_ShortRunHighGrayLevelEmphasis`, IBSI GD3A. A flat ROI gives ShortRunEmphasis.
 */
export function shortRunHighGrayLevelEmphasis(glrlm: Glrlm): number {
  return meanOverAngles(glrlm, (m, nr) => weightedSum(glrlm, m, (i, j) => (i * i) / (j * j)) / nr);
}

/**
 * Long Run Low Gray Level Emphasis: Σ P(i, j)·j²/i² / N_r. pyradiomics
 * `original_glrlm_LongRunLowGrayLevelEmphasis`, IBSI IVPO. A flat ROI gives LongRunEmphasis.
 */
export function longRunLowGrayLevelEmphasis(glrlm: Glrlm): number {
  return meanOverAngles(glrlm, (m, nr) => weightedSum(glrlm, m, (i, j) => (j * j) / (i * i)) / nr);
}

/**
 * Long Run High Gray Level Emphasis: Σ P(i, j)·i²j² / N_r. pyradiomics
 * `original_glrlm_LongRunHighGrayLevelEmphasis`, IBSI 3KUM. A flat ROI gives LongRunEmphasis.
 */
export function longRunHighGrayLevelEmphasis(glrlm: Glrlm): number {
  return meanOverAngles(glrlm, (m, nr) => weightedSum(glrlm, m, (i, j) => i * i * j * j) / nr);
}
