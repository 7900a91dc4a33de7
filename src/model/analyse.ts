/**
 * One case end to end inside the numeric core: tumour mask → peritumoral region → features of
 * each region → model score. Pure: volumes in, a {@link ScoreResult} out.
 */
import { Nqo1Error } from '../errors.js';
import type { ImageVolume, MaskVolume } from '../imaging/volume.js';
import { DEFAULT_RADIOMICS_SETTINGS, type RadiomicsSettings } from '../radiomics/settings.js';
import { ENGINE_VERSION } from '../version.js';
import {
  computeRegionFeatures,
  type RegionFeatures,
  type RegionName,
  type RegionTask,
} from './analyse-region.js';
import type { ModelCard } from './card.js';
import { cropCaseToTumour, type CaseVolumes } from './case-crop.js';
import type { ScoreResult } from './result.js';
import { scoreFeatures } from './score.js';

/** DICOM references of the inputs, copied into the result's provenance. */
export interface CaseReferences {
  readonly studyInstanceUid: string | null;
  readonly seriesInstanceUid: string | null;
  readonly segmentationInstanceUid: string | null;
}

export interface CaseInput {
  readonly image: ImageVolume;
  /** Tumour mask on the image grid; voxels equal to the card's label form the tumour. */
  readonly tumour: MaskVolume;
  readonly card: ModelCard;
  readonly references: CaseReferences;
  /** Time stamp for the provenance; defaults to now. */
  readonly computedAt?: Date;
  /** Warnings from reading the image and mask, passed on into the provenance. */
  readonly warnings?: readonly string[];
}

/** Returns the radiomics settings of a card: pyradiomics code defaults overlaid with the card's values. */
export function cardRadiomicsSettings(card: ModelCard): RadiomicsSettings {
  const settings: RadiomicsSettings = { ...DEFAULT_RADIOMICS_SETTINGS };
  const extraction = card.extraction;
  return {
    ...settings,
    ...(extraction.binWidth === undefined ? {} : { binWidth: extraction.binWidth }),
    ...(extraction.voxelArrayShift === undefined ? {} : { voxelArrayShift: extraction.voxelArrayShift }),
    ...(extraction.label === undefined ? {} : { label: extraction.label }),
    ...(extraction.minimumROIDimensions === undefined
      ? {}
      : { minimumROIDimensions: extraction.minimumROIDimensions }),
  };
}

/** Computes one region's features; {@link analyseCaseAsync} calls it once per region. */
export type RegionComputer = (
  image: ImageVolume,
  tumourLabels: MaskVolume,
  task: RegionTask,
) => Promise<RegionFeatures>;

/**
 * Computes the card's features on the tumour and peritumoral regions and scores them.
 *
 * @throws Nqo1Error from the radiomics engine (empty or too small ROI, grid mismatch) or from
 *   scoring (missing feature).
 */
export function analyseCase(input: CaseInput): ScoreResult {
  const [tumourTask, periTask] = regionTasks(input.card);
  const analyse = ({ image, tumour }: CaseVolumes): ScoreResult => {
    const tumourRegion = computeRegionFeatures(image, tumour, tumourTask);
    const periRegion = computeRegionFeatures(image, tumour, periTask);
    return scoreRegions(input, tumourRegion, periRegion);
  };

  const cropped = cropCase(input);
  try {
    return analyse(cropped);
  } catch (error) {
    if (!needsWholeVolumeRerun(input, cropped, error)) throw error;
    return analyse(input);
  }
}

/**
 * Same result as {@link analyseCase}, with each region's features computed by `computeRegion`, for
 * instance in a worker thread. Both regions start at once. When both fail, the tumour's error is
 * thrown, as `analyseCase` would throw it. `cropped` is `cropCase(input)` when the caller has cut
 * the case already, for instance in a worker thread.
 */
export async function analyseCaseAsync(
  input: CaseInput,
  computeRegion: RegionComputer,
  cropped: CaseVolumes = cropCase(input),
): Promise<ScoreResult> {
  const [tumourTask, periTask] = regionTasks(input.card);
  const analyse = async ({ image, tumour }: CaseVolumes): Promise<ScoreResult> => {
    const [tumourOutcome, periOutcome] = await Promise.allSettled([
      computeRegion(image, tumour, tumourTask),
      computeRegion(image, tumour, periTask),
    ]);
    if (tumourOutcome.status === 'rejected') throw tumourOutcome.reason;
    if (periOutcome.status === 'rejected') throw periOutcome.reason;
    return scoreRegions(input, tumourOutcome.value, periOutcome.value);
  };

  try {
    return await analyse(cropped);
  } catch (error) {
    if (!needsWholeVolumeRerun(input, cropped, error)) throw error;
    return analyse(input);
  }
}

