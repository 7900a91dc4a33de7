/**
 * Image-wide intensity normalisation, as pyradiomics' `normalize` setting applies it before any other step.
 *
 * pyradiomics calls SimpleITK's Normalize (ITK NormalizeImageFilter) on the whole image, not on the ROI:
 *   z = (x − μ) / σ, with μ the mean of all voxels and σ the sample standard deviation (divisor N − 1),
 * computed in float64. When `removeOutliers` is set, z is clipped to [−removeOutliers, +removeOutliers].
 * The result is multiplied by `normalizeScale`.
 */

import { Nqo1Error } from '../errors.js';
import type { ImageVolume } from '../imaging/volume.js';
import type { RadiomicsSettings } from './settings.js';

/**
 * Returns the normalised copy of `image`: ((x − μ)·(1/σ)) clipped, then times `normalizeScale`.
 * μ and σ follow ITK's StatisticsImageFilter: μ = S/N and σ² = (Q − S²/N)/(N − 1), with S = Σx and
 * Q = Σx² over every voxel.
 *
 * @throws Nqo1Error ERR_IMAGE_VALUES when the image is constant (σ = 0), has fewer than two voxels,
 *   or contains a value that is not finite.
 */
export function normalizeImage(
  image: ImageVolume,
  settings: Pick<RadiomicsSettings, 'normalizeScale' | 'removeOutliers'>,
): ImageVolume {
  const count = image.voxels.length;
  let sum = 0;
  let sumOfSquares = 0;
  const source = image.voxels;
  for (let index = 0; index < count; index++) {
    const value = source[index]!;
    sum += value;
    sumOfSquares += value * value;
  }

  const mean = sum / count;
  const variance = (sumOfSquares - (sum * sum) / count) / (count - 1);
  const sigma = Math.sqrt(variance);
  if (!(sigma > 0) || !Number.isFinite(sigma)) {
    throw new Nqo1Error(
      'ERR_IMAGE_VALUES',
      `The image cannot be normalised: its standard deviation over ${count} voxels is ${sigma}. ` +
        'Normalisation needs a non-constant image with finite values; set normalize to false.',
      { details: { voxelCount: count, mean, sigma } },
    );
  }

  const shift = -mean;
  const scale = 1 / sigma;
  const outlierLimit = settings.removeOutliers;
  const voxels = new Float64Array(count);
  for (let index = 0; index < count; index++) {
    let z = (source[index]! + shift) * scale;
    if (outlierLimit !== undefined) {
      if (z > outlierLimit) z = outlierLimit;
      else if (z < -outlierLimit) z = -outlierLimit;
    }
    voxels[index] = z * settings.normalizeScale;
  }
  return { grid: image.grid, voxels };
}
