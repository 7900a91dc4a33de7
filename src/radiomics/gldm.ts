/**
 * Gray Level Dependence Matrix (GLDM), as pyradiomics 3.x builds it (`cmatrices.c` calculate_gldm).
 * IBSI calls it the neighbouring grey level dependence matrix (NGLDM, REK0) with coarseness α.
 *
 * Symbols: a neighbour of an ROI voxel is an ROI voxel at one of the bidirectional offsets of the
 * `distances` setting (26 at distance 1, or 8 in-plane for a one-slice box or with force2D). It is
 * dependent when its bin differs by at most α = `gldm_a` from the centre's bin. P(i, j) counts ROI
 * voxels of gray level i (the bin number) with j − 1 dependent neighbours, so j starts at 1.
 * N_z = Σ P(i, j) is the number of ROI voxels and p(i, j) = P(i, j) / N_z. ε = 2.220446049250313e-16.
 * One matrix, no directions and no averaging.
 */

import { buildOffsets } from './angles.js';
import { offsetReach, paddedBins, paddedIndex, paddedStride } from './padded-bins.js';
import { grayLevelVariance as levelVariance, occupiedLevels, type TextureInput } from './texture.js';

const EPSILON = 2.220446049250313e-16;

/** Largest level-pair table used for the dependence test (4 MB). */
const DEPENDENCE_TABLE_CELLS = 4 * 2 ** 20;

/** A GLDM with empty gray levels and dependence counts removed. */
export interface Gldm {
  /** Occupied bin numbers, one per row, ascending. */
  readonly grayLevels: Float64Array;
  /** Values of j (dependent neighbours + 1) that occur, one per column, ascending. */
  readonly dependences: Float64Array;
  /** Row-major counts: `counts[row · dependences.length + column]`. */
  readonly counts: Float64Array;
  /** Number of ROI voxels, N_z. */
  readonly voxelCount: number;
}

/** Builds the GLDM with neighbours at the infinity-norm `distances` and coarseness `alpha`. */
export function buildGldm(input: TextureInput, distances: readonly number[], alpha: number): Gldm {
  const [sx, sy, sz] = input.size;
  const offsets = buildOffsets(input.size, distances, {
    bidirectional: true,
    force2D: input.force2D,
    force2Ddimension: input.force2Ddimension,
  });
  const { levels, positionOf } = occupiedLevels(input.histogram);
  const padded = paddedBins(input, offsetReach(offsets));
  const bins = padded.bins;
  const strides = Int32Array.from(offsets, (offset) => paddedStride(padded, offset));
  const offsetCount = strides.length;

  // With few levels, the dependence test is a table lookup, which avoids a hard-to-predict branch per
  // neighbour: dependentTable[level · width + neighbour] is 1 when the neighbour is in the ROI and
  // within alpha of the level.
  const tableWidth = input.levelCount + 1;
  const dependentTable =
    tableWidth * tableWidth <= DEPENDENCE_TABLE_CELLS ? new Uint8Array(tableWidth * tableWidth) : undefined;
  if (dependentTable !== undefined) {
    for (let level = 1; level < tableWidth; level++) {
      for (let neighbour = 1; neighbour < tableWidth; neighbour++) {
        if (Math.abs(neighbour - level) <= alpha) dependentTable[level * tableWidth + neighbour] = 1;
      }
    }
  }

  // Full table first: rows are occupied levels, columns j = 1..offsets+1.
  const columnCount = offsets.length + 1;
  const full = new Float64Array(levels.length * columnCount);
  let voxelCount = 0;
  for (let k = 0; k < sz; k++) {
    for (let j = 0; j < sy; j++) {
      const rowStart = paddedIndex(padded, 0, j, k);
      for (let index = rowStart; index < rowStart + sx; index++) {
        const level = bins[index]!;
        if (level === 0) continue;

        let dependent = 0;
        if (dependentTable !== undefined) {
          const tableRow = level * tableWidth;
          for (let a = 0; a < offsetCount; a++)
            dependent += dependentTable[tableRow + bins[index + strides[a]!]!]!;
        } else {
          for (let a = 0; a < offsetCount; a++) {
            const neighbour = bins[index + strides[a]!]!;
            if (neighbour !== 0 && Math.abs(neighbour - level) <= alpha) dependent++;
          }
        }
        full[positionOf[level]! * columnCount + dependent]!++;
        voxelCount++;
      }
    }
  }

  // Drop dependence columns that never occur.
  const keptColumns: number[] = [];
  for (let column = 0; column < columnCount; column++) {
    let total = 0;
    for (let row = 0; row < levels.length; row++) total += full[row * columnCount + column]!;
    if (total > 0) keptColumns.push(column);
  }
  const counts = new Float64Array(levels.length * keptColumns.length);
  for (let row = 0; row < levels.length; row++) {
    keptColumns.forEach((column, kept) => {
      counts[row * keptColumns.length + kept] = full[row * columnCount + column]!;
    });
  }
  return {
    grayLevels: levels,
    dependences: Float64Array.from(keptColumns, (column) => column + 1),
    counts,
    voxelCount,
  };
}

