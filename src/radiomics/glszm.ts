/**
 * Gray Level Size Zone Matrix (GLSZM), as pyradiomics 3.x builds it (`cmatrices.c` calculate_glszm).
 *
 * Symbols: a zone is a connected set of ROI voxels with one gray level, where voxels connect through
 * the 26 neighbour offsets at distance 1 (8 in-plane offsets for a one-slice box or with force2D).
 * P(i, j) counts zones of gray level i (the bin number) and size j voxels. N_z = Σ P(i, j) is the
 * number of zones and N_p = Σ j·P(i, j) the number of ROI voxels. p(i, j) = P(i, j) / N_z.
 * ε = 2.220446049250313e-16. One matrix, no directions and no averaging. Disconnected parts of the
 * ROI simply contribute their own zones. Only the multiset of (gray level, size) pairs enters P, so
 * the order in which `findZones` (glszm-zones.ts) finds the zones does not matter.
 */

import { findZones } from './glszm-zones.js';
import { grayLevelVariance as levelVariance, occupiedLevels, type TextureInput } from './texture.js';

const EPSILON = 2.220446049250313e-16;

/** A GLSZM with empty gray levels and zone sizes removed. */
export interface Glszm {
  /** Occupied bin numbers, one per row, ascending. */
  readonly grayLevels: Float64Array;
  /** Zone sizes that occur, one per column, ascending. */
  readonly zoneSizes: Float64Array;
  /** Row-major counts: `counts[row · zoneSizes.length + column]`. */
  readonly counts: Float64Array;
  /** Number of zones, N_z. */
  readonly zoneCount: number;
  /** Number of ROI voxels, N_p. */
  readonly voxelCount: number;
}

/** Finds the zones by region growing (`findZones`) and tabulates them. */
export function buildGlszm(input: TextureInput): Glszm {
  const zones = findZones(input);
  return tabulateZones(input.histogram, zones.levels, zones.sizes);
}

/** Turns a list of (gray level, size) zones into the trimmed matrix. */
export function tabulateZones(
  histogram: Float64Array,
  zoneLevels: ArrayLike<number>,
  zoneSizes: ArrayLike<number>,
): Glszm {
  const { levels, positionOf } = occupiedLevels(histogram);

  // Column of each occurring zone size, through a table indexed by size.
  let largest = 0;
  for (let zone = 0; zone < zoneSizes.length; zone++) largest = Math.max(largest, zoneSizes[zone]!);
  const columnOf = new Int32Array(largest + 1).fill(-1);
  for (let zone = 0; zone < zoneSizes.length; zone++) columnOf[zoneSizes[zone]!] = 0;
  let columnCount = 0;
  for (let size = 1; size <= largest; size++) if (columnOf[size] === 0) columnOf[size] = columnCount++;
  const sizes = new Float64Array(columnCount);
  for (let size = 1; size <= largest; size++) if (columnOf[size]! >= 0) sizes[columnOf[size]!] = size;

  const counts = new Float64Array(levels.length * sizes.length);
  let voxelCount = 0;
  for (let zone = 0; zone < zoneLevels.length; zone++) {
    const row = positionOf[zoneLevels[zone]!]!;
    const column = columnOf[zoneSizes[zone]!]!;
    counts[row * sizes.length + column]!++;
    voxelCount += zoneSizes[zone]!;
  }
  return { grayLevels: levels, zoneSizes: sizes, counts, zoneCount: zoneLevels.length, voxelCount };
}

/** Sums `weight(i, j) · P(i, j)`; i is the bin number, j the zone size. */
function weightedSum(glszm: Glszm, weight: (i: number, j: number) => number): number {
  const columns = glszm.zoneSizes.length;
  let sum = 0;
  for (let row = 0; row < glszm.grayLevels.length; row++) {
    const i = glszm.grayLevels[row]!;
    for (let column = 0; column < columns; column++) {
      const count = glszm.counts[row * columns + column]!;
      if (count !== 0) sum += weight(i, glszm.zoneSizes[column]!) * count;
    }
  }
  return sum;
}

