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
import { offsetReach, paddedBins, paddedIndex, paddedStride, type PaddedBins } from './padded-bins.js';
import { roiRows, type RoiRows } from './roi-rows.js';
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
 * box. Each voxel carries e = 32·bin + 1 inside the ROI and 0 outside, so the box sum around a voxel
 * is 32·(Σ bins) + (ROI voxel count); the count never reaches 32. Subtracting the voxel's own e
 * leaves 32·S + n for its n ROI neighbours with bin sum S, and Ā = S / n.
 *
 * The box sum is separable. Sums along i, then along j, are formed one padded slice at a time and
 * kept for three slices (k − 1, k, k + 1) in a ring. The sum along k is taken per ROI voxel. The
 * sums are of integers, so they are exact in any order; s_i adds |i − Ā| over the voxels in storage
 * order as the neighbour loop does, and n_i is the voxel count of bin i. Offsets that buildOffsets
 * drops because they leave a thin box read the zero padding here, which adds nothing, so the result
 * is the same.
 */
function buildNgtdmByBoxSums(input: TextureInput): Ngtdm {
  const [, , sz] = input.size;
  const padded = paddedBins(input, 1);
  const [px, py] = padded.paddedSize;
  const slice = px * py;
  const bins = padded.bins;
  const spans = roiSpans(padded, roiRows(input));
  const alongI = new Int32Array(slice);
  const planes = new Int32Array(3 * slice);
  const sums = new Float64Array(input.levelCount + 1);

  const plane = (k: number): void => {
    const area = planeArea(spans, k);
    if (area === undefined) return;
    const ring = (k % 3) * slice;
    boxPlane(bins, px, k * slice, area, alongI, planes.subarray(ring, ring + slice));
  };
  plane(0);
  plane(1);
  for (let k = 1; k <= sz; k++) {
    plane(k + 1);
    const before = ((k - 1) % 3) * slice - k * slice;
    const here = (k % 3) * slice - k * slice;
    const after = ((k + 1) % 3) * slice - k * slice;

    for (let j = 1; j < py - 1; j++) {
      const row = j - 1 + (py - 2) * (k - 1);
      const rowEnd = spans.end[row]!;
      for (let index = spans.first[row]!; index < rowEnd; index++) {
        const level = bins[index]!;
        if (level === 0) continue;

        const box =
          planes[index + before]! + planes[index + here]! + planes[index + after]! - ((level << 5) | 1);
        const neighbourCount = box & 31;
        if (neighbourCount > 0) sums[level]! += Math.abs(level - (box >> 5) / neighbourCount);
      }
    }
  }

  const { levels } = occupiedLevels(input.histogram);
  const counts = levels.map((level) => input.histogram[level]!);
  const differenceSums = levels.map((level) => sums[level]!);
  return { grayLevels: levels, counts, differenceSums };
}

/**
 * The ROI part of each box row of the padded box (rows with j fastest, then k): flat indices of its
 * first ROI voxel and one past its last, equal for an empty row; and, per padded slice, the
 * rectangle of rows and columns that contains its ROI voxels (empty slices have jLow > jHigh).
 */
interface RoiSpans {
  readonly first: Int32Array;
  readonly end: Int32Array;
  /** Per padded slice: lowest and highest padded j and i of its ROI voxels. */
  readonly jLow: Int32Array;
  readonly jHigh: Int32Array;
  readonly iLow: Int32Array;
  readonly iHigh: Int32Array;
}

/** Places the ROI rows of the box in the padded box and finds the ROI rectangle of each slice. */
function roiSpans(padded: PaddedBins, roi: RoiRows): RoiSpans {
  const [px, py, pz] = padded.paddedSize;
  const rows = (py - 2) * (pz - 2);
  const first = new Int32Array(rows);
  const end = new Int32Array(rows);
  const jLow = new Int32Array(pz).fill(py);
  const jHigh = new Int32Array(pz).fill(-1);
  const iLow = new Int32Array(pz).fill(px);
  const iHigh = new Int32Array(pz).fill(-1);

  let row = 0;
  for (let k = 1; k < pz - 1; k++) {
    for (let j = 1; j < py - 1; j++, row++) {
      const rowStart = px * (j + py * k);
      const lower = 1 + roi.lower[row]!;
      const upper = 1 + roi.upper[row]!;
      first[row] = rowStart + lower;
      end[row] = rowStart + upper;
      if (upper <= lower) continue;
      jLow[k] = Math.min(jLow[k]!, j);
      jHigh[k] = j;
      iLow[k] = Math.min(iLow[k]!, lower);
      iHigh[k] = Math.max(iHigh[k]!, upper - 1);
    }
  }
  return { first, end, jLow, jHigh, iLow, iHigh };
}

/** Rows and columns of padded slice k whose box sums are read: those of the ROI in slices k − 1..k + 1. */
interface PlaneArea {
  readonly jLow: number;
  readonly jHigh: number;
  readonly iLow: number;
  readonly iHigh: number;
}

function planeArea(spans: RoiSpans, k: number): PlaneArea | undefined {
  let jLow = Infinity;
  let jHigh = -1;
  let iLow = Infinity;
  let iHigh = -1;
  for (let m = Math.max(k - 1, 0); m <= Math.min(k + 1, spans.jLow.length - 1); m++) {
    if (spans.jHigh[m]! < 0) continue;
    jLow = Math.min(jLow, spans.jLow[m]!);
    jHigh = Math.max(jHigh, spans.jHigh[m]!);
    iLow = Math.min(iLow, spans.iLow[m]!);
    iHigh = Math.max(iHigh, spans.iHigh[m]!);
  }
  return jHigh < 0 ? undefined : { jLow, jHigh, iLow, iHigh };
}

/**
 * Writes into `plane` (one padded slice) the 3 × 3 sums along i and j of e over the padded slice
 * starting at `base`, within `area`. `alongI` is scratch space of one slice. Its rows jLow − 1 and
 * jHigh + 1 are rewritten too, because the sums along j read them.
 */
function boxPlane(
  bins: Int32Array,
  px: number,
  base: number,
  area: PlaneArea,
  alongI: Int32Array,
  plane: Int32Array,
): void {
  const { jLow, jHigh, iLow, iHigh } = area;
  for (let j = jLow - 1; j <= jHigh + 1; j++) {
    const rowStart = px * j;
    let left = encode(bins[base + rowStart + iLow - 1]!);
    let centre = encode(bins[base + rowStart + iLow]!);
    for (let i = iLow; i <= iHigh; i++) {
      const right = encode(bins[base + rowStart + i + 1]!);
      alongI[rowStart + i] = left + centre + right;
      left = centre;
      centre = right;
    }
  }
  for (let j = jLow; j <= jHigh; j++) {
    for (let index = px * j + iLow; index <= px * j + iHigh; index++) {
      plane[index] = alongI[index - px]! + alongI[index]! + alongI[index + px]!;
    }
  }
}

/** e = 32·bin + 1 inside the ROI, 0 outside. */
function encode(bin: number): number {
  return (bin << 5) | ((0 - bin) >>> 31);
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
