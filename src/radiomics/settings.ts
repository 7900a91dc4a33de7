/**
 * Extraction settings of the radiomics engine.
 *
 * Names and defaults follow pyradiomics 3.x code defaults (not its example parameter files), so a
 * setting read from a pyradiomics parameter file means the same thing here. Every setting that
 * changes a feature value is explicit: nothing is read through an untyped key.
 */

import { z } from 'zod';

import { Nqo1Error } from '../errors.js';

/** Distance weighting of merged GLCM and GLRLM directions, as named in pyradiomics. */
export type WeightingNorm = 'manhattan' | 'euclidean' | 'infinity' | 'no_weighting';

/** Unit of `resegmentRange`: image units, fractions of the ROI maximum, or ROI standard deviations around the ROI mean. */
export type ResegmentMode = 'absolute' | 'relative' | 'sigma';

/** SimpleITK interpolator names accepted by pyradiomics' `interpolator` setting. */
export type InterpolatorName = 'sitkNearestNeighbor' | 'sitkLinear' | 'sitkBSpline';

/** Settings that decide the value of a radiomic feature. */
export interface RadiomicsSettings {
  /** Fixed bin width in image units (HU for CT). Used when `binCount` is absent. */
  readonly binWidth: number;
  /** Fixed bin count. When present, it replaces `binWidth`. */
  readonly binCount?: number;
  /** Constant added to every intensity before Energy, TotalEnergy and RootMeanSquared. */
  readonly voxelArrayShift: number;
  /** Mask value that marks the region of interest (1 to 255). */
  readonly label: number;
  /** Minimum number of bounding-box axes longer than one voxel (1, 2 or 3). */
  readonly minimumROIDimensions: number;
  /** When present, a region of this many voxels or fewer is rejected. */
  readonly minimumROISize?: number;
  /** Infinity-norm neighbour distances in voxels, used by GLCM, NGTDM and GLDM (GLSZM and GLRLM always use 1). */
  readonly distances: readonly number[];
  /** Restricts texture neighbourhoods to the plane orthogonal to `force2Ddimension`. */
  readonly force2D: boolean;
  /** Axis left out when `force2D` is set, in NumPy order: 0 = slices (k), 1 = rows (j), 2 = columns (i). */
  readonly force2Ddimension: number;
  /** GLCM counts each pair in both directions (adds the transpose). Only true is implemented. */
  readonly symmetricalGLCM: boolean;
  /**
   * When present, GLCM and GLRLM sum their directions into one matrix with distance weights instead of
   * averaging features over directions (pyradiomics `weightingNorm`; 'no_weighting' is IBSI "3-D merged").
   */
  readonly weightingNorm?: WeightingNorm;
  /** GLDM coarseness α: largest bin difference at which a neighbour still counts as dependent. */
  readonly gldm_a: number;
  /**
   * Resegmentation range: one value (lower bound only) or two (lower and upper, sorted before use).
   * ROI voxels outside the range leave the ROI of every class except shape.
   */
  readonly resegmentRange?: readonly number[];
  /** Unit of `resegmentRange`. */
  readonly resegmentMode: ResegmentMode;
  /** Standardise the whole image to (x − mean) / σ before anything else. */
  readonly normalize: boolean;
  /** Factor applied to the standardised image. */
  readonly normalizeScale: number;
  /** When normalising, clip standardised values to ±removeOutliers before scaling. */
  readonly removeOutliers?: number;
  /** When present, image and mask are resampled to this spacing in mm along i, j, k (0 keeps the original). */
  readonly resampledPixelSpacing?: readonly [number, number, number];
  /** Interpolator of the image when resampling. The mask always uses nearest neighbour. */
  readonly interpolator: InterpolatorName;
  /** Margin in voxels kept around the ROI bounding box when resampling or pre-cropping. */
  readonly padDistance: number;
  /** Crop image and mask to the padded ROI bounding box before resampling. */
  readonly preCrop: boolean;
  /**
   * pyradiomics `additionalInfo`: false leaves the `diagnostics_*` entries out of the extract output.
   * Absent means true. It does not change any feature value.
   */
  readonly additionalInfo?: boolean;
}

/** pyradiomics 3.x code defaults. */
export const DEFAULT_RADIOMICS_SETTINGS: RadiomicsSettings = Object.freeze({
  binWidth: 25,
  voxelArrayShift: 0,
  label: 1,
  minimumROIDimensions: 2,
  distances: Object.freeze([1]),
  force2D: false,
  force2Ddimension: 0,
  symmetricalGLCM: true,
  gldm_a: 0,
  resegmentMode: 'absolute',
  normalize: false,
  normalizeScale: 1,
  interpolator: 'sitkBSpline',
  padDistance: 5,
  preCrop: false,
});