/** Σ_i (Σ_j P(i, j))². */
function squaredGrayLevelMarginals(glszm: Glszm): number {
  const columns = glszm.zoneSizes.length;
  let sum = 0;
  for (let row = 0; row < glszm.grayLevels.length; row++) {
    let marginal = 0;
    for (let column = 0; column < columns; column++) marginal += glszm.counts[row * columns + column]!;
    sum += marginal * marginal;
  }
  return sum;
}

/** Σ_j (Σ_i P(i, j))². */
function squaredZoneSizeMarginals(glszm: Glszm): number {
  const columns = glszm.zoneSizes.length;
  let sum = 0;
  for (let column = 0; column < columns; column++) {
    let marginal = 0;
    for (let row = 0; row < glszm.grayLevels.length; row++) marginal += glszm.counts[row * columns + column]!;
    sum += marginal * marginal;
  }
  return sum;
}

/**
 * Small Area Emphasis: Σ_j (Σ_i P(i, j))/j² / N_z. pyradiomics `original_glszm_SmallAreaEmphasis`,
 * IBSI "small zone emphasis" 5QRC. Lies in (0, 1]; 1 when every zone is a single voxel. A flat
 * connected ROI of N voxels gives 1/N². Part of the BR-RO model.
 */
export function smallAreaEmphasis(glszm: Glszm): number {
  return weightedSum(glszm, (_i, j) => 1 / (j * j)) / glszm.zoneCount;
}

/**
 * Large Area Emphasis: Σ P(i, j)·j² / N_z. pyradiomics `original_glszm_LargeAreaEmphasis`, IBSI 48P8. A flat
 * connected ROI of N voxels gives N².
 */
export function largeAreaEmphasis(glszm: Glszm): number {
  return weightedSum(glszm, (_i, j) => j * j) / glszm.zoneCount;
}

/**
 * Gray Level Non-Uniformity: Σ_i (Σ_j P(i, j))² / N_z. pyradiomics `original_glszm_GrayLevelNonUniformity`,
 * IBSI JNSA. A flat ROI gives N_z.
 */
export function grayLevelNonUniformity(glszm: Glszm): number {
  return squaredGrayLevelMarginals(glszm) / glszm.zoneCount;
}

/**
 * Gray Level Non-Uniformity Normalized: Σ_i (Σ_j P(i, j))² / N_z². pyradiomics
 * `original_glszm_GrayLevelNonUniformityNormalized`, IBSI Y1RO. A flat ROI gives 1.
 */
export function grayLevelNonUniformityNormalized(glszm: Glszm): number {
  return squaredGrayLevelMarginals(glszm) / (glszm.zoneCount * glszm.zoneCount);
}

/**
 * Size-Zone Non-Uniformity: Σ_j (Σ_i P(i, j))² / N_z. pyradiomics `original_glszm_SizeZoneNonUniformity`,
 * IBSI 4JP3. A single zone gives 1.
 */
export function sizeZoneNonUniformity(glszm: Glszm): number {
  return squaredZoneSizeMarginals(glszm) / glszm.zoneCount;
}

/**
 * Size-Zone Non-Uniformity Normalized: Σ_j (Σ_i P(i, j))² / N_z². pyradiomics
 * `original_glszm_SizeZoneNonUniformityNormalized`, IBSI VB3A. A single zone gives 1.
 */
export function sizeZoneNonUniformityNormalized(glszm: Glszm): number {
  return squaredZoneSizeMarginals(glszm) / (glszm.zoneCount * glszm.zoneCount);
}

/**
 * Zone Percentage: N_z / N_p. pyradiomics `original_glszm_ZonePercentage`, IBSI P30P. A flat connected ROI
 * gives 1/N_p.
 */
export function zonePercentage(glszm: Glszm): number {
  return glszm.zoneCount / glszm.voxelCount;
}

/**
 * Gray Level Variance: Σ p(i, j)(i − μ)², μ = Σ p(i, j)·i. pyradiomics `original_glszm_GrayLevelVariance`,
 * IBSI BYLV. Flat ROI: 0.
 */
