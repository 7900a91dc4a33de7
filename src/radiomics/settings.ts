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
  /**
   * When present, GLCM and GLRLM sum their directions into one matrix with distance weights instead of
   * averaging features over directions (pyradiomics `weightingNorm`; 'no_weighting' is IBSI "3-D merged").
   */
  readonly weightingNorm?: WeightingNorm;
  /** GLDM coarseness α: largest bin difference at which a neighbour still counts as dependent. */
  readonly gldm_a: number;
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
  gldm_a: 0,
});

/**
 * Schema of a settings object as written in a model card or a request. Every key is optional and
 * falls back to {@link DEFAULT_RADIOMICS_SETTINGS}. An unknown key is an error, because a misspelt
 * setting would otherwise fall back to its default without notice.
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
  gldm_a: z.number().int().min(0).optional(),
  weightingNorm: z.enum(['manhattan', 'euclidean', 'infinity', 'no_weighting']).optional(),
});

/** Settings as accepted by {@link parseRadiomicsSettings}. */
export type RadiomicsSettingsInput = z.input<typeof radiomicsSettingsSchema>;

/**
 * Validates `input` against {@link radiomicsSettingsSchema} and fills absent keys with the defaults.
 *
 * @throws Nqo1Error ERR_SETTINGS_INVALID naming each invalid or unknown key.
 */
export function parseRadiomicsSettings(input: unknown): RadiomicsSettings {
  const result = radiomicsSettingsSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const where = issue.path.length > 0 ? issue.path.join('.') : '(settings object)';
      return `${where}: ${issue.message}`;
    });
    throw new Nqo1Error(
      'ERR_SETTINGS_INVALID',
      `Invalid radiomics settings: ${problems.join('; ')}. Fix these keys or remove them to use the defaults.`,
      { cause: result.error },
    );
  }

  const parsed = result.data;
  const defaults = DEFAULT_RADIOMICS_SETTINGS;
  const settings: RadiomicsSettings = {
    binWidth: parsed.binWidth ?? defaults.binWidth,
    voxelArrayShift: parsed.voxelArrayShift ?? defaults.voxelArrayShift,
    label: parsed.label ?? defaults.label,
    minimumROIDimensions: parsed.minimumROIDimensions ?? defaults.minimumROIDimensions,
    distances: parsed.distances ?? defaults.distances,
    force2D: parsed.force2D ?? defaults.force2D,
    force2Ddimension: parsed.force2Ddimension ?? defaults.force2Ddimension,
    gldm_a: parsed.gldm_a ?? defaults.gldm_a,
    ...(parsed.binCount === undefined ? {} : { binCount: parsed.binCount }),
    ...(parsed.minimumROISize === undefined ? {} : { minimumROISize: parsed.minimumROISize }),
    ...(parsed.weightingNorm === undefined ? {} : { weightingNorm: parsed.weightingNorm }),
  };
  return settings;
}
