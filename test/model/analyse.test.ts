/** analyseCase: the warning when the peritumoral margin adds nothing at the voxel spacing. */

import { beforeAll, describe, expect, it } from 'vitest';

import type { Grid } from '../../src/imaging/volume.js';
import { analyseCase, featuresOutsideCohort, type CaseInput } from '../../src/model/analyse.js';
import { BR_RO_CARD_PATH, loadModelCard, type ModelCard } from '../../src/model/card.js';

const NO_REFERENCES = { studyInstanceUid: null, seriesInstanceUid: null, segmentationInstanceUid: null };

function grid(spacingMm: readonly [number, number, number]): Grid {
  return {
    dimensions: [16, 16, 8],
    spacingMm,
    originMm: [0, 0, 0],
    axes: [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ],
  };
}

/** A 16 × 16 × 8 image of varied values and a 6 × 6 × 4 tumour block in its middle. */
function caseOn(spacingMm: readonly [number, number, number]): Omit<CaseInput, 'card'> {
  const onGrid = grid(spacingMm);
  const voxels = Float64Array.from({ length: 16 * 16 * 8 }, (_, index) => ((index * 7919) % 301) - 100);
  const tumour = Uint8Array.from({ length: 16 * 16 * 8 }, (_, index) => {
    const i = index % 16;
    const j = Math.floor(index / 16) % 16;
    const k = Math.floor(index / 256);
    return i >= 5 && i < 11 && j >= 5 && j < 11 && k >= 2 && k < 6 ? 1 : 0;
  });
  return {
    image: { grid: onGrid, voxels },
    tumour: { grid: onGrid, voxels: tumour },
    references: NO_REFERENCES,
  };
}

let card: ModelCard;

beforeAll(async () => {
  card = await loadModelCard(BR_RO_CARD_PATH);
});

describe('analyseCase warnings', () => {
  it('warns when the 3 mm margin adds no voxel', () => {
    // 3.5 mm voxels: no neighbouring centre lies within 3 mm of a tumour voxel centre.
    const result = analyseCase({ ...caseOn([3.5, 3.5, 3.5]), card });

    expect(result.provenance.periVoxelCount).toBe(result.provenance.tumourVoxelCount);
    expect(result.provenance.warnings).toHaveLength(1);
    expect(result.provenance.warnings?.[0]).toContain('3 mm dilation added no voxel to the tumour');
  });

  it('passes input warnings on and adds none for a fine grid', () => {
    const result = analyseCase({ ...caseOn([0.8, 0.8, 1.25]), card, warnings: ['from the reader'] });

    expect(result.provenance.periVoxelCount).toBeGreaterThan(result.provenance.tumourVoxelCount);
    expect(result.provenance.warnings).toEqual(['from the reader']);
  });
});

describe('featuresOutsideCohort', () => {
  it('names a feature outside the calibration range and nothing inside it', async () => {
    const published = await loadModelCard(BR_RO_CARD_PATH);
    const name = published.features[0]!.name;
    const distribution = {
      count: 40,
      mean: 5,
      sd: 1,
      min: 2,
      p05: 3,
      p25: 4,
      median: 5,
      p75: 6,
      p95: 7,
      max: 8,
    };
    const card = {
      ...published,
      scaling: {
        method: 'z-score' as const,
        sd: 'sample' as const,
        parameters: Object.fromEntries(
          published.features.map((feature) => [feature.name, { mean: 5, sd: 1 }]),
        ),
        cohort: {
          description: 'test',
          caseCount: 40,
          createdAt: '2026-12-05T00:00:00.000Z',
          synthetic: true,
        },
        distribution: { [name]: distribution },
      },
    };
    expect(featuresOutsideCohort(card, { [name]: 9.5 })).toEqual([
      `${name} = 9.500 lies outside the calibration cohort's range 2.000 to 8.000 (40 cases), so the probability extrapolates.`,
    ]);
    expect(featuresOutsideCohort(card, { [name]: 8 })).toEqual([]);
    expect(featuresOutsideCohort(published, { [name]: 1e9 })).toEqual([]);
  });
});
