/**
 * The NGTDM builder as it was before the slice-by-slice box sums, kept only as a reference for
 * test/radiomics/run-ngtdm-builders.test.ts.
 *
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

import { buildOffsets } from '../../../src/radiomics/angles.js';
import { offsetReach, paddedBins, paddedIndex, paddedStride } from '../../../src/radiomics/padded-bins.js';
import { occupiedLevels, type TextureInput } from '../../../src/radiomics/texture.js';

/** NGTDM rows of the occupied gray levels. */
interface Ngtdm {
  /** Occupied bin numbers, ascending (the gray values i). */
  readonly grayLevels: Float64Array;
  /** Voxel count n_i per occupied level. */
  readonly counts: Float64Array;
  /** Sum of absolute neighbourhood differences s_i per occupied level. */
  readonly differenceSums: Float64Array;
}

/** Builds the NGTDM with neighbours at the infinity-norm `distances`. */
export function buildNgtdmReference(input: TextureInput, distances: readonly number[]): Ngtdm {
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
