/**
 * Feature extraction: one image, one mask, a list of pyradiomics feature names and the settings.
 *
 * The steps follow pyradiomics 3.x `RadiomicsFeatureExtractor.execute` for segment-based extraction
 * of the original image. The mask is checked against the image grid and the label, and both are
 * cropped to the ROI bounding box. Before that, preprocess.ts applies normalisation, resampling and
 * resegmentation as the settings ask. Then the ROI is discretised, each needed class matrix is built
 * once and the requested features are evaluated.
 */

import { Nqo1Error } from '../errors.js';
import type { ImageVolume, MaskVolume } from '../imaging/volume.js';
import { discretise } from './discretise.js';
import { prepareFirstOrder, type FirstOrderInput } from './firstorder.js';
import { buildGlcm, type Glcm } from './glcm.js';
import { buildGldm, type Gldm } from './gldm.js';
import { buildGlrlm, type Glrlm } from './glrlm.js';
import { buildGlszm, type Glszm } from './glszm.js';
import { buildNgtdm, type Ngtdm } from './ngtdm.js';
import { preprocess } from './preprocess.js';
import { FEATURE_REGISTRY, type ClassInputs, type FeatureDefinition } from './registry.js';
import { extractRoi } from './roi.js';
import type { RadiomicsSettings } from './settings.js';
import { prepareShape } from './shape.js';
import { textureInput } from './texture.js';

/**
 * Computes the named features of the ROI `mask == settings.label` in `image`.
 *
 * Texture features work in voxel index space. TotalEnergy uses the voxel volume of the image after
 * resampling.
 *
 * @returns values keyed by pyradiomics name, in the order of `names`.
 * @throws Nqo1Error ERR_SETTINGS_INVALID naming the first unknown feature name, before any work.
 * @throws Nqo1Error ERR_MASK_GEOMETRY, ERR_MASK_EMPTY, ERR_ROI_TOO_SMALL, ERR_IMAGE_VALUES or
 *   ERR_TOO_MANY_GRAY_LEVELS from the ROI and discretisation steps.
 */
export function computeFeatures(
  image: ImageVolume,
  mask: MaskVolume,
  names: readonly string[],
  settings: RadiomicsSettings,
): Record<string, number> {
  const definitions = names.map((name) => lookUpFeature(name));

  const prepared = preprocess(image, mask, settings);
  const roi = extractRoi(prepared.image, prepared.resegmentedMask, settings);
  const discretised = discretise(roi, settings);
  const texture = textureInput(discretised, roi.size, { ...settings, spacingMm: roi.spacingMm });

  const inputs: ClassInputs = {
    firstorder: once((): FirstOrderInput => prepareFirstOrder(roi, discretised, settings.voxelArrayShift)),
    glcm: once((): Glcm => buildGlcm(texture, settings.distances)),
    gldm: once((): Gldm => buildGldm(texture, settings.distances, settings.gldm_a)),
    glrlm: once((): Glrlm => buildGlrlm(texture)),
    glszm: once((): Glszm => buildGlszm(texture)),
    ngtdm: once((): Ngtdm => buildNgtdm(texture, settings.distances)),
    // Shape reads only the label mask and the spacing, before any resegmentation (pyradiomics default).
    shape: once(() =>
      prepareShape(
        prepared.resegmentedMask === prepared.mask
          ? roi
          : extractRoi(prepared.image, prepared.mask, settings),
      ),
    ),
  };

  const values: Record<string, number> = {};
  for (const definition of definitions) values[definition.name] = definition.compute(inputs);
  return values;
}

/** Returns the registered feature called `name`, or throws ERR_SETTINGS_INVALID. */
function lookUpFeature(name: string): FeatureDefinition {
  const definition = FEATURE_REGISTRY.get(name);
  if (definition !== undefined) return definition;
  throw new Nqo1Error(
    'ERR_SETTINGS_INVALID',
    `Unknown radiomic feature "${name}". Use a pyradiomics name such as original_glszm_SmallAreaEmphasis; ` +
      'the engine implements the firstorder, glcm, gldm, glrlm, glszm, ngtdm and shape classes.',
    { details: { feature: name } },
  );
}

/** Wraps `build` so that it runs at most once. */
function once<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => {
    built ??= { value: build() };
    return built.value;
  };
}