/** Sums `weight(i, j) · P(i, j)`; i is the bin number, j the dependence value. */
function weightedSum(gldm: Gldm, weight: (i: number, j: number) => number): number {
  const columns = gldm.dependences.length;
  let sum = 0;
  for (let row = 0; row < gldm.grayLevels.length; row++) {
    const i = gldm.grayLevels[row]!;
    for (let column = 0; column < columns; column++) {
      const count = gldm.counts[row * columns + column]!;
      if (count !== 0) sum += weight(i, gldm.dependences[column]!) * count;
    }
  }
  return sum;
}

/** Σ_i (Σ_j P(i, j))². */
function squaredGrayLevelMarginals(gldm: Gldm): number {
  const columns = gldm.dependences.length;
  let sum = 0;
  for (let row = 0; row < gldm.grayLevels.length; row++) {
    let marginal = 0;
    for (let column = 0; column < columns; column++) marginal += gldm.counts[row * columns + column]!;
    sum += marginal * marginal;
  }
  return sum;
}

/** Σ_j (Σ_i P(i, j))². */
function squaredDependenceMarginals(gldm: Gldm): number {
  const columns = gldm.dependences.length;
  let sum = 0;
  for (let column = 0; column < columns; column++) {
    let marginal = 0;
    for (let row = 0; row < gldm.grayLevels.length; row++) marginal += gldm.counts[row * columns + column]!;
    sum += marginal * marginal;
  }
  return sum;
}

/**
 * Small Dependence Emphasis: Σ P(i, j)/j² / N_z. pyradiomics `original_gldm_SmallDependenceEmphasis`,
 * IBSI "low dependence emphasis" SODN. Voxels without dependent neighbours (j = 1) weigh most.
 */
export function smallDependenceEmphasis(gldm: Gldm): number {
  return weightedSum(gldm, (_i, j) => 1 / (j * j)) / gldm.voxelCount;
}

/**
 * Large Dependence Emphasis: Σ P(i, j)·j² / N_z. pyradiomics `original_gldm_LargeDependenceEmphasis`,
 * IBSI "high dependence emphasis" IMOQ. A flat 3-D ROI interior voxel has j = 27.
 */
export function largeDependenceEmphasis(gldm: Gldm): number {
  return weightedSum(gldm, (_i, j) => j * j) / gldm.voxelCount;
}

/**
 * Gray Level Non-Uniformity: Σ_i (Σ_j P(i, j))² / N_z. pyradiomics `original_gldm_GrayLevelNonUniformity`,
 * IBSI FP8K. A flat ROI gives N_z.
 */
export function grayLevelNonUniformity(gldm: Gldm): number {
  return squaredGrayLevelMarginals(gldm) / gldm.voxelCount;
}

/**
 * Dependence Non-Uniformity: Σ_j (Σ_i P(i, j))² / N_z. pyradiomics
 * `original_gldm_DependenceNonUniformity`, IBSI Z87G.
 */
export function dependenceNonUniformity(gldm: Gldm): number {
  return squaredDependenceMarginals(gldm) / gldm.voxelCount;
}

/**
 * Dependence Non-Uniformity Normalized: Σ_j (Σ_i P(i, j))² / N_z². pyradiomics
 * `original_gldm_DependenceNonUniformityNormalized`, IBSI OKJI. A single dependence value gives 1.
 */
export function dependenceNonUniformityNormalized(gldm: Gldm): number {
  return squaredDependenceMarginals(gldm) / (gldm.voxelCount * gldm.voxelCount);
}

