/**
 * Preprocessing steps on small hand-computed volumes: normalisation, resegmentation, cropping and
 * resampling (nearest neighbour, linear and cubic B-spline). The comments derive each expected value.
 * Values that are not exact binary fractions are compared with an absolute tolerance of 1e-12 (1e-8 for
 * the B-spline, whose prefilter truncates an infinite sum).
 */

import { describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { cropToRoi } from '../../src/radiomics/crop.js';
import { computeFeatures } from '../../src/radiomics/extract.js';
import { normalizeImage } from '../../src/radiomics/normalize.js';
import { resampleToSpacing } from '../../src/radiomics/resample.js';
import { pairwiseSum, resegmentMask } from '../../src/radiomics/resegment.js';
import { parseRadiomicsSettings } from '../../src/radiomics/settings.js';
import { loadCase } from './support/baseline.js';
import { makeGrid, makeImage, makeMask } from './support/volumes.js';

function errorCode(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return isNqo1Error(error) ? error.code : 'not an Nqo1Error';
  }
  return undefined;
}

describe('normalisation', () => {
  // x = 1, 2, 3, 4: mean 2.5, sample variance 5/3, σ = 1.2909944487358056.
  const image = makeImage(makeGrid([4, 1, 1]), [1, 2, 3, 4]);

  it('standardises the whole image with the sample σ and scales', () => {
    const voxels = normalizeImage(image, { normalizeScale: 100 }).voxels;
    const expected = [-116.1895003862225, -38.72983346207417, 38.72983346207417, 116.1895003862225];
    voxels.forEach((value, index) => {
      expect(Math.abs(value - expected[index]!)).toBeLessThan(1e-12);
    });
  });

  it('clips standardised values at ±removeOutliers before scaling', () => {
    const voxels = normalizeImage(image, { normalizeScale: 100, removeOutliers: 1 }).voxels;
    expect(voxels[0]).toBe(-100);
    expect(voxels[3]).toBe(100);
    expect(Math.abs(voxels[1]! + 38.72983346207417)).toBeLessThan(1e-12);
  });

  it('rejects a constant image', () => {
    expect(
      errorCode(() => normalizeImage(makeImage(makeGrid([3, 1, 1]), [5, 5, 5]), { normalizeScale: 1 })),
    ).toBe('ERR_IMAGE_VALUES');
  });
});

describe('resegmentation', () => {
  const grid = makeGrid([5, 1, 1]);
  const image = makeImage(grid, [10, 20, 30, 40, 50]);
  const mask = makeMask(grid, [1, 1, 1, 1, 1]);
  const kept = (input: object): number[] =>
    Array.from(resegmentMask(image, mask, parseRadiomicsSettings(input)).voxels);

  it('absolute: closed range, sorted; one value is a lower bound only', () => {
    expect(kept({ resegmentRange: [45, 15] })).toEqual([0, 1, 1, 1, 0]);
    expect(kept({ resegmentRange: [20, 40] })).toEqual([0, 1, 1, 1, 0]);
    expect(kept({ resegmentRange: [35] })).toEqual([0, 0, 0, 1, 1]);
  });

  it('relative: fractions of the ROI maximum (0.5 · 50 = 25)', () => {
    expect(kept({ resegmentRange: [0.5], resegmentMode: 'relative' })).toEqual([0, 0, 1, 1, 1]);
  });

  it('sigma: mean ± k·σ with the population σ (30 ± 14.14)', () => {
    expect(kept({ resegmentRange: [-1, 1], resegmentMode: 'sigma' })).toEqual([0, 1, 1, 1, 0]);
    // k = 1.4142135 gives 30 ± 19.99999...: 10 and 50 stay out; k = 1.4142136 lets them in.
    expect(kept({ resegmentRange: [-1.4142135, 1.4142135], resegmentMode: 'sigma' })).toEqual([
      0, 1, 1, 1, 0,
    ]);
    expect(kept({ resegmentRange: [-1.4142136, 1.4142136], resegmentMode: 'sigma' })).toEqual([
      1, 1, 1, 1, 1,
    ]);
  });

  it('keeping one voxel or none is ERR_ROI_TOO_SMALL', () => {
    expect(errorCode(() => kept({ resegmentRange: [45] }))).toBe('ERR_ROI_TOO_SMALL');
  });

  it('pairwise summation equals the plain sum on exactly representable values', () => {
    const values = Array.from({ length: 1000 }, (_, index) => index);
    expect(pairwiseSum(values, 0, values.length)).toBe(499500);
  });
});