/**
 * Schema of a settings object as written in a model card, a request or a pyradiomics parameter file.
 * Every key is optional and falls back to {@link DEFAULT_RADIOMICS_SETTINGS}. An unknown key is an
 * error, because a misspelt setting would otherwise fall back to its default without notice.
 * `additionalInfo` only switches the diagnostics output of `nqo1-cds extract`.
 */
export const radiomicsSettingsSchema = z.strictObject({
  binWidth: z.number().positive().optional(),
  binCount: z.number().int().positive().optional(),
  voxelArrayShift: z.number().optional(),
  label: z.number().int().min(1).max(255).optional(),
  minimumROIDimensions: z.number().int().min(1).max(3).optional(),
  minimumROISize: z.number().int().positive().optional(),
  distances: z.array(z.number().int().positive()).min(1).optional(),
  force2D: z.boolean().optional(),
  force2Ddimension: z.number().int().min(0).max(2).optional(),
  symmetricalGLCM: z.boolean().optional(),
  gldm_a: z.number().int().min(0).optional(),
  weightingNorm: z.enum(['manhattan', 'euclidean', 'infinity', 'no_weighting']).optional(),
  resegmentRange: z.array(z.number()).min(1).max(2).optional(),
  resegmentMode: z.enum(['absolute', 'relative', 'sigma']).optional(),
  normalize: z.boolean().optional(),
  normalizeScale: z.number().positive().optional(),
  removeOutliers: z.number().positive().optional(),
  resampledPixelSpacing: z.tuple([z.number().min(0), z.number().min(0), z.number().min(0)]).optional(),
  interpolator: z.enum(['sitkNearestNeighbor', 'sitkLinear', 'sitkBSpline']).optional(),
  padDistance: z.number().int().min(0).optional(),
  preCrop: z.boolean().optional(),
  additionalInfo: z.boolean().optional(),
});

/** Settings as accepted by {@link parseRadiomicsSettings}. */
export type RadiomicsSettingsInput = z.input<typeof radiomicsSettingsSchema>;

/** Every key {@link parseRadiomicsSettings} accepts. */
export const SETTING_KEYS: readonly string[] = Object.freeze(Object.keys(radiomicsSettingsSchema.shape));

/**
 * Validates `input` against {@link radiomicsSettingsSchema} and fills absent keys with the defaults.
 * A key whose value is null means "not set", as None does in a pyradiomics parameter file.
 *
 * @throws Nqo1Error ERR_SETTINGS_INVALID naming each invalid or unknown key; an unknown key comes
 *   with the nearest valid key as a suggestion.
 */
export function parseRadiomicsSettings(input: unknown): RadiomicsSettings {
  const withoutNulls = dropNullValues(input);
  const unknown = unknownKeyProblems(withoutNulls);
  const result = radiomicsSettingsSchema.safeParse(withoutNulls);
  if (!result.success || unknown.length > 0) {
    const problems = [...unknown];
    for (const issue of result.success ? [] : result.error.issues) {
      if (issue.code === 'unrecognized_keys') continue;
      const where = issue.path.length > 0 ? issue.path.join('.') : '(settings object)';
      problems.push(`${where}: ${issue.message}`);
    }
    throw new Nqo1Error(
      'ERR_SETTINGS_INVALID',
      `Invalid radiomics settings: ${problems.join('; ')}. Fix these keys or remove them to use the defaults.`,
      result.success ? { details: { problems: problems.join('; ') } } : { cause: result.error },
    );
  }

  const parsed = result.data;
  if (parsed.symmetricalGLCM === false) {
    // LIMITATION: only the symmetric GLCM is built, and MCC relies on its symmetry (see glcm.ts).
    // An asymmetric GLCM needs a second matrix builder and a general eigen-solver for MCC.
    throw new Nqo1Error(
      'ERR_SETTINGS_INVALID',
      'symmetricalGLCM false is not supported: the engine builds the symmetric GLCM only. Remove the key or set it to true.',
      { details: { key: 'symmetricalGLCM', value: false } },
    );
  }

  const defaults = DEFAULT_RADIOMICS_SETTINGS;
  const settings: RadiomicsSettings = {
    binWidth: parsed.binWidth ?? defaults.binWidth,
    voxelArrayShift: parsed.voxelArrayShift ?? defaults.voxelArrayShift,
    label: parsed.label ?? defaults.label,
    minimumROIDimensions: parsed.minimumROIDimensions ?? defaults.minimumROIDimensions,
    distances: parsed.distances ?? defaults.distances,
    force2D: parsed.force2D ?? defaults.force2D,
    force2Ddimension: parsed.force2Ddimension ?? defaults.force2Ddimension,
    symmetricalGLCM: true,
    gldm_a: parsed.gldm_a ?? defaults.gldm_a,
    resegmentMode: parsed.resegmentMode ?? defaults.resegmentMode,
    normalize: parsed.normalize ?? defaults.normalize,
    normalizeScale: parsed.normalizeScale ?? defaults.normalizeScale,
    interpolator: parsed.interpolator ?? defaults.interpolator,
    padDistance: parsed.padDistance ?? defaults.padDistance,
    preCrop: parsed.preCrop ?? defaults.preCrop,
    ...(parsed.binCount === undefined ? {} : { binCount: parsed.binCount }),
    ...(parsed.additionalInfo === undefined ? {} : { additionalInfo: parsed.additionalInfo }),
    ...(parsed.minimumROISize === undefined ? {} : { minimumROISize: parsed.minimumROISize }),
    ...(parsed.weightingNorm === undefined ? {} : { weightingNorm: parsed.weightingNorm }),
    ...(parsed.resegmentRange === undefined ? {} : { resegmentRange: parsed.resegmentRange }),
    ...(parsed.removeOutliers === undefined ? {} : { removeOutliers: parsed.removeOutliers }),
    ...(parsed.resampledPixelSpacing === undefined
      ? {}
      : { resampledPixelSpacing: parsed.resampledPixelSpacing }),
  };
  return settings;
}

