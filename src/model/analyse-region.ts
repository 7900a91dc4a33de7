/**
 * One region of a case: the region's mask built from the tumour label mask, its voxel count and the
 * radiomic features computed on it. The unit of work that `analyseCase` runs for the tumour and the
 * peritumoral region in turn, and that the service's worker threads run in parallel
 * (`src/jobs/analysis-workers.ts`). Pure: volumes in, numbers out.
 */
import { dilateMaskMm, ringMask } from '../imaging/dilate.js';
import { countLabel, type ImageVolume, type MaskVolume } from '../imaging/volume.js';
import { computeFeatures } from '../radiomics/extract.js';
import type { RadiomicsSettings } from '../radiomics/settings.js';

/** Region of a model card feature: the segmented lesion or the lesion grown by the dilation. */
export type RegionName = 'tumour' | 'peri';

/** Everything needed to build one region's mask and compute its features, as plain cloneable data. */
export interface RegionTask {
  readonly region: RegionName;
  /** pyradiomics names of the features to compute; empty to count the region's voxels only. */
  readonly featureNames: readonly string[];
  /** Settings of every feature; the label here is the tumour's label in the input mask. */
  readonly settings: RadiomicsSettings;
  /** Radius of the physical dilation that makes the peritumoral region, in millimetres. */
  readonly dilationMm: number;
  /** `dilated`: the peritumoral region includes the tumour; `ring`: it excludes the tumour. */
  readonly periMode: 'dilated' | 'ring';
}

/** Output of one {@link RegionTask}. */
export interface RegionFeatures {
  /** Feature values keyed by pyradiomics name, in the order of `featureNames`. */
  readonly values: Record<string, number>;
  /** Number of voxels in the region's binary mask. */
  readonly voxelCount: number;
}

/**
 * Builds the task's region from `tumourLabels` (voxels equal to `settings.label` form the tumour),
 * counts its voxels and computes its features with label 1 on the binary region mask.
 *
 * @throws Nqo1Error from the dilation (ERR_SETTINGS_INVALID, ERR_MASK_GEOMETRY) or from the radiomics
 *   engine (ERR_MASK_EMPTY, ERR_ROI_TOO_SMALL, ERR_MASK_GEOMETRY, ERR_IMAGE_VALUES, …).
 */
export function computeRegionFeatures(
  image: ImageVolume,
  tumourLabels: MaskVolume,
  task: RegionTask,
): RegionFeatures {
  const tumour = binaryMask(tumourLabels, task.settings.label);
  const mask = task.region === 'tumour' ? tumour : periMask(tumour, task.dilationMm, task.periMode);
  const voxelCount = countLabel(mask);
  if (task.featureNames.length === 0) return { values: {}, voxelCount };

  const values = computeFeatures(image, mask, task.featureNames, { ...task.settings, label: 1 });
  return { values, voxelCount };
}

/** Builds the binary tumour mask (value 1) from the voxels that carry `label`. */
function binaryMask(mask: MaskVolume, label: number): MaskVolume {
  const voxels = new Uint8Array(mask.voxels.length);
  for (let index = 0; index < voxels.length; index++) voxels[index] = mask.voxels[index] === label ? 1 : 0;
  return { grid: mask.grid, voxels };
}

/** Grows the binary tumour by `dilationMm`; in ring mode, removes the tumour from the result. */
function periMask(tumour: MaskVolume, dilationMm: number, periMode: RegionTask['periMode']): MaskVolume {
  const dilated = dilateMaskMm(tumour, dilationMm);
  return periMode === 'ring' ? ringMask(dilated, tumour) : dilated;
}
