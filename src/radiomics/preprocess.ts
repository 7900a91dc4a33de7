/**
 * Preprocessing before feature extraction, in the order of pyradiomics 3.x
 * `RadiomicsFeatureExtractor.execute` and `loadImage`:
 * 1. grid check of image and mask;
 * 2. normalisation of the whole image (`normalize`, `normalizeScale`, `removeOutliers`);
 * 3. resampling of image and mask onto `resampledPixelSpacing`, cropped to the ROI with
 *    `padDistance`; or, without resampling, cropping when `preCrop` is set;
 * 4. resegmentation of the ROI (`resegmentRange`, `resegmentMode`) on the intensities after steps 2–3.
 * The ROI checks, the bounding-box crop and discretisation follow in roi.ts and discretise.ts.
 */

import type { ImageVolume, MaskVolume } from '../imaging/volume.js';
import { cropToRoi } from './crop.js';
import { normalizeImage } from './normalize.js';
import { resampleToSpacing } from './resample.js';
import { resegmentMask } from './resegment.js';
import { assertSameGrid } from './roi.js';
import type { RadiomicsSettings } from './settings.js';

/** Image and masks after preprocessing, all on one grid. */
export interface Preprocessed {
  readonly image: ImageVolume;
  /** The mask after resampling, before resegmentation (pyradiomics computes shape on this one). */
  readonly mask: MaskVolume;
  /** The mask after resegmentation; the same object as `mask` without `resegmentRange`. */
  readonly resegmentedMask: MaskVolume;
}

/**
 * Runs steps 1–4 above.
 *
 * @throws Nqo1Error ERR_MASK_GEOMETRY, ERR_MASK_EMPTY, ERR_IMAGE_VALUES, ERR_ROI_TOO_SMALL or
 *   ERR_SETTINGS_INVALID from the individual steps.
 */
export function preprocess(image: ImageVolume, mask: MaskVolume, settings: RadiomicsSettings): Preprocessed {
  assertSameGrid(image.grid, mask.grid);

  let currentImage = settings.normalize ? normalizeImage(image, settings) : image;
  let currentMask = mask;

  if (settings.resampledPixelSpacing !== undefined) {
    ({ image: currentImage, mask: currentMask } = resampleToSpacing(currentImage, currentMask, settings));
  } else if (settings.preCrop) {
    ({ image: currentImage, mask: currentMask } = cropToRoi(
      currentImage,
      currentMask,
      settings.label,
      settings.padDistance,
    ));
  }

  const resegmentedMask = resegmentMask(currentImage, currentMask, settings);
  return { image: currentImage, mask: currentMask, resegmentedMask };
}
