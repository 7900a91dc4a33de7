/**
 * One case end to end inside the numeric core: tumour mask → peritumoral region → features of
 * each region → model score. Pure: volumes in, a {@link ScoreResult} out.
 */
import { dilateMaskMm, ringMask } from '../imaging/dilate.js';
import { countLabel, type ImageVolume, type MaskVolume } from '../imaging/volume.js';
import { computeFeatures } from '../radiomics/extract.js';
import { DEFAULT_RADIOMICS_SETTINGS, type RadiomicsSettings } from '../radiomics/settings.js';
import { ENGINE_VERSION } from '../version.js';
import type { ModelCard } from './card.js';
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

/** Builds the binary tumour mask (value 1) from the voxels that carry the card's label. */
function binaryMask(mask: MaskVolume, label: number): MaskVolume {
  const voxels = new Uint8Array(mask.voxels.length);
  for (let index = 0; index < voxels.length; index++) voxels[index] = mask.voxels[index] === label ? 1 : 0;
  return { grid: mask.grid, voxels };
}

/**
 * Computes the card's features on the tumour and peritumoral regions and scores them.
 *
 * @throws Nqo1Error from the radiomics engine (empty or too small ROI, grid mismatch) or from
 *   scoring (missing feature).
 */
export function analyseCase(input: CaseInput): ScoreResult {
  const { image, card } = input;
  const settings = cardRadiomicsSettings(card);
  const tumour = binaryMask(input.tumour, settings.label);
  const dilated = dilateMaskMm(tumour, card.region.dilationMm);
  const peri = card.region.periMode === 'ring' ? ringMask(dilated, tumour) : dilated;
  const regionSettings: RadiomicsSettings = { ...settings, label: 1 };

  const features: Record<string, number> = {};
  for (const [region, mask] of [
    ['tumour', tumour],
    ['peri', peri],
  ] as const) {
    const specs = card.features.filter((feature) => feature.region === region);
    if (specs.length === 0) continue;
    const values = computeFeatures(
      image,
      mask,
      specs.map((feature) => feature.pyradiomicsName),
      regionSettings,
    );
    for (const feature of specs) {
      const value = values[feature.pyradiomicsName];
      if (value !== undefined) features[feature.name] = value;
    }
  }

  const score = scoreFeatures(card, features);
  const tumourVoxelCount = countLabel(tumour);
  const periVoxelCount = countLabel(peri);
  const warnings = [...(input.warnings ?? [])];
  if (card.region.periMode !== 'ring' && periVoxelCount === tumourVoxelCount) {
    warnings.push(
      `The ${card.region.dilationMm} mm dilation added no voxel to the tumour, because the voxel spacing ` +
        `(${image.grid.spacingMm.map((value) => value.toFixed(2)).join(' × ')} mm) is coarser than the margin, so the ` +
        'peritumoral features describe the tumour itself.',
    );
  }
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