export function grayLevelVariance(glszm: Glszm): number {
  return levelVariance(glszm.grayLevels, glszm.counts, glszm.zoneSizes.length, glszm.zoneCount);
}

/**
 * Zone Variance: Σ p(i, j)(j − μ)², μ = Σ p(i, j)·j. pyradiomics `original_glszm_ZoneVariance`, IBSI 3NSA. A
 * single zone gives 0.
 */
export function zoneVariance(glszm: Glszm): number {
  const nz = glszm.zoneCount;
  const mean = weightedSum(glszm, (_i, j) => j / nz);
  return weightedSum(glszm, (_i, j) => ((j - mean) * (j - mean)) / nz);
}

/**
 * Zone Entropy: −Σ p(i, j) log2(p(i, j) + ε). pyradiomics `original_glszm_ZoneEntropy`, IBSI GU8N. One zone:
 * −log2(1 + ε) ≈ −3.2e-16.
 */
export function zoneEntropy(glszm: Glszm): number {
  let sum = 0;
  for (const count of glszm.counts) {
    if (count === 0) continue;
    const p = count / glszm.zoneCount;
    sum -= p * Math.log2(p + EPSILON);
  }
  return sum;
}

/**
 * Low Gray Level Zone Emphasis: Σ P(i, j)/i² / N_z. pyradiomics `original_glszm_LowGrayLevelZoneEmphasis`,
 * IBSI XMSY. A flat ROI (all bin 1) gives 1.
 */
export function lowGrayLevelZoneEmphasis(glszm: Glszm): number {
  return weightedSum(glszm, (i) => 1 / (i * i)) / glszm.zoneCount;
}

/**
 * High Gray Level Zone Emphasis: Σ P(i, j)·i² / N_z. pyradiomics `original_glszm_HighGrayLevelZoneEmphasis`,
 * IBSI 5GN9. A flat ROI (all bin 1) gives 1.
 */
export function highGrayLevelZoneEmphasis(glszm: Glszm): number {
  return weightedSum(glszm, (i) => i * i) / glszm.zoneCount;
}

/**
 * Small Area Low Gray Level Emphasis: Σ P(i, j)/(i²j²) / N_z, with i the bin number (so it depends on
 * where the bins start, unlike IBSI). pyradiomics `original_glszm_SmallAreaLowGrayLevelEmphasis`,
 * IBSI "small zone low grey level emphasis" 5RAI. Part of the BR-RO model.
 */
export function smallAreaLowGrayLevelEmphasis(glszm: Glszm): number {
  return weightedSum(glszm, (i, j) => 1 / (i * i * j * j)) / glszm.zoneCount;
}

/**
 * Small Area High Gray Level Emphasis: Σ P(i, j)·i²/j² / N_z. pyradiomics
 * `original_glszm_SmallAreaHighGrayLevelEmphasis`, IBSI HW1V. A flat ROI gives SmallAreaEmphasis.
 */
export function smallAreaHighGrayLevelEmphasis(glszm: Glszm): number {
  return weightedSum(glszm, (i, j) => (i * i) / (j * j)) / glszm.zoneCount;
}

/**
 * Large Area Low Gray Level Emphasis: Σ P(i, j)·j²/i² / N_z. pyradiomics
 * `original_glszm_LargeAreaLowGrayLevelEmphasis`, IBSI YH51. A flat ROI gives LargeAreaEmphasis.
 */
export function largeAreaLowGrayLevelEmphasis(glszm: Glszm): number {
  return weightedSum(glszm, (i, j) => (j * j) / (i * i)) / glszm.zoneCount;
}

/**
 * Large Area High Gray Level Emphasis: Σ P(i, j)·i²j² / N_z. pyradiomics
 * `original_glszm_LargeAreaHighGrayLevelEmphasis`, IBSI J17V. A flat ROI gives LargeAreaEmphasis.
 */
export function largeAreaHighGrayLevelEmphasis(glszm: Glszm): number {
  return weightedSum(glszm, (i, j) => i * i * j * j) / glszm.zoneCount;
}