/** Returns a shallow copy of a plain object without its null-valued keys; other values unchanged. */
function dropNullValues(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== null));
}

/**
 * pyradiomics settings (paramSchema.yaml) that this engine does not implement, with the reason.
 * LIMITATION: each is rejected rather than ignored, because ignoring it would change what the
 * parameter file means. Filter settings belong to image types other than Original; the others need
 * mask correction, multi-channel labels or resegmented shape, none of which the engine has.
 */
export const UNSUPPORTED_PYRADIOMICS_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  geometryTolerance: 'image and mask must share one grid (tolerance 1e-6 of the spacing)',
  correctMask: 'the mask is never resampled onto the image grid; resample it before extraction',
  label_channel: 'multi-channel label maps are not read',
  resegmentShape: 'shape always uses the mask before resegmentation',
  sigma: 'LoG filtering (imageType LoG) is not implemented',
  start_level: 'wavelet filtering (imageType Wavelet) is not implemented',
  level: 'wavelet filtering (imageType Wavelet) is not implemented',
  wavelet: 'wavelet filtering (imageType Wavelet) is not implemented',
  gradientUseSpacing: 'gradient filtering (imageType Gradient) is not implemented',
  lbp2DRadius: 'LBP filtering (imageType LBP2D) is not implemented',
  lbp2DSamples: 'LBP filtering (imageType LBP2D) is not implemented',
  lbp2DMethod: 'LBP filtering (imageType LBP2D) is not implemented',
  lbp3DLevels: 'LBP filtering (imageType LBP3D) is not implemented',
  lbp3DIcosphereRadius: 'LBP filtering (imageType LBP3D) is not implemented',
  lbp3DIcosphereSubdivision: 'LBP filtering (imageType LBP3D) is not implemented',
});

/** Returns one message per key of `input` that is not a setting, with the reason or the nearest valid key. */
function unknownKeyProblems(input: unknown): string[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return [];
  return Object.keys(input)
    .filter((key) => !SETTING_KEYS.includes(key))
    .map((key) => {
      const reason = UNSUPPORTED_PYRADIOMICS_SETTINGS[key];
      if (reason !== undefined)
        return `"${key}" is a pyradiomics setting this engine does not support (${reason})`;
      return `unknown key "${key}" (did you mean "${nearestKey(key, SETTING_KEYS)}"?)`;
    });
}

/** Returns the candidate with the smallest case-insensitive Levenshtein distance to `key` (first on ties). */
export function nearestKey(key: string, candidates: readonly string[]): string {
  let best = candidates[0] ?? '';
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance: fewest single-character insertions, deletions and substitutions from a to b. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, column) => column);
  for (let row = 1; row <= a.length; row++) {
    const current = [row];
    for (let column = 1; column <= b.length; column++) {
      const substitution = previous[column - 1]! + (a[row - 1] === b[column - 1] ? 0 : 1);
      current.push(Math.min(previous[column]! + 1, current[column - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
