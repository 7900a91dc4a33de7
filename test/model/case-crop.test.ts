/**
 * Tests of cropping a case to the tumour's bounding box widened by the dilation reach. They check the
 * cut grid, and that results equal the uncropped computation exactly on real and generated cases.
 */

import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, it } from 'vitest';

import { loadCase } from '../../src/cli/case-input.js';
import { AnalysisWorkerPool } from '../../src/jobs/analysis-workers.js';
import type { Grid, ImageVolume, MaskVolume, Vec3 } from '../../src/imaging/volume.js';
import {
  computeRegionFeatures,
  type RegionFeatures,
  type RegionTask,
} from '../../src/model/analyse-region.js';
import { analyseCase, analyseCaseAsync, cropCase, type CaseInput } from '../../src/model/analyse.js';
import { BR_RO_CARD_PATH, loadModelCard, type ModelCard } from '../../src/model/card.js';
import { CT_3SLICE_FILES, LIVER_SEG_FILE } from '../support/shared-data.js';

const PYRADIOMICS = fileURLToPath(new URL('../../../shared/data/radiomics/pyradiomics/', import.meta.url));
const BRAIN1 = { image: `${PYRADIOMICS}brain1_image.nrrd`, mask: `${PYRADIOMICS}brain1_label.nrrd` };
const NO_REFERENCES = { studyInstanceUid: null, seriesInstanceUid: null, segmentationInstanceUid: null };
const COMPUTED_AT = new Date('2026-12-04T00:00:00Z');

let card: ModelCard;
let ringCard: ModelCard;

beforeAll(async () => {
  card = await loadModelCard(BR_RO_CARD_PATH);
  ringCard = { ...card, region: { ...card.region, periMode: 'ring' } };
});

/** Runs `analyseCase` as it was before cropping, with each region computed on the whole volume. */
function analyseUncropped(input: CaseInput): Promise<ReturnType<typeof analyseCase>> {
  return analyseCaseAsync(input, (_image, _tumour, task) =>
    Promise.resolve(computeRegionFeatures(input.image, input.tumour, task)),
  );
}

/** Checks that the case is cut to a smaller box and that the result equals the uncropped one exactly. */
async function expectCropChangesNothing(input: CaseInput): Promise<void> {
  const cropped = cropCase(input);
  const whole = input.image.voxels.length;
  expect(cropped.image.voxels.length).toBeLessThan(whole);
  expect(cropped.tumour.voxels.length).toBe(cropped.image.voxels.length);

  const fast = analyseCase(input);
  const reference = await analyseUncropped(input);
  expect(Object.keys(fast.features)).toHaveLength(card.features.length);
  for (const [name, value] of Object.entries(reference.features))
    expect(fast.features[name], name).toBe(value);
  expect(fast.provenance.tumourVoxelCount).toBe(reference.provenance.tumourVoxelCount);
  expect(fast.provenance.periVoxelCount).toBe(reference.provenance.periVoxelCount);
  expect(fast).toEqual(reference);
}

/** Builds a grid of `dimensions` with anisotropic spacing and rotated orthonormal axes. */
function rotatedGrid(dimensions: Vec3): Grid {
  const c = Math.cos(0.3);
  const s = Math.sin(0.3);
  return {
    dimensions,
    spacingMm: [0.7, 0.8, 1.5],
    originMm: [-12.5, 30, 7.25],
    axes: [
      [c, s, 0],
      [-s, c, 0],
      [0, 0, 1],
    ],
  };
}

/**
 * Builds a 30 × 28 × 12 image of varied values and an 8 × 7 × 4 tumour block of label 1, with scattered
 * voxels of label 2 that are not tumour. The block is in the middle, or against one face of the volume.
 */