/**
 * Returns whether an error from the cut case must be raised again from the whole volumes. Only
 * ERR_IMAGE_VALUES names a voxel position, and on the cut case that is an index in the box. The
 * failing case therefore runs again uncut, so the message gives the index in the image.
 */
function needsWholeVolumeRerun(input: CaseVolumes, cropped: CaseVolumes, error: unknown): boolean {
  return cropped.image !== input.image && error instanceof Nqo1Error && error.code === 'ERR_IMAGE_VALUES';
}

/**
 * Cuts the image and tumour mask to the part of the volume the card's regions can reach, as
 * `case-crop.ts` describes. Features and voxel counts stay exactly the same.
 */
export function cropCase(input: Pick<CaseInput, 'image' | 'tumour' | 'card'>): CaseVolumes {
  return cropCaseToTumour(input, cardRadiomicsSettings(input.card), input.card.region.dilationMm);
}

/** Lists the tumour task, then the peritumoral task, each with the card's features of that region. */
function regionTasks(card: ModelCard): [RegionTask, RegionTask] {
  const settings = cardRadiomicsSettings(card);
  const task = (region: RegionName): RegionTask => ({
    region,
    featureNames: card.features
      .filter((feature) => feature.region === region)
      .map((feature) => feature.pyradiomicsName),
    settings,
    dilationMm: card.region.dilationMm,
    periMode: card.region.periMode,
  });
  return [task('tumour'), task('peri')];
}

/** Names the features of both regions by the card, scores them and writes the provenance. */
function scoreRegions(
  input: CaseInput,
  tumourRegion: RegionFeatures,
  periRegion: RegionFeatures,
): ScoreResult {
  const { image, card } = input;
  const settings = cardRadiomicsSettings(card);

  const features: Record<string, number> = {};
  for (const [name, region] of [
    ['tumour', tumourRegion],
    ['peri', periRegion],
  ] as const) {
    for (const feature of card.features.filter((candidate) => candidate.region === name)) {
      const value = region.values[feature.pyradiomicsName];
      if (value !== undefined) features[feature.name] = value;
    }
  }

  const score = scoreFeatures(card, features);
  const outside = featuresOutsideCohort(card, features);
  const tumourVoxelCount = tumourRegion.voxelCount;
  const periVoxelCount = periRegion.voxelCount;
  const warnings = [...(input.warnings ?? [])];
  if (card.region.periMode !== 'ring' && periVoxelCount === tumourVoxelCount) {
    warnings.push(
      `The ${card.region.dilationMm} mm dilation added no voxel to the tumour, because the voxel spacing ` +
        `(${image.grid.spacingMm.map((value) => value.toFixed(2)).join(' × ')} mm) is coarser than the margin, so the ` +
        'peritumoral features describe the tumour itself.',
    );
  }
  warnings.push(...outside);
  return {
    model: { id: card.id, version: card.version },
    features,
    threshold: card.threshold,
    ...score,
    provenance: {
      ...input.references,
      spacingMm: image.grid.spacingMm,
      tumourVoxelCount,
      periVoxelCount,
      dilationMm: card.region.dilationMm,
      settings: { ...settings, periMode: card.region.periMode },
      engineVersion: ENGINE_VERSION,
      computedAt: (input.computedAt ?? new Date()).toISOString(),
      warnings,
    },
  };
}

/**
 * Lists the features of a case that lie outside the range (minimum to maximum) of the site cohort
 * the card was calibrated on, from `scaling.distribution`. Such a case is unlike every calibration
 * case, so its probability extrapolates: the first sign of drift in scanner, protocol or population.
 */
export function featuresOutsideCohort(card: ModelCard, features: Readonly<Record<string, number>>): string[] {
  const distribution = card.scaling?.distribution;
  if (distribution === undefined) return [];
  const notes: string[] = [];
  for (const feature of card.features) {
    const range = distribution[feature.name];
    const value = features[feature.name];
    if (range === undefined || value === undefined) continue;
    if (value < range.min || value > range.max) {
      notes.push(
        `${feature.name} = ${value.toPrecision(4)} lies outside the calibration cohort's range ` +
          `${range.min.toPrecision(4)} to ${range.max.toPrecision(4)} (${range.count} cases), so the probability extrapolates.`,
      );
    }
  }
  return notes;
}
