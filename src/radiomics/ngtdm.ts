/**
 * Neighbouring Gray Tone Difference Matrix (NGTDM), as pyradiomics 3.x builds it (`cmatrices.c`
 * calculate_ngtdm).
 *
 * Symbols: for each ROI voxel of gray level i (the bin number), Ā is the mean gray level of its ROI
 * neighbours. The neighbours lie at the bidirectional offsets of the `distances` setting: 26 at
 * distance 1, or 8 in-plane for a one-slice box or with force2D. n_i counts the ROI voxels of level i, and
 * s_i = Σ |i − Ā| over them. A voxel without ROI neighbours still counts in n_i and adds 0 to s_i,
 * as the pyradiomics C code does. N_vp = Σ n_i, p_i = n_i / N_vp, and N_gp is the number of levels
 * with p_i > 0. Sums over i and j run over occupied levels only.
 */

import { buildOffsets } from './angles.js';
import { offsetReach, paddedBins, paddedIndex, paddedStride } from './padded-bins.js';
import { occupiedLevels, type TextureInput } from './texture.js';

/** NGTDM rows of the occupied gray levels. */
export interface Ngtdm {
  /** Occupied bin numbers, ascending (the gray values i). */
  readonly grayLevels: Float64Array;
  /** Voxel count n_i per occupied level. */
  readonly counts: Float64Array;
  /** Sum of absolute neighbourhood differences s_i per occupied level. */
  readonly differenceSums: Float64Array;
}

/** Value pyradiomics (since 2.2.0) returns for Coarseness when Σ p_i s_i = 0. */
export const COARSENESS_OF_FLAT_ROI = 1_000_000;

/** Builds the NGTDM with neighbours at the infinity-norm `distances`. */
export function buildNgtdm(input: TextureInput, distances: readonly number[]): Ngtdm {
  if (!input.force2D && distances.length === 1 && distances[0] === 1) return buildNgtdmByBoxSums(input);
  const [sx, sy, sz] = input.size;
  const offsets = buildOffsets(input.size, distances, {
    bidirectional: true,
    force2D: input.force2D,
    force2Ddimension: input.force2Ddimension,
  });
  const padded = paddedBins(input, offsetReach(offsets));
  const bins = padded.bins;
  const strides = Int32Array.from(offsets, (offset) => paddedStride(padded, offset));
  const offsetCount = strides.length;

  const { levels, positionOf } = occupiedLevels(input.histogram);
  const counts = new Float64Array(levels.length);
  const differenceSums = new Float64Array(levels.length);

  for (let k = 0; k < sz; k++) {
    for (let j = 0; j < sy; j++) {
      const rowStart = paddedIndex(padded, 0, j, k);
      for (let index = rowStart; index < rowStart + sx; index++) {
        const level = bins[index]!;
        if (level === 0) continue;

        let neighbourCount = 0;
        let neighbourSum = 0;
        for (let a = 0; a < offsetCount; a++) {
          const neighbour = bins[index + strides[a]!]!;
          if (neighbour === 0) continue;
          neighbourCount++;
          neighbourSum += neighbour;
        }

        const row = positionOf[level]!;
        counts[row]!++;
        if (neighbourCount > 0) differenceSums[row]! += Math.abs(level - neighbourSum / neighbourCount);
      }
    }
  }
  return { grayLevels: levels, counts, differenceSums };
}

/**
 * Builds the NGTDM for the 26 neighbours at distance 1 from 3 × 3 × 3 box sums over the zero-padded
 * box. Each voxel carries 32·bin + 1 inside the ROI and 0 outside, so one sum gives 32·(Σ bins) +
 * (ROI voxel count) over the box around a voxel; the count never reaches 32. Subtracting the voxel
 * itself leaves the neighbour sum and count. The sums are of integers, so they are exact in any
 * order, and s_i adds |i − Ā| over the voxels in storage order as the neighbour loop does. Offsets
 * that buildOffsets drops because they leave a thin box read the zero padding here, which adds
 * nothing, so the result is the same.
 */
function buildNgtdmByBoxSums(input: TextureInput): Ngtdm {
  const [sx, sy, sz] = input.size;
  const padded = paddedBins(input, 1);
  const [px, py] = padded.paddedSize;
  const slice = px * py;
  const bins = padded.bins;
  const length = bins.length;

  // Sums along i, then along j; the sum along k is taken per voxel below. Reads that wrap across a
  // row or slice edge land on padding, which is 0.
  const alongI = new Int32Array(length);
  for (let index = 1; index < length - 1; index++) {
    const left = bins[index - 1]!;
    const centre = bins[index]!;
    const right = bins[index + 1]!;
    alongI[index] =
      (left === 0 ? 0 : 32 * left + 1) +
      (centre === 0 ? 0 : 32 * centre + 1) +
      (right === 0 ? 0 : 32 * right + 1);
  }
  const alongJ = new Int32Array(length);
  for (let index = px; index < length - px; index++) {
    alongJ[index] = alongI[index - px]! + alongI[index]! + alongI[index + px]!;
  }

  const { levels, positionOf } = occupiedLevels(input.histogram);
  const counts = new Float64Array(levels.length);
  const differenceSums = new Float64Array(levels.length);
  for (let k = 0; k < sz; k++) {
    for (let j = 0; j < sy; j++) {
      const rowStart = paddedIndex(padded, 0, j, k);
      for (let index = rowStart; index < rowStart + sx; index++) {
        const level = bins[index]!;
        if (level === 0) continue;

        const box = alongJ[index - slice]! + alongJ[index]! + alongJ[index + slice]! - (32 * level + 1);
        const neighbourCount = box & 31;
        const neighbourSum = (box - neighbourCount) / 32;

        const row = positionOf[level]!;
        counts[row]!++;
        if (neighbourCount > 0) differenceSums[row]! += Math.abs(level - neighbourSum / neighbourCount);
      }
    }
  }
  return { grayLevels: levels, counts, differenceSums };
}