describe('cropping', () => {
  it('crops to the bounding box plus padDistance, clipped to the grid', () => {
    const grid = makeGrid([10, 1, 1], [0.5, 1, 1]);
    const image = makeImage(
      grid,
      Array.from({ length: 10 }, (_, index) => index * 10),
    );
    const mask = makeMask(grid, [0, 0, 0, 0, 1, 1, 0, 0, 0, 0]);
    const cropped = cropToRoi(image, mask, 1, 2);
    expect(cropped.image.grid.dimensions).toEqual([6, 1, 1]);
    expect(cropped.image.grid.originMm).toEqual([1, 0, 0]);
    expect(Array.from(cropped.image.voxels)).toEqual([20, 30, 40, 50, 60, 70]);
    expect(Array.from(cropped.mask.voxels)).toEqual([0, 0, 1, 1, 0, 0]);
    expect(cropToRoi(image, mask, 1, 9).image.grid.dimensions).toEqual([10, 1, 1]);
  });

  it('preCrop changes no feature value (brain1, default column settings)', () => {
    const { image, mask } = loadCase('brain1');
    const names = [
      'original_firstorder_TotalEnergy',
      'original_glszm_SmallAreaEmphasis',
      'original_glcm_Contrast',
    ];
    const base = { binWidth: 25, voxelArrayShift: 2000, minimumROIDimensions: 1 };
    expect(computeFeatures(image, mask, names, parseRadiomicsSettings({ ...base, preCrop: true }))).toEqual(
      computeFeatures(image, mask, names, parseRadiomicsSettings(base)),
    );
  });
});

describe('resampling', () => {
  // Ramp 0, 3, …, 21 along i (spacing 1 mm), ROI at i = 2..5, resampled to 2 mm without padding.
  // r = 1/2: new indices floor(1.5·r) = 0 … ceil(5.5·r) = 3, clipped to ceil(8·r) − 1 = 3, so 4 voxels.
  // The first sits at input index ½·(2 − 1)/1 = 0.5, the others at 2.5, 4.5, 6.5.
  const grid = makeGrid([8, 1, 1]);
  const ramp = Array.from({ length: 8 }, (_, index) => 3 * index);
  const mask = makeMask(grid, [0, 0, 1, 1, 1, 1, 0, 0]);
  const settings = (interpolator: string): ReturnType<typeof parseRadiomicsSettings> =>
    parseRadiomicsSettings({ resampledPixelSpacing: [2, 0, 0], interpolator, padDistance: 0 });

  it('builds the corner-aligned grid', () => {
    const { image } = resampleToSpacing(makeImage(grid, ramp), mask, settings('sitkLinear'));
    expect(image.grid.dimensions).toEqual([4, 1, 1]);
    expect(image.grid.spacingMm).toEqual([2, 1, 1]);
    expect(image.grid.originMm).toEqual([0.5, 0, 0]);
  });

  it('linear: 1.5, 7.5, 13.5, 19.5, truncated towards zero for an integer image', () => {
    const resampled = resampleToSpacing(makeImage(grid, ramp), mask, settings('sitkLinear'));
    expect(Array.from(resampled.image.voxels)).toEqual([1, 7, 13, 19]);
    const floatImage = makeImage(
      grid,
      ramp.map((value) => value + 0.25),
    );
    expect(Array.from(resampleToSpacing(floatImage, mask, settings('sitkLinear')).image.voxels)).toEqual([
      1.75, 7.75, 13.75, 19.75,
    ]);
  });

  it('nearest neighbour rounds the index half up, for image and mask', () => {
    const resampled = resampleToSpacing(makeImage(grid, ramp), mask, settings('sitkNearestNeighbor'));
    expect(Array.from(resampled.image.voxels)).toEqual([3, 9, 15, 21]);
    expect(Array.from(resampled.mask.voxels)).toEqual([0, 1, 1, 0]);
  });

  it('equal spacing only crops with padDistance', () => {
    const resampled = resampleToSpacing(
      makeImage(grid, ramp),
      mask,
      parseRadiomicsSettings({ resampledPixelSpacing: [1, 1, 1], padDistance: 1 }),
    );
    expect(Array.from(resampled.image.voxels)).toEqual([3, 6, 9, 12, 15, 18]);
  });

  it('cubic B-spline reproduces a linear ramp far from the edges and a constant everywhere', () => {
    // A cubic spline represents degree-1 data exactly. The mirror boundary bends a ramp near the ends,
    // and the effect decays as |z|ⁿ = 0.268ⁿ with the distance n from the end, so a 64-voxel ramp is
    // checked in its middle, where the remaining error (boundary and prefilter truncation) is < 1e-8.
    const longGrid = makeGrid([64, 1, 1]);
    const longRamp = makeImage(
      longGrid,
      Array.from({ length: 64 }, (_, index) => 3 * index + 0.25),
    );
    const longMask = makeMask(
      longGrid,
      Array.from({ length: 64 }, (_, index) => (index >= 28 && index < 36 ? 1 : 0)),
    );
    const resampled = resampleToSpacing(longRamp, longMask, settings('sitkBSpline'));
    // New indices floor(27.5/2) = 13 … ceil(35.5/2) = 18; the first sits at input index 0.5 + 13·2 = 26.5,
    // where the ramp is 3·26.5 + 0.25 = 79.75; then steps of 6.
    expect(resampled.image.grid.dimensions).toEqual([6, 1, 1]);
    resampled.image.voxels.forEach((value, index) => {
      expect(Math.abs(value - (79.75 + 6 * index))).toBeLessThan(1e-8);
    });

    const constant = makeImage(
      grid,
      ramp.map(() => 4.5),
    );
    for (const value of resampleToSpacing(constant, mask, settings('sitkBSpline')).image.voxels) {
      expect(Math.abs(value - 4.5)).toBeLessThan(1e-8);
    }
  });
});
