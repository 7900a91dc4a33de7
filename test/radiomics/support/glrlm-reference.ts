/**
 * The GLRLM builder as it was before the word-path run counting (src/radiomics/glrlm-runs.ts), kept
 * only as a reference for test/radiomics/run-ngtdm-builders.test.ts.
 *
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

import { Nqo1Error } from '../../../src/errors.js';
import { buildOffsets, type Offset } from '../../../src/radiomics/angles.js';
import { paddedBins, paddedStride, type PaddedBins } from '../../../src/radiomics/padded-bins.js';
import {
  MAX_MATRIX_CELLS,
  occupiedLevels,
  offsetLengthMm,
  type TextureInput,
} from '../../../src/radiomics/texture.js';

/** Run length matrices of the kept directions. */
interface Glrlm {
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
 * Builds the GLRLM of every direction.
 *
 * @throws Nqo1Error ERR_ROI_TOO_SMALL when no direction has a line with two ROI voxels.
 * @throws Nqo1Error ERR_TOO_MANY_GRAY_LEVELS when the matrices would exceed MAX_MATRIX_CELLS.
 */
export function buildGlrlmReference(input: TextureInput): Glrlm {
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
  const zeroPadded = paddedBins(input, 1);
  const runLengths = new Int32Array(zeroPadded.bins.length);
  const spans = roiRowSpans(zeroPadded);
  let sentinelPadded: Int16Array | Int32Array | undefined;
  const rowBase = new Int32Array(input.levelCount + 1);
  for (let bin = 1; bin <= input.levelCount; bin++) {
    if (positionOf[bin]! >= 0) rowBase[bin] = (positionOf[bin]! + 1) * maxRunLength;
  }
  const extended = new Float64Array((levels.length + 1) * maxRunLength + 1);
  for (const offset of offsets) {
    extended.fill(0);
    let hasLineWithTwoVoxels = countRunningLengths(zeroPadded, spans, offset, rowBase, runLengths, extended);
    runsFromRunningLengths(extended, levels.length, maxRunLength);
    if (!hasLineWithTwoVoxels) {
      // No two ROI voxels are adjacent along the offset, but two may still share a line with a gap.
      sentinelPadded ??= sentinelBins(input.bins, input.size, input.levelCount);
      const scratch = new Float64Array(extended.length);
      hasLineWithTwoVoxels = countRuns(sentinelPadded, input.size, offset, rowBase, scratch);
    }
    const matrix = extended.slice(maxRunLength, (levels.length + 1) * maxRunLength);

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
 * Adds to `extended` (laid out as for {@link countRuns}) how many ROI voxels along `offset` have each
 * running length, in one pass over the box in storage order. The walk uses s, the positive flat step
 * of the offset or of its opposite, because a run along one is a run along the other. The running
 * length of voxel v is its position in its run: 1 plus that of v − s when v − s has the same bin,
 * else 1. A run of length n has one voxel of each running length 1..n, so the count H(i, r) of voxels
 * of bin i with running length r is the number of runs of length ≥ r, and
 * {@link runsFromRunningLengths} turns it into P(i, r). `runLengths` is scratch space of the padded
 * size. Returns true when two ROI voxels are adjacent along the offset, which implies a line with two
 * ROI voxels; false means the caller must look for such a line with gaps.
 */
function countRunningLengths(
  padded: PaddedBins,
  spans: RowSpans,
  offset: Offset,
  rowBase: Int32Array,
  runLengths: Int32Array,
  extended: Float64Array,
): boolean {
  const bins = padded.bins;
  const stride = Math.abs(paddedStride(padded, offset));
  const { first, end } = spans;
  let adjacent = 0;

  for (let row = 0; row < first.length; row++) {
    const rowEnd = end[row]!;
    for (let voxel = first[row]!; voxel < rowEnd; voxel++) {
      const bin = bins[voxel]!;
      if (bin === 0) continue;
      const previous = bins[voxel - stride]!;
      const length = 1 + +(previous === bin) * runLengths[voxel - stride]!;
      runLengths[voxel] = length;
      extended[rowBase[bin]! + length - 1]!++;
      adjacent |= +(previous !== 0);
    }
  }
  return adjacent !== 0;
}

/** Flat indices, in the padded box, of the first ROI voxel of each box row and one past its last. */
interface RowSpans {
  readonly first: Int32Array;
  readonly end: Int32Array;
}

/**
 * Finds the ROI part of each row of the box (rows in storage order, j fastest), so that the
 * direction walks skip the empty ends of the rows. For a sphere these ends are about half the box.
 * A row without ROI voxels gets an empty span.
 */
function roiRowSpans(padded: PaddedBins): RowSpans {
  const [px, py, pz] = padded.paddedSize;
  const bins = padded.bins;
  const rowCount = (py - 2) * (pz - 2);
  const first = new Int32Array(rowCount);
  const end = new Int32Array(rowCount);

  let row = 0;
  for (let k = 1; k < pz - 1; k++) {
    for (let j = 1; j < py - 1; j++, row++) {
      const rowStart = 1 + px * (j + py * k);
      let lower = rowStart + px - 2;
      let upper = lower;
      for (let voxel = rowStart; voxel < rowStart + px - 2; voxel++) {
        if (bins[voxel] === 0) continue;
        if (voxel < lower) lower = voxel;
        upper = voxel + 1;
      }
      first[row] = lower;
      end[row] = upper;
    }
  }
  return { first, end };
}

/**
 * Replaces, in rows 1..rowCount of `extended`, the counts H(i, r) of runs of length ≥ r by the counts
 * of runs of length exactly r: P(i, r) = H(i, r) − H(i, r + 1), with H(i, maxRunLength + 1) = 0.
 * Counts are integers, so the result is exact.
 */
function runsFromRunningLengths(extended: Float64Array, rowCount: number, maxRunLength: number): void {
  for (let row = 1; row <= rowCount; row++) {
    const base = row * maxRunLength;
    for (let column = 0; column < maxRunLength - 1; column++) {
      extended[base + column]! -= extended[base + column + 1]!;
    }
  }
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
