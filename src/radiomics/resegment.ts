/**
 * Resegmentation: removes ROI voxels whose intensity lies outside a range (pyradiomics `resegmentRange`).
 *
 * The range is turned into thresholds by `resegmentMode`, over the ROI intensities after normalisation
 * and resampling:
 * - absolute: the values themselves;
 * - relative: each value times the ROI maximum;
 * - sigma: μ + value·σ, with μ the ROI mean and σ the population standard deviation (divisor N).
 * Thresholds are sorted. Voxels below the first leave the ROI; with two thresholds, voxels above the
 * second leave too. Both bounds are inclusive.
 */

import { Nqo1Error } from '../errors.js';
import type { ImageVolume, MaskVolume } from '../imaging/volume.js';
import type { RadiomicsSettings } from './settings.js';

/** Lower and optional upper intensity bound of a resegmentation. */
export interface ResegmentThresholds {
  readonly lower: number;
  readonly upper?: number;
}

/**
 * Computes the thresholds of `settings.resegmentRange` for the ROI `mask == settings.label`.
 * The mean is the pairwise sum divided by N, as NumPy computes it, and σ = sqrt(mean((x − μ)²)).
 */
export function resegmentThresholds(
  image: ImageVolume,
  mask: MaskVolume,
  settings: Pick<RadiomicsSettings, 'resegmentRange' | 'resegmentMode' | 'label'>,
): ResegmentThresholds | undefined {
  const range = settings.resegmentRange;
  if (range === undefined) return undefined;
  const sorted = [...range].sort((a, b) => a - b);

  let factorOf: (value: number) => number;
  if (settings.resegmentMode === 'absolute') {
    factorOf = (value) => value;
  } else {
    const values = roiValues(image, mask, settings.label);
    if (settings.resegmentMode === 'relative') {
      let maximum = -Infinity;
      for (let index = 0; index < values.length; index++) {
        const value = values[index]!;
        if (value > maximum) maximum = value;
      }
      factorOf = (value) => maximum * value;
    } else {
      const mean = pairwiseSum(values, 0, values.length) / values.length;
      const squares = values.map((value) => (value - mean) ** 2);
      const sigma = Math.sqrt(pairwiseSum(squares, 0, squares.length) / values.length);
      factorOf = (value) => mean + sigma * value;
    }
  }

  const lower = factorOf(sorted[0]!);
  return sorted.length === 2 ? { lower, upper: factorOf(sorted[1]!) } : { lower };
}

/**
 * Returns a copy of `mask` in which ROI voxels outside the resegmentation thresholds are set to 0.
 * Without `resegmentRange` the mask is returned unchanged.
 *
 * @throws Nqo1Error ERR_ROI_TOO_SMALL when one voxel or none is left.
 */
export function resegmentMask(
  image: ImageVolume,
  mask: MaskVolume,
  settings: Pick<RadiomicsSettings, 'resegmentRange' | 'resegmentMode' | 'label'>,
): MaskVolume {
  const thresholds = resegmentThresholds(image, mask, settings);
  if (thresholds === undefined) return mask;

  const voxels = new Uint8Array(mask.voxels);
  let before = 0;
  let kept = 0;
  for (let index = 0; index < voxels.length; index++) {
    if (voxels[index] !== settings.label) continue;
    before++;
    const value = image.voxels[index]!;
    const outside = value < thresholds.lower || (thresholds.upper !== undefined && value > thresholds.upper);
    if (outside) voxels[index] = 0;
    else kept++;
  }

  if (kept <= 1) {
    throw new Nqo1Error(
      'ERR_ROI_TOO_SMALL',
      `Resegmentation with range [${settings.resegmentRange!.join(', ')}] (${settings.resegmentMode}) ` +
        `kept ${kept} of ${before} voxels with label ${settings.label}. Widen resegmentRange or remove it.`,
      { details: { before, kept, ...thresholds } },
    );
  }
  return { grid: mask.grid, voxels };
}

/** Returns the image values under `mask == label`, in storage order. */
function roiValues(image: ImageVolume, mask: MaskVolume, label: number): number[] {
  const values: number[] = [];
  for (let index = 0; index < mask.voxels.length; index++) {
    if (mask.voxels[index] === label) values.push(image.voxels[index]!);
  }
  return values;
}

/**
 * Σ values[start..end) in NumPy's pairwise order: blocks of up to 128 elements summed with eight
 * interleaved accumulators, larger ranges split in halves at a multiple of 8.
 */
export function pairwiseSum(values: ArrayLike<number>, start: number, end: number): number {
  const n = end - start;
  if (n < 8) {
    let sum = 0;
    for (let index = start; index < end; index++) sum += values[index]!;
    return sum;
  }
  if (n <= 128) {
    const partial = [0, 0, 0, 0, 0, 0, 0, 0].map((_, lane) => values[start + lane]!);
    let index = start + 8;
    for (; index + 8 <= end; index += 8) {
      for (let lane = 0; lane < 8; lane++) partial[lane]! += values[index + lane]!;
    }
    let sum =
      partial[0]! +
      partial[1]! +
      (partial[2]! + partial[3]!) +
      (partial[4]! + partial[5]! + (partial[6]! + partial[7]!));
    for (; index < end; index++) sum += values[index]!;
    return sum;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return pairwiseSum(values, start, start + half) + pairwiseSum(values, start + half, end);
}