/** Derived coefficients p_i, s_i, i, N_vp and N_gp. */
function coefficients(ngtdm: Ngtdm): {
  p: Float64Array;
  s: Float64Array;
  i: Float64Array;
  nvp: number;
  ngp: number;
} {
  let nvp = 0;
  for (const count of ngtdm.counts) nvp += count;
  const p = ngtdm.counts.map((count) => count / nvp);
  return { p, s: ngtdm.differenceSums, i: ngtdm.grayLevels, nvp, ngp: ngtdm.grayLevels.length };
}

/**
 * Coarseness: 1 / Σ p_i s_i. pyradiomics `original_ngtdm_Coarseness`, IBSI QCDE. When Σ p_i s_i = 0
 * (a flat ROI, or no voxel with a neighbour) it returns {@link COARSENESS_OF_FLAT_ROI} = 10⁶, as
 * pyradiomics has since 2.2.0 (2.1.x returned 0). Part of the BR-RO model.
 */
export function coarseness(ngtdm: Ngtdm): number {
  const { p, s } = coefficients(ngtdm);
  let sum = 0;
  for (let row = 0; row < p.length; row++) sum += p[row]! * s[row]!;
  return sum === 0 ? COARSENESS_OF_FLAT_ROI : 1 / sum;
}

/**
 * Contrast: [Σ_i Σ_j p_i p_j (i − j)² / (N_gp(N_gp − 1))] · [Σ s_i / N_vp]. pyradiomics
 * `original_ngtdm_Contrast`, IBSI 65HE. Returns 0 when N_gp = 1.
 */
export function contrast(ngtdm: Ngtdm): number {
  const { p, s, i, nvp, ngp } = coefficients(ngtdm);
  if (ngp <= 1) return 0;
  let pairSum = 0;
  for (let a = 0; a < ngp; a++) {
    for (let b = 0; b < ngp; b++) pairSum += p[a]! * p[b]! * (i[a]! - i[b]!) ** 2;
  }
  let sSum = 0;
  for (const value of s) sSum += value;
  return (pairSum / (ngp * (ngp - 1))) * (sSum / nvp);
}

/**
 * Busyness: Σ p_i s_i / Σ_i Σ_j |i·p_i − j·p_j|. pyradiomics `original_ngtdm_Busyness`, IBSI NQ30.
 * Returns 0 when the divisor is 0 (one gray level).
 */
export function busyness(ngtdm: Ngtdm): number {
  const { p, s, i, ngp } = coefficients(ngtdm);
  let divisor = 0;
  for (let a = 0; a < ngp; a++) {
    for (let b = 0; b < ngp; b++) divisor += Math.abs(i[a]! * p[a]! - i[b]! * p[b]!);
  }
  if (divisor === 0) return 0;
  let numerator = 0;
  for (let a = 0; a < ngp; a++) numerator += p[a]! * s[a]!;
  return numerator / divisor;
}

/**
 * Complexity: Σ_i Σ_j |i − j| (p_i s_i + p_j s_j)/(p_i + p_j) / N_vp. pyradiomics
 * `original_ngtdm_Complexity`, IBSI HDEZ. A flat ROI gives 0.
 */
export function complexity(ngtdm: Ngtdm): number {
  const { p, s, i, nvp, ngp } = coefficients(ngtdm);
  let sum = 0;
  for (let a = 0; a < ngp; a++) {
    for (let b = 0; b < ngp; b++) {
      sum += (Math.abs(i[a]! - i[b]!) * (p[a]! * s[a]! + p[b]! * s[b]!)) / (p[a]! + p[b]!);
    }
  }
  return sum / nvp;
}

/**
 * Strength: Σ_i Σ_j (p_i + p_j)(i − j)² / Σ s_i. pyradiomics `original_ngtdm_Strength`, IBSI 1X9X.
 * Returns 0 when Σ s_i = 0.
 */
export function strength(ngtdm: Ngtdm): number {
  const { p, s, i, ngp } = coefficients(ngtdm);
  let sSum = 0;
  for (const value of s) sSum += value;
  if (sSum === 0) return 0;
  let sum = 0;
  for (let a = 0; a < ngp; a++) {
    for (let b = 0; b < ngp; b++) sum += (p[a]! + p[b]!) * (i[a]! - i[b]!) ** 2;
  }
  return sum / sSum;
}