/**
 * Gray Level Variance: Σ p(i, j)(i − μ)², μ = Σ p(i, j)·i. pyradiomics `original_gldm_GrayLevelVariance`,
 * IBSI 1PFV. A flat ROI gives 0.
 */
export function grayLevelVariance(gldm: Gldm): number {
  return levelVariance(gldm.grayLevels, gldm.counts, gldm.dependences.length, gldm.voxelCount);
}

/**
 * Dependence Variance: Σ p(i, j)(j − μ)², μ = Σ p(i, j)·j. pyradiomics `original_gldm_DependenceVariance`,
 * IBSI DNX2. A single dependence value gives 0.
 */
export function dependenceVariance(gldm: Gldm): number {
  const nz = gldm.voxelCount;
  const mean = weightedSum(gldm, (_i, j) => j / nz);
  return weightedSum(gldm, (_i, j) => ((j - mean) * (j - mean)) / nz);
}

/**
 * Dependence Entropy: −Σ p(i, j) log2(p(i, j) + ε). pyradiomics `original_gldm_DependenceEntropy`,
 * IBSI FCBV. A single occupied cell gives −log2(1 + ε) ≈ −3.2e-16.
 */
export function dependenceEntropy(gldm: Gldm): number {
  let sum = 0;
  for (const count of gldm.counts) {
    if (count === 0) continue;
    const p = count / gldm.voxelCount;
    sum -= p * Math.log2(p + EPSILON);
  }
  return sum;
}

/**
 * Low Gray Level Emphasis: Σ P(i, j)/i² / N_z. pyradiomics `original_gldm_LowGrayLevelEmphasis`, IBSI
 * "low grey level count emphasis" TL9H. A flat ROI (all bin 1) gives 1.
 */
export function lowGrayLevelEmphasis(gldm: Gldm): number {
  return weightedSum(gldm, (i) => 1 / (i * i)) / gldm.voxelCount;
}

/**
 * High Gray Level Emphasis: Σ P(i, j)·i² / N_z. pyradiomics `original_gldm_HighGrayLevelEmphasis`, IBSI
 * "high grey level count emphasis" OAE7. A flat ROI (all bin 1) gives 1.
 */
export function highGrayLevelEmphasis(gldm: Gldm): number {
  return weightedSum(gldm, (i) => i * i) / gldm.voxelCount;
}

/**
 * Small Dependence Low Gray Level Emphasis: Σ P(i, j)/(i²j²) / N_z. pyradiomics
 * `original_gldm_SmallDependenceLowGrayLevelEmphasis`, IBSI EQ3F. A flat ROI gives SmallDependenceEmphasis.
 */
export function smallDependenceLowGrayLevelEmphasis(gldm: Gldm): number {
  return weightedSum(gldm, (i, j) => 1 / (i * i * j * j)) / gldm.voxelCount;
}

/**
 * Small Dependence High Gray Level Emphasis: Σ P(i, j)·i²/j² / N_z. pyradiomics
 * `original_gldm_SmallDependenceHighGrayLevelEmphasis`, IBSI JA6D. A flat ROI gives SmallDependenceEmphasis.
 */
export function smallDependenceHighGrayLevelEmphasis(gldm: Gldm): number {
  return weightedSum(gldm, (i, j) => (i * i) / (j * j)) / gldm.voxelCount;
}

/**
 * Large Dependence Low Gray Level Emphasis: Σ P(i, j)·j²/i² / N_z. pyradiomics
 * `original_gldm_LargeDependenceLowGrayLevelEmphasis`, IBSI NBZI. A flat ROI gives LargeDependenceEmphasis.
 */
export function largeDependenceLowGrayLevelEmphasis(gldm: Gldm): number {
  return weightedSum(gldm, (i, j) => (j * j) / (i * i)) / gldm.voxelCount;
}

/**
 * Large Dependence High Gray Level Emphasis: Σ P(i, j)·i²j² / N_z. pyradiomics
 * `original_gldm_LargeDependenceHighGrayLevelEmphasis`, IBSI 9QMG. A flat ROI gives LargeDependenceEmphasis.
 */
export function largeDependenceHighGrayLevelEmphasis(gldm: Gldm): number {
  return weightedSum(gldm, (i, j) => i * i * j * j) / gldm.voxelCount;
}
