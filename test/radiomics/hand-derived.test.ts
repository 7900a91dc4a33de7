/**
 * Small cases whose expected values are derived by hand in the comments, plus the error paths of
 * ROI extraction.
 */

import { describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { computeFeatures } from '../../src/radiomics/extract.js';
import { FEATURE_REGISTRY } from '../../src/radiomics/registry.js';
import { DEFAULT_RADIOMICS_SETTINGS, parseRadiomicsSettings } from '../../src/radiomics/settings.js';
import { makeGrid, makeImage, makeMask } from './support/volumes.js';

const EPSILON = 2.220446049250313e-16;

/** Runs `action` and returns the Nqo1Error it throws. */
function thrownBy(action: () => unknown): {
  code: string;
  message: string;
  details: Record<string, unknown>;
} {
  try {
    action();
  } catch (error) {
    if (isNqo1Error(error)) return error;
    throw error;
  }
  throw new Error('expected an Nqo1Error');
}

describe('flat 3×3×3 ROI', () => {
  // Every voxel is 100 HU, so all 27 voxels fall into bin 1. Every voxel's neighbours have the
  // same level, so each s_i = 0 and Σ p_i s_i = 0: Coarseness takes the 1e6 guard value. The single
  // 26-connected zone has 27 voxels: SmallAreaEmphasis = 1/27², ZonePercentage = 1/27.
  const grid = makeGrid([3, 3, 3]);
  const image = makeImage(grid, new Array<number>(27).fill(100));
  const mask = makeMask(grid, new Array<number>(27).fill(1));
  const values = computeFeatures(image, mask, [...FEATURE_REGISTRY.keys()], DEFAULT_RADIOMICS_SETTINGS);

  it('Coarseness is 1e6', () => {
    expect(values.original_ngtdm_Coarseness).toBe(1_000_000);
  });

  it('other NGTDM guards are 0', () => {
    expect(values.original_ngtdm_Contrast).toBe(0);
    expect(values.original_ngtdm_Busyness).toBe(0);
    expect(values.original_ngtdm_Complexity).toBe(0);
    expect(values.original_ngtdm_Strength).toBe(0);
  });

  it('single zone of 27 voxels', () => {
    expect(values.original_glszm_SmallAreaEmphasis).toBe(1 / 729);
    expect(values.original_glszm_ZonePercentage).toBe(1 / 27);
  });

  it('GLCM guard values', () => {
    // One gray level: σ = 0 so Correlation falls back to 1, MCC is 1 by definition, and HX = HY = 0
    // and HXY2 = HXY, so both Imc guards give 0. p(1, 1) = 1 makes every inverse difference 1.
    expect(values.original_glcm_Correlation).toBe(1);
    expect(values.original_glcm_MCC).toBe(1);
    expect(values.original_glcm_Imc1).toBe(0);
    expect(values.original_glcm_Imc2).toBe(0);
    expect(values.original_glcm_Id).toBe(1);
    expect(values.original_glcm_Idmn).toBe(1);
    // The mean over 13 directions may round the last bit of −log2(1 + ε).
    expect(Math.abs(values.original_glcm_JointEntropy! + Math.log2(1 + EPSILON))).toBeLessThan(1e-30);
  });

  it('histogram entropy is -log2(1 + eps)', () => {
    // p = 1 for the only bin, so Entropy = −1·log2(1 + ε), a tiny negative number.
    expect(values.original_firstorder_Entropy).toBe(-Math.log2(1 + EPSILON));
    expect(values.original_firstorder_Uniformity).toBe(1);
    expect(values.original_firstorder_Skewness).toBe(0);
    expect(values.original_firstorder_Kurtosis).toBe(0);
  });
});

describe('2×2×1 ROI', () => {
  // Image (i across, j down):   0  10      binWidth 25 → bins   1 1
  //                             30  60                           2 3
  // Bins: floor(x/25) − floor(0/25) + 1.
  const grid = makeGrid([2, 2, 1], [0.5, 2, 3]);
  const image = makeImage(grid, [0, 10, 30, 60]);
  const mask = makeMask(grid, [1, 1, 1, 1]);
  const names = [...FEATURE_REGISTRY.keys()];
  const values = computeFeatures(image, mask, names, DEFAULT_RADIOMICS_SETTINGS);

  it('first-order statistics', () => {
    // Energy = 0² + 10² + 30² + 60² = 4600; voxel volume 0.5·2·3 = 3 mm³.
    expect(values.original_firstorder_Energy).toBe(4600);
    expect(values.original_firstorder_TotalEnergy).toBe(13800);
    expect(values.original_firstorder_RootMeanSquared).toBeCloseTo(Math.sqrt(1150), 12);
    expect(values.original_firstorder_Mean).toBe(25);
    expect(values.original_firstorder_Minimum).toBe(0);
    expect(values.original_firstorder_Maximum).toBe(60);
    // Median: sorted 0 10 30 60, position 1.5 → (10 + 30)/2.
    expect(values.original_firstorder_Median).toBe(20);
  });

  it('GLSZM with 8-connectivity', () => {
    // One slice, so zones are 8-connected in-plane: {bin 1: 2 voxels}, {bin 2: 1}, {bin 3: 1}; N_z = 3.
    // SAE = (1/2² + 1/1² + 1/1²) / 3 = 0.75.
    // SALGLE = (1/(1²·2²) + 1/(2²·1²) + 1/(3²·1²)) / 3 = (1/4 + 1/4 + 1/9) / 3 = 11/54.
    expect(values.original_glszm_SmallAreaEmphasis).toBeCloseTo(0.75, 14);
    expect(values.original_glszm_SmallAreaLowGrayLevelEmphasis).toBeCloseTo(11 / 54, 14);
  });

  it('NGTDM Coarseness', () => {
    // Each voxel has the other three as neighbours.
    // bin 1 at (0,0): neighbours 1, 2, 3 → |1 − 2| = 1; bin 1 at (1,0): the same → s_1 = 2.
    // bin 2: neighbours 1, 1, 3 → |2 − 5/3| = 1/3.  bin 3: neighbours 1, 1, 2 → |3 − 4/3| = 5/3.
    // p = (1/2, 1/4, 1/4): Σ p s = 1 + 1/12 + 5/12 = 3/2, Coarseness = 2/3.
    expect(values.original_ngtdm_Coarseness).toBeCloseTo(2 / 3, 14);
  });

  it('GLRLM RunLengthNonUniformity over 4 in-plane directions', () => {
    // A one-slice box keeps the 4 in-plane directions of the 13.
    // Along i: row j=0 is one run of bin 1 with length 2; row j=1 has runs 2 and 3 of length 1.
    //   Runs by length: 2 of length 1, 1 of length 2 → (2² + 1²)/3 = 5/3.
    // Along j and both diagonals every run has length 1 and there are 4 runs → 4²/4 = 4 each.
    // Mean over directions: (4 + 4 + 4 + 5/3)/4 = 41/12.
    expect(values.original_glrlm_RunLengthNonUniformity).toBeCloseTo(41 / 12, 14);
  });
});

describe('2×2×1 ROI with weighted GLRLM', () => {
  it('manhattan weights merge the directions', () => {
    // Same image as above, spacing 0.5 × 2 × 3 mm. Manhattan lengths of the 4 in-plane directions:
    // (1,1,0) → 2.5, (0,1,0) → 2, (−1,1,0) → 2.5, (1,0,0) → 0.5 mm.
    // Runs of length 1: 2.5·4 + 2·4 + 2.5·4 + 0.5·2 = 29; of length 2: 0.5·1 = 0.5; N_r = 29.5.
    // RunLengthNonUniformity = (29² + 0.5²) / 29.5.
    const grid = makeGrid([2, 2, 1], [0.5, 2, 3]);
    const settings = parseRadiomicsSettings({ weightingNorm: 'manhattan' });
    const values = computeFeatures(
      makeImage(grid, [0, 10, 30, 60]),
      makeMask(grid, [1, 1, 1, 1]),
      ['original_glrlm_RunLengthNonUniformity'],
      settings,
    );
    expect(values.original_glrlm_RunLengthNonUniformity).toBeCloseTo((29 * 29 + 0.25) / 29.5, 12);
  });
});

describe('ROI errors', () => {
  const grid = makeGrid([3, 3, 2]);
  const image = makeImage(
    grid,
    Array.from({ length: 18 }, (_, index) => index * 10),
  );
  const names = ['original_ngtdm_Coarseness'];

  it('empty mask lists no labels', () => {
    const error = thrownBy(() =>
      computeFeatures(
        image,
        makeMask(grid, new Array<number>(18).fill(0)),
        names,
        DEFAULT_RADIOMICS_SETTINGS,
      ),
    );
    expect(error.code).toBe('ERR_MASK_EMPTY');
    expect(error.message).toContain('contains only 0');
  });

  it('missing label lists labels present', () => {
    const voxels = new Array<number>(18).fill(0);
    voxels[4] = 2;
    voxels[5] = 255;
    const error = thrownBy(() =>
      computeFeatures(image, makeMask(grid, voxels), names, DEFAULT_RADIOMICS_SETTINGS),
    );
    expect(error.code).toBe('ERR_MASK_EMPTY');
    expect(error.message).toContain('labels present: 2, 255');
    expect(error.details.labelsPresent).toEqual([2, 255]);
  });

  it('single voxel is rejected', () => {
    const voxels = new Array<number>(18).fill(0);
    voxels[7] = 1;
    const settings = parseRadiomicsSettings({ minimumROIDimensions: 1 });
    const error = thrownBy(() => computeFeatures(image, makeMask(grid, voxels), names, settings));
    expect(error.code).toBe('ERR_ROI_TOO_SMALL');
    expect(error.message).toContain('single voxel');
  });

  it('line ROI needs minimumROIDimensions 1', () => {
    // Three voxels along i span one axis; the default minimumROIDimensions is 2.
    const voxels = new Array<number>(18).fill(0);
    voxels[0] = voxels[1] = voxels[2] = 1;
    const mask = makeMask(grid, voxels);
    expect(thrownBy(() => computeFeatures(image, mask, names, DEFAULT_RADIOMICS_SETTINGS)).code).toBe(
      'ERR_ROI_TOO_SMALL',
    );
    const values = computeFeatures(image, mask, names, parseRadiomicsSettings({ minimumROIDimensions: 1 }));
    expect(values.original_ngtdm_Coarseness).toBeGreaterThan(0);
  });

  it('mask on another grid is rejected', () => {
    const shifted = { ...grid, originMm: [0, 0, 0.01] as const };
    const error = thrownBy(() =>
      computeFeatures(
        image,
        makeMask(shifted, new Array<number>(18).fill(1)),
        names,
        DEFAULT_RADIOMICS_SETTINGS,
      ),
    );
    expect(error.code).toBe('ERR_MASK_GEOMETRY');
    expect(error.details.property).toBe('originMm');
    expect(error.message).toContain('[0, 0, 0.01]');
  });

  it('mask with other dimensions is rejected', () => {
    const smaller = makeGrid([3, 3, 1]);
    const error = thrownBy(() =>
      computeFeatures(
        image,
        makeMask(smaller, new Array<number>(9).fill(1)),
        names,
        DEFAULT_RADIOMICS_SETTINGS,
      ),
    );
    expect(error.code).toBe('ERR_MASK_GEOMETRY');
    expect(error.details.property).toBe('dimensions');
  });

  it('NaN inside the ROI is rejected', () => {
    const voxels = Array.from({ length: 18 }, (_, index) => (index === 3 ? Number.NaN : index));
    const error = thrownBy(() =>
      computeFeatures(
        makeImage(grid, voxels),
        makeMask(grid, new Array<number>(18).fill(1)),
        names,
        DEFAULT_RADIOMICS_SETTINGS,
      ),
    );
    expect(error.code).toBe('ERR_IMAGE_VALUES');
  });

  it('unknown feature name is rejected', () => {
    const error = thrownBy(() =>
      computeFeatures(
        image,
        makeMask(grid, new Array<number>(18).fill(1)),
        ['original_glszm_SmallAreaEmphasis', 'original_glszm_SmallZoneEmphasis'],
        DEFAULT_RADIOMICS_SETTINGS,
      ),
    );
    expect(error.code).toBe('ERR_SETTINGS_INVALID');
    expect(error.message).toContain('original_glszm_SmallZoneEmphasis');
  });

  it('absurd gray-level count is rejected', () => {
    // Range 0..170 HU at binWidth 0.001 would need about 170 000 levels.
    const error = thrownBy(() =>
      computeFeatures(
        image,
        makeMask(grid, new Array<number>(18).fill(1)),
        names,
        parseRadiomicsSettings({ binWidth: 0.001 }),
      ),
    );
    expect(error.code).toBe('ERR_TOO_MANY_GRAY_LEVELS');
    expect(error.message).toContain('limit of 10000');
  });
});