function edgeCase(face?: { axis: 0 | 1 | 2; side: 'low' | 'high' }): {
  image: ImageVolume;
  tumour: MaskVolume;
} {
  const dimensions: Vec3 = [30, 28, 12];
  const grid = rotatedGrid(dimensions);
  const extent: Vec3 = [8, 7, 4];
  const lower = dimensions.map((size, a) => Math.floor((size - extent[a]!) / 2)) as [number, number, number];
  if (face !== undefined) {
    lower[face.axis] = face.side === 'low' ? 0 : dimensions[face.axis] - extent[face.axis];
  }
  const count = dimensions[0] * dimensions[1] * dimensions[2];
  const voxels = Float64Array.from({ length: count }, (_, index) => ((index * 7919) % 301) - 100);
  const tumour = new Uint8Array(count);
  for (let k = 0; k < dimensions[2]; k++) {
    for (let j = 0; j < dimensions[1]; j++) {
      for (let i = 0; i < dimensions[0]; i++) {
        const position = [i, j, k];
        const inside = [0, 1, 2].every(
          (a) => position[a]! >= lower[a]! && position[a]! < lower[a]! + extent[a]!,
        );
        const index = i + dimensions[0] * (j + dimensions[1] * k);
        if (inside) tumour[index] = (i + j + k) % 5 === 0 && k !== lower[2] ? 2 : 1;
      }
    }
  }
  return { image: { grid, voxels }, tumour: { grid, voxels: tumour } };
}

describe('cropCase', () => {
  it('cuts the widened tumour box', () => {
    // The tumour box is i 11..18, j 10..16, k 4..7. The 3 mm reach is ⌊3/0.7⌋ = 4, ⌊3/0.8⌋ = 3 and ⌊3/1.5⌋ = 2 voxels.
    const { image, tumour } = edgeCase();
    const cropped = cropCase({ image, tumour, card });

    expect(cropped.image.grid.dimensions).toEqual([8 + 2 * 4, 7 + 2 * 3, 4 + 2 * 2]);
    expect(cropped.image.grid.spacingMm).toEqual([0.7, 0.8, 1.5]);
    expect(cropped.image.grid.axes).toEqual(image.grid.axes);
    expect(cropped.tumour.grid).toEqual(cropped.image.grid);

    // The origin is the centre of the first kept voxel (7, 7, 2), checked to 1e-12 mm.
    const [u, v, w] = image.grid.axes;
    const steps = [7, 7, 2].map((index, a) => index * image.grid.spacingMm[a]!);
    for (let c = 0; c < 3; c++) {
      const expected = image.grid.originMm[c]! + steps[0]! * u[c]! + steps[1]! * v[c]! + steps[2]! * w[c]!;
      expect(cropped.image.grid.originMm[c]).toBeCloseTo(expected, 12);
    }

    // Voxel (0, 0, 0) of the cut box is voxel (7, 7, 2), and voxel (4, 3, 2) is the tumour corner (11, 10, 4).
    expect(cropped.image.voxels[0]).toBe(image.voxels[7 + 30 * (7 + 28 * 2)]);
    const corner = 4 + 16 * (3 + 13 * 2);
    expect(cropped.image.voxels[corner]).toBe(image.voxels[11 + 30 * (10 + 28 * 4)]);
    expect(cropped.tumour.voxels[corner]).toBe(tumour.voxels[11 + 30 * (10 + 28 * 4)]);
    expect(cropped.tumour.voxels[corner]).toBe(1);
  });

  it('keeps an absent tumour uncut', () => {
    const { image, tumour } = edgeCase({ axis: 1, side: 'high' });
    const empty = { grid: tumour.grid, voxels: tumour.voxels.map((value) => (value === 1 ? 0 : value)) };
    const cropped = cropCase({ image, tumour: empty, card });
    expect(cropped.image).toBe(image);
    expect(cropped.tumour).toBe(empty);
  });
});

describe('analyseCase cropped equals uncropped', () => {
  it('names the image voxel of a NaN', async () => {
    // Tumour block i 11..18, j 10..16, k 4..7. The NaN sits at (12, 11, 5), index 12 + 30 · (11 + 28 · 5).
    const { image, tumour } = edgeCase();
    const voxels = Float64Array.from(image.voxels);
    voxels[12 + 30 * (11 + 28 * 5)] = Number.NaN;
    const input = { image: { grid: image.grid, voxels }, tumour, card, references: NO_REFERENCES };

    const reference = await analyseUncropped(input).catch((error: unknown) => error);
    expect(reference).toMatchObject({ code: 'ERR_IMAGE_VALUES' });
    expect((reference as Error).message).toContain('(12, 11, 5)');
    expect(() => analyseCase(input)).toThrow((reference as Error).message);
    await expect(new RecordingPool({ size: 1 }).analyseCase(input)).rejects.toThrow(
      (reference as Error).message,
    );
  });

  it('keeps a mask spacing within tolerance', async () => {
    // The mask spacing differs from the image spacing by 1e-7 relative, inside the 1e-6 grid tolerance.
    const { image, tumour } = edgeCase({ axis: 0, side: 'high' });
    const maskGrid: Grid = {
      ...tumour.grid,
      spacingMm: tumour.grid.spacingMm.map((spacing) => spacing * (1 + 1e-7)) as unknown as Vec3,
    };
    const cropped = cropCase({ image, tumour: { grid: maskGrid, voxels: tumour.voxels }, card });
    expect(cropped.tumour.grid.spacingMm).toEqual(maskGrid.spacingMm);
    expect(cropped.image.grid.spacingMm).toEqual(image.grid.spacingMm);

    await expectCropChangesNothing({
      image,
      tumour: { grid: maskGrid, voxels: tumour.voxels },
      card,
      references: NO_REFERENCES,
      computedAt: COMPUTED_AT,
    });
  });

  it('dcmqi CT with liver SEG', async () => {
    const loaded = await loadCase(dirname(CT_3SLICE_FILES[0]!), LIVER_SEG_FILE, 1);
    await expectCropChangesNothing({ ...loaded, card, computedAt: COMPUTED_AT });
    await expectCropChangesNothing({ ...loaded, card: ringCard, computedAt: COMPUTED_AT });
  });

  it('pyradiomics brain1 NRRD case', async () => {
    const loaded = await loadCase(BRAIN1.image, BRAIN1.mask, 1);
    await expectCropChangesNothing({ ...loaded, card, computedAt: COMPUTED_AT });
    await expectCropChangesNothing({ ...loaded, card: ringCard, computedAt: COMPUTED_AT });
  });

  for (const axis of [0, 1, 2] as const) {
    for (const side of ['low', 'high'] as const) {
      it(`tumour on ${side} face of axis ${axis}`, async () => {
        const volumes = edgeCase({ axis, side });
        for (const onCard of [card, ringCard]) {
          await expectCropChangesNothing({
            ...volumes,
            card: onCard,
            references: NO_REFERENCES,
            computedAt: COMPUTED_AT,
          });
        }
      });
    }
  }
});

/** Records the grid each region request would ship and computes the region in this thread. */
class RecordingPool extends AnalysisWorkerPool {
  readonly shipped: Grid[] = [];

  override computeRegion(
    image: ImageVolume,
    tumourLabels: MaskVolume,
    task: RegionTask,
  ): Promise<RegionFeatures> {
    this.shipped.push(image.grid, tumourLabels.grid);
    return Promise.resolve(computeRegionFeatures(image, tumourLabels, task));
  }
}

describe('AnalysisWorkerPool with cropping', () => {
  it('ships the cut box', async () => {
    const volumes = edgeCase({ axis: 2, side: 'high' });
    const input = { ...volumes, card, references: NO_REFERENCES, computedAt: COMPUTED_AT };
    const pool = new RecordingPool({ size: 1 });

    const result = await pool.analyseCase(input);

    // Tumour box i 11..18, j 10..16, k 8..11, widened by 4, 3 and 2 voxels and clipped at k = 11.
    expect(pool.shipped).toHaveLength(4);
    for (const grid of pool.shipped) expect(grid.dimensions).toEqual([16, 13, 6]);
    expect(result).toEqual(analyseCase(input));
    await pool.close();
  });
});
