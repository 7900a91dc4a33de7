/**
 * Degenerate regions of interest: a single voxel, a single slice, a flat region, a mask covering the
 * whole image, disconnected components, and a bin width that would give far too many gray levels.
 * Expected values are derived by hand in the comments. Closed-form values are compared to 1e-12
 * relative; guard values (0, 1, 1e6) must be exact.
 */

import { describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import type { Vec3 } from '../../src/imaging/volume.js';
import { maskDiagnostics } from '../../src/radiomics/diagnostics.js';
import { MAX_GRAY_LEVELS } from '../../src/radiomics/discretise.js';
import { computeFeatures } from '../../src/radiomics/extract.js';
import { FEATURE_REGISTRY } from '../../src/radiomics/registry.js';
import { extractRoi } from '../../src/radiomics/roi.js';
import { MAX_MATRIX_CELLS } from '../../src/radiomics/texture.js';
import { parseRadiomicsSettings, type RadiomicsSettingsInput } from '../../src/radiomics/settings.js';
import { configurationSettings, loadCase, parseCNumber, readBaseline } from './support/baseline.js';
import { makeGrid, makeImage, makeMask } from './support/volumes.js';

const RELATIVE = 1e-12;
const EPSILON = 2.220446049250313e-16;
/**
 * Entropy of a single-bin distribution, −log2(1 + ε), as NumPy's log2 rounds it and the flatRegion
 * baseline prints it. V8's Math.log2 returns the neighbouring double, −3.203426503814917e-16.
 */
const SINGLE_BIN_ENTROPY = -3.203426503814918e-16;
const ALL_FEATURES = [...FEATURE_REGISTRY.keys()];
const TEXTURE_CLASSES = ['glcm', 'gldm', 'glrlm', 'glszm', 'ngtdm'] as const;

/** Returns the Nqo1Error that `action` throws. */
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

/** Asserts |actual − expected| ≤ 1e-12·|expected| (or 1e-12 near 0). */
function expectClose(actual: number | undefined, expected: number, label: string): void {
  expect(Math.abs(actual! - expected), `${label}: ${actual} vs ${expected}`).toBeLessThanOrEqual(
    RELATIVE * Math.max(Math.abs(expected), 1),
  );
}

/** Builds an image and mask of `dimensions` from a function of the voxel index (undefined = outside). */
function volume(
  dimensions: Vec3,
  valueAt: (i: number, j: number, k: number) => number | undefined,
  spacing?: Vec3,
) {
  const grid = makeGrid(dimensions, spacing);
  const values: number[] = [];
  const labels: number[] = [];
  for (let k = 0; k < dimensions[2]; k++) {
    for (let j = 0; j < dimensions[1]; j++) {
      for (let i = 0; i < dimensions[0]; i++) {
        const value = valueAt(i, j, k);
        values.push(value ?? 0);
        labels.push(value === undefined ? 0 : 1);
      }
    }
  }
  return { image: makeImage(grid, values), mask: makeMask(grid, labels) };
}

function settings(input: RadiomicsSettingsInput = {}) {
  return parseRadiomicsSettings(input);
}

describe('single voxel', () => {
  const { image, mask } = volume([3, 3, 3], (i, j, k) => (i === 1 && j === 2 && k === 0 ? 50 : undefined));

  for (const minimumROIDimensions of [1, 2, 3]) {
    it(`rejected at minimumROIDimensions ${minimumROIDimensions}`, () => {
      const error = thrownBy(() =>
        computeFeatures(image, mask, ALL_FEATURES, settings({ minimumROIDimensions })),
      );
      expect(error.code).toBe('ERR_ROI_TOO_SMALL');
      expect(error.message).toContain('single voxel');
      expect(error.details).toMatchObject({ voxelCount: 1, spannedAxes: 0 });
    });
  }

  it('a one-voxel-thick line: rejected at the default minimumROIDimensions 2', () => {
    const line = volume([4, 3, 3], (i, j, k) => (j === 1 && k === 1 ? i : undefined));
    const error = thrownBy(() => computeFeatures(line.image, line.mask, ALL_FEATURES, settings()));
    expect(error.code).toBe('ERR_ROI_TOO_SMALL');
    expect(error.message).toContain('minimumROIDimensions is 2');
    expect(error.details).toMatchObject({ voxelCount: 4, spannedAxes: 1, minimumROIDimensions: 2 });
  });

  it('a single slice: rejected at minimumROIDimensions 3', () => {
    const slice = volume([2, 2, 3], (i, j, k) => (k === 1 ? i + j : undefined));
    const error = thrownBy(() =>
      computeFeatures(slice.image, slice.mask, ALL_FEATURES, settings({ minimumROIDimensions: 3 })),
    );
    expect(error.code).toBe('ERR_ROI_TOO_SMALL');
    expect(error.details).toMatchObject({ spannedAxes: 2, minimumROIDimensions: 3 });
  });
});

describe('single slice: 2×2 checker in a 3-D image', () => {
  // Slice k = 1 of a 2×2×3 image contains 1 2 / 2 1 (i across, j down); binWidth 1 puts value v in bin v.
  // The bounding box is one slice thick, so only the 4 in-plane directions and 8-connectivity remain.
  const checker = [
    [1, 2],
    [2, 1],
  ];
  const { image, mask } = volume(
    [2, 2, 3],
    (i, j, k) => (k === 1 ? checker[j]![i] : undefined),
    [0.5, 0.5, 3],
  );
  const values = computeFeatures(image, mask, ALL_FEATURES, settings({ binWidth: 1 }));

  it('computes every feature', () => {
    expect(ALL_FEATURES.filter((name) => !Number.isFinite(values[name]))).toEqual([]);
  });

  it('first order: mean 1.5, variance 0.25, entropy 1', () => {
    expect(values['original_firstorder_Mean']).toBe(1.5);
    expect(values['original_firstorder_Variance']).toBe(0.25);
    expectClose(values['original_firstorder_Entropy'], 1, 'Entropy');
    expect(values['original_firstorder_Uniformity']).toBe(0.5);
  });

  it('GLCM contrast 0.5 averaged over 4 directions', () => {
    // Along i and along j every pair is (1, 2) or (2, 1): p = ½ off the diagonal, contrast 1, energy ½.
    // The diagonal (1,1)-(1,1) and the anti-diagonal (2,2)-(2,2) give a single cell: contrast 0, energy 1.
    expectClose(values['original_glcm_Contrast'], (1 + 1 + 0 + 0) / 4, 'Contrast');
    expectClose(values['original_glcm_JointEnergy'], (0.5 + 0.5 + 1 + 1) / 4, 'JointEnergy');
    expectClose(values['original_glcm_JointAverage'], 1.5, 'JointAverage');
  });

  it('GLCM merged: contrast 2/3', () => {
    // Summed symmetric counts: 4 at (1,2), 4 at (2,1), 2 at (1,1), 2 at (2,2); contrast 8/12.
    const merged = computeFeatures(
      image,
      mask,
      ['original_glcm_Contrast'],
      settings({ binWidth: 1, weightingNorm: 'no_weighting' }),
    );
    expectClose(merged['original_glcm_Contrast'], 2 / 3, 'merged Contrast');
  });

  it('GLRLM: short-run emphasis and run percentage 0.875', () => {
    // Along i and j: 4 runs of length 1 (SRE 1, 4 of 4 voxels). Each diagonal: one run of 2 and two
    // runs of 1, so SRE (¼ + 2)/3 = 0.75 and run percentage 3/4.
    expectClose(values['original_glrlm_ShortRunEmphasis'], (1 + 1 + 0.75 + 0.75) / 4, 'ShortRunEmphasis');
    expectClose(values['original_glrlm_RunPercentage'], (1 + 1 + 0.75 + 0.75) / 4, 'RunPercentage');
  });

  it('GLSZM: two diagonal zones of 2 under 8-connectivity', () => {
    expect(values['original_glszm_ZonePercentage']).toBe(0.5);
    expect(values['original_glszm_SmallAreaEmphasis']).toBe(0.25);
    expect(values['original_glszm_LargeAreaEmphasis']).toBe(4);
  });

  it('NGTDM coarseness 0.75 and GLDM dependences of 1', () => {
    // Each voxel has 3 neighbours in the slice. A bin-1 voxel has neighbours 2, 2, 1: |1 − 5/3| = 2/3; a bin-2
    // voxel has 1, 1, 2: |2 − 4/3| = 2/3. s_1 = s_2 = 4/3, p = ½ each, Coarseness = 1/(4/3).
    expectClose(values['original_ngtdm_Coarseness'], 0.75, 'Coarseness');
    // Each voxel has exactly one equal neighbour (its diagonal partner): dependence 1, column j = 2.
    expect(values['original_gldm_SmallDependenceEmphasis']).toBe(0.25);
    expect(values['original_gldm_LargeDependenceEmphasis']).toBe(4);
  });

  it('shape: voxel volume and zero least axis', () => {
    expect(values['original_shape_VoxelVolume']).toBe(4 * 0.5 * 0.5 * 3);
    expect(values['original_shape_LeastAxisLength']).toBe(0);
    expect(values['original_shape_Flatness']).toBe(0);
  });
});

describe('flat region', () => {
  describe('pyradiomics flatRegion columns', () => {
    // binWidth 5000 puts every ROI voxel in bin 1. Features that depend only on there being one gray
    // level are guard values, so they must be exact. The others (runs, zones, dependences) are compared
    // to 1e-12 relative. A feature weighted by 1/i² or i² equals its unweighted form when i = 1.
    const singleLevelFeatures = new Set([
      ...[...FEATURE_REGISTRY.keys()].filter(
        (name) => name.startsWith('original_glcm_') || name.startsWith('original_ngtdm_'),
      ),
      'original_gldm_GrayLevelVariance',
      'original_gldm_HighGrayLevelEmphasis',
      'original_gldm_LowGrayLevelEmphasis',
      'original_glrlm_GrayLevelVariance',
      'original_glrlm_HighGrayLevelRunEmphasis',
      'original_glrlm_LowGrayLevelRunEmphasis',
      'original_glrlm_GrayLevelNonUniformityNormalized',
      'original_glszm_GrayLevelVariance',
      'original_glszm_HighGrayLevelZoneEmphasis',
      'original_glszm_LowGrayLevelZoneEmphasis',
      'original_glszm_GrayLevelNonUniformityNormalized',
    ]);
    const sameWhenLevelIsOne: [string, string][] = [
      ['original_gldm_SmallDependenceLowGrayLevelEmphasis', 'original_gldm_SmallDependenceEmphasis'],
      ['original_gldm_SmallDependenceHighGrayLevelEmphasis', 'original_gldm_SmallDependenceEmphasis'],
      ['original_gldm_LargeDependenceLowGrayLevelEmphasis', 'original_gldm_LargeDependenceEmphasis'],
      ['original_gldm_LargeDependenceHighGrayLevelEmphasis', 'original_gldm_LargeDependenceEmphasis'],
      ['original_glrlm_ShortRunLowGrayLevelEmphasis', 'original_glrlm_ShortRunEmphasis'],
      ['original_glrlm_ShortRunHighGrayLevelEmphasis', 'original_glrlm_ShortRunEmphasis'],
      ['original_glrlm_LongRunLowGrayLevelEmphasis', 'original_glrlm_LongRunEmphasis'],
      ['original_glrlm_LongRunHighGrayLevelEmphasis', 'original_glrlm_LongRunEmphasis'],
      ['original_glszm_SmallAreaLowGrayLevelEmphasis', 'original_glszm_SmallAreaEmphasis'],
      ['original_glszm_SmallAreaHighGrayLevelEmphasis', 'original_glszm_SmallAreaEmphasis'],
      ['original_glszm_LargeAreaLowGrayLevelEmphasis', 'original_glszm_LargeAreaEmphasis'],
      ['original_glszm_LargeAreaHighGrayLevelEmphasis', 'original_glszm_LargeAreaEmphasis'],
    ];

    for (const caseName of ['brain1', 'brain2'] as const) {
      it(`${caseName}_flatRegion: every texture feature`, () => {
        const { image, mask } = loadCase(caseName);
        const column = `${caseName}_flatRegion`;
        let exactCount = 0;
        for (const featureClass of TEXTURE_CLASSES) {
          const table = readBaseline(featureClass);
          const names = [...table.keys()].filter((name) => name.startsWith(`original_${featureClass}_`));
          const values = computeFeatures(
            image,
            mask,
            names,
            configurationSettings('flatRegion', featureClass)!,
          );
          for (const name of names) {
            const expected = parseCNumber(table.get(name)!.get(column)!);
            if (singleLevelFeatures.has(name)) {
              expect(values[name], `${column} ${name}`).toBe(expected);
              exactCount++;
            } else expectClose(values[name], expected, `${column} ${name}`);
          }
          for (const [weighted, plain] of sameWhenLevelIsOne) {
            if (names.includes(weighted)) expect(values[weighted], weighted).toBe(values[plain]);
          }
        }
        expect(exactCount).toBe(24 + 5 + 3 + 4 + 4);
      });
    }
  });

  describe('hand-built 3×2×2 box of 100 HU', () => {
    // binWidth 25 puts all 12 voxels in bin 1 (floor(100/25) − floor(100/25) + 1).
    const { image, mask } = volume([5, 4, 4], (i, j, k) =>
      i >= 1 && i <= 3 && j >= 1 && j <= 2 && k >= 1 && k <= 2 ? 100 : undefined,
    );
    const values = computeFeatures(image, mask, ALL_FEATURES, settings());

    it('GLCM: one cell p(1,1) = 1 in every direction', () => {
      const expected: Record<string, number> = {
        Autocorrelation: 1,
        ClusterProminence: 0,
        ClusterShade: 0,
        ClusterTendency: 0,
        Contrast: 0,
        Correlation: 1,
        DifferenceAverage: 0,
        DifferenceEntropy: SINGLE_BIN_ENTROPY,
        DifferenceVariance: 0,
        Id: 1,
        Idm: 1,
        Idmn: 1,
        Idn: 1,
        Imc1: 0,
        Imc2: 0,
        InverseVariance: 0,
        JointAverage: 1,
        JointEnergy: 1,
        JointEntropy: SINGLE_BIN_ENTROPY,
        MCC: 1,
        MaximumProbability: 1,
        SumAverage: 2,
        SumEntropy: SINGLE_BIN_ENTROPY,
        SumSquares: 0,
      };
      expect(Object.keys(expected).length).toBe(24);
      for (const [feature, value] of Object.entries(expected)) {
        expect(values[`original_glcm_${feature}`], feature).toBe(value);
      }
    });

    it('NGTDM: coarseness 1e6, the rest 0', () => {
      expect(values['original_ngtdm_Coarseness']).toBe(1e6);
      for (const feature of ['Busyness', 'Complexity', 'Contrast', 'Strength']) {
        expect(values[`original_ngtdm_${feature}`], feature).toBe(0);
      }
    });

    it('GLSZM: one zone of 12 voxels', () => {
      const expected: Record<string, number> = {
        GrayLevelNonUniformity: 1,
        GrayLevelNonUniformityNormalized: 1,
        GrayLevelVariance: 0,
        HighGrayLevelZoneEmphasis: 1,
        LargeAreaEmphasis: 144,
        LargeAreaHighGrayLevelEmphasis: 144,
        LargeAreaLowGrayLevelEmphasis: 144,
        LowGrayLevelZoneEmphasis: 1,
        SizeZoneNonUniformity: 1,
        SizeZoneNonUniformityNormalized: 1,
        SmallAreaEmphasis: 1 / 144,
        SmallAreaHighGrayLevelEmphasis: 1 / 144,
        SmallAreaLowGrayLevelEmphasis: 1 / 144,
        ZoneEntropy: SINGLE_BIN_ENTROPY,
        ZonePercentage: 1 / 12,
        ZoneVariance: 0,
      };
      expect(Object.keys(expected).length).toBe(16);
      for (const [feature, value] of Object.entries(expected)) {
        expectClose(values[`original_glszm_${feature}`], value, feature);
      }
    });

    it('GLDM: 8 end voxels with 7 neighbours, 4 middle voxels with 11', () => {
      // Column j = dependence + 1: 8 voxels at j = 8, 4 voxels at j = 12, Nz = 12.
      // Dependence mean (8·8 + 4·12)/12 = 28/3, variance ⅔(8 − 28/3)² + ⅓(12 − 28/3)² = 32/9.
      const sde = (8 / 64 + 4 / 144) / 12;
      const lde = (8 * 64 + 4 * 144) / 12;
      const expected: Record<string, number> = {
        DependenceEntropy: -(2 / 3) * Math.log2(2 / 3 + EPSILON) - (1 / 3) * Math.log2(1 / 3 + EPSILON),
        DependenceNonUniformity: (64 + 16) / 12,
        DependenceNonUniformityNormalized: (64 + 16) / 144,
        DependenceVariance: 32 / 9,
        GrayLevelNonUniformity: 12,
        GrayLevelVariance: 0,
        HighGrayLevelEmphasis: 1,
        LargeDependenceEmphasis: lde,
        LargeDependenceHighGrayLevelEmphasis: lde,
        LargeDependenceLowGrayLevelEmphasis: lde,
        LowGrayLevelEmphasis: 1,
        SmallDependenceEmphasis: sde,
        SmallDependenceHighGrayLevelEmphasis: sde,
        SmallDependenceLowGrayLevelEmphasis: sde,
      };
      expect(Object.keys(expected).length).toBe(14);
      for (const [feature, value] of Object.entries(expected)) {
        expectClose(values[`original_gldm_${feature}`], value, feature);
      }
    });

    it('GLRLM: runs along the 13 directions of a 3×2×2 box', () => {
      // Runs per direction as (length, count) pairs, 12 voxels in each direction:
      // along i (3, 4); along j (2, 6); along k (2, 6).
      // The 4 diagonals in the i–j and i–k planes: (2, 4) and (1, 4).
      // The 2 diagonals in the j–k plane: (2, 3) and (1, 6). The 4 space diagonals: (2, 2) and (1, 8).
      const directions = [
        [[3, 4]],
        [[2, 6]],
        [[2, 6]],
        ...Array<number[][]>(4).fill([
          [2, 4],
          [1, 4],
        ]),
        ...Array<number[][]>(2).fill([
          [2, 3],
          [1, 6],
        ]),
        ...Array<number[][]>(4).fill([
          [2, 2],
          [1, 8],
        ]),
      ];
      expect(directions.length).toBe(13);

      const mean = (feature: (runs: number[][], runCount: number) => number): number =>
        directions.reduce((sum, runs) => {
          const runCount = runs.reduce((count, [, n]) => count + n!, 0);
          return sum + feature(runs, runCount);
        }, 0) / directions.length;
      const sum = (runs: number[][], term: (length: number, n: number) => number): number =>
        runs.reduce((total, [length, n]) => total + term(length!, n!), 0);

      const sre = mean((runs, nr) => sum(runs, (length, n) => n / length ** 2) / nr);
      const lre = mean((runs, nr) => sum(runs, (length, n) => n * length ** 2) / nr);
      const expected: Record<string, number> = {
        GrayLevelNonUniformity: mean((_, nr) => nr),
        GrayLevelNonUniformityNormalized: 1,
        GrayLevelVariance: 0,
        HighGrayLevelRunEmphasis: 1,
        LongRunEmphasis: lre,
        LongRunHighGrayLevelEmphasis: lre,
        LongRunLowGrayLevelEmphasis: lre,
        LowGrayLevelRunEmphasis: 1,
        RunEntropy: mean((runs, nr) => -sum(runs, (_, n) => (n / nr) * Math.log2(n / nr + EPSILON))),
        RunLengthNonUniformity: mean((runs, nr) => sum(runs, (_, n) => n ** 2) / nr),
        RunLengthNonUniformityNormalized: mean((runs, nr) => sum(runs, (_, n) => n ** 2) / nr ** 2),
        RunPercentage: mean((_, nr) => nr / 12),
        RunVariance: mean((runs, nr) => {
          const average = sum(runs, (length, n) => (length * n) / nr);
          return sum(runs, (length, n) => (n / nr) * (length - average) ** 2);
        }),
        ShortRunEmphasis: sre,
        ShortRunHighGrayLevelEmphasis: sre,
        ShortRunLowGrayLevelEmphasis: sre,
      };
      // Spot values worked out by hand: SRE = (1/9 + 2·¼ + 4·⅝ + 2·¾ + 4·0.85)/13, RP = 106/156.
      expectClose(sre, (1 / 9 + 0.5 + 2.5 + 1.5 + 3.4) / 13, 'hand SRE');
      expectClose(expected['RunPercentage'], 106 / 156, 'hand RunPercentage');
      expect(Object.keys(expected).length).toBe(16);
      for (const [feature, value] of Object.entries(expected)) {
        expectClose(values[`original_glrlm_${feature}`], value, feature);
      }
    });
  });
});

describe('mask covering the whole image', () => {
  // Values 0..23 in a 4×3×2 image, every voxel in the ROI.
  const { image, mask } = volume([4, 3, 2], (i, j, k) => i + 4 * j + 12 * k, [1, 2, 3]);

  it('bounding box equals the image', () => {
    const roi = extractRoi(image, mask, settings());
    expect(roi.lower).toEqual([0, 0, 0]);
    expect(roi.size).toEqual([4, 3, 2]);
    expect(maskDiagnostics(mask, 1).boundingBox).toEqual([0, 0, 0, 4, 3, 2]);
  });

  it('every feature is computed', () => {
    const values = computeFeatures(image, mask, ALL_FEATURES, settings({ binWidth: 4 }));
    expect(ALL_FEATURES.filter((name) => !Number.isFinite(values[name]))).toEqual([]);
    expect(values['original_firstorder_Mean']).toBe(11.5);
    expect(values['original_shape_VoxelVolume']).toBe(24 * 6);
    // Bins floor(v/4) + 1 = 1..6, four voxels each: uniformity 6 · (1/6)².
    expectClose(values['original_firstorder_Uniformity'], 1 / 6, 'Uniformity');
  });

  it('preCrop and resampling pad past the image edge', () => {
    // The padded box would extend beyond the grid; cropping clips it, so nothing is lost.
    const plain = computeFeatures(image, mask, ['original_firstorder_Mean'], settings());
    const cropped = computeFeatures(image, mask, ['original_firstorder_Mean'], settings({ preCrop: true }));
    expect(cropped).toEqual(plain);

    const resampled = computeFeatures(
      image,
      mask,
      ['original_shape_VoxelVolume', 'original_firstorder_Maximum'],
      settings({ resampledPixelSpacing: [1, 2, 3], interpolator: 'sitkLinear' }),
    );
    // Same spacing: the grid and the ROI are unchanged.
    expect(resampled['original_shape_VoxelVolume']).toBe(24 * 6);
    expectClose(resampled['original_firstorder_Maximum'], 23, 'Maximum');
  });
});

describe('disconnected components', () => {
  // Blob A: voxels (0,0,0) and (1,0,0); blob B: voxel (4,2,1). They are 3 voxels apart along i, so
  // not 26-connected. The bounding box is 5×3×2.
  const blobs = (a0: number, a1: number, b: number) =>
    volume([5, 3, 2], (i, j, k) => {
      if (j === 0 && k === 0 && i <= 1) return i === 0 ? a0 : a1;
      if (i === 4 && j === 2 && k === 1) return b;
      return undefined;
    });

  it('same level: GLSZM counts 2 zones (sizes 2 and 1)', () => {
    const { image, mask } = blobs(10, 10, 10);
    expect(maskDiagnostics(mask, 1).volumeNum).toBe(2);
    const values = computeFeatures(image, mask, ALL_FEATURES, settings());
    // Nz = 2 of Np = 3 voxels; SAE = (1/2² + 1/1²)/2; LAE = (2² + 1²)/2; GLN = 2²/2.
    expectClose(values['original_glszm_ZonePercentage'], 2 / 3, 'ZonePercentage');
    expectClose(values['original_glszm_SmallAreaEmphasis'], 0.625, 'SmallAreaEmphasis');
    expect(values['original_glszm_LargeAreaEmphasis']).toBe(2.5);
    expect(values['original_glszm_GrayLevelNonUniformity']).toBe(2);
    expect(values['original_glszm_SizeZoneNonUniformity']).toBe(1);
  });

  it('Maximum3DDiameter spans both blobs', () => {
    // Farthest mesh vertices: A's face centre (−0.5, 0, 0) and B's (4.5, 2, 1): √(5² + 2² + 1²).
    const { image, mask } = blobs(10, 10, 10);
    const values = computeFeatures(image, mask, ['original_shape_Maximum3DDiameter'], settings());
    expectClose(values['original_shape_Maximum3DDiameter'], Math.sqrt(30), 'Maximum3DDiameter');
  });

  it('NGTDM counts the neighbourless voxel in n_i, not in s_i', () => {
    // binWidth 10: A = bins 1, 2; B = bin 2 with no ROI neighbour. s_1 = |1 − 2| = 1, s_2 = |2 − 1| + 0 = 1.
    // n = (1, 2), Nvp = 3, p = (⅓, ⅔). Contrast = [Σ p_i p_j (i − j)² / (Ngp(Ngp − 1))]·[Σ s_i / Nvp]
    // = (2·⅓·⅔ / 2)·(2/3) = 4/27. Leaving B out would give p = (½, ½) and 1/4.
    const { image, mask } = blobs(10, 20, 20);
    const values = computeFeatures(
      image,
      mask,
      ['original_ngtdm_Contrast', 'original_ngtdm_Coarseness'],
      settings({ binWidth: 10 }),
    );
    expectClose(values['original_ngtdm_Contrast'], 4 / 27, 'Contrast');
    expectClose(values['original_ngtdm_Coarseness'], 1, 'Coarseness');
  });
});

describe('too many gray levels', () => {
  // A 2×2×1 ROI with values 0, 1e9, 5e8, 1: binWidth 0.001 would need 10^12 levels.
  const { image, mask } = volume([2, 2, 1], (i, j) => [0, 1e9, 5e8, 1][i + 2 * j]);

  it('binWidth: throws within 100 ms, naming the count and the limit', () => {
    const started = performance.now();
    const error = thrownBy(() => computeFeatures(image, mask, ALL_FEATURES, settings({ binWidth: 0.001 })));
    const elapsedMs = performance.now() - started;

    expect(error.code).toBe('ERR_TOO_MANY_GRAY_LEVELS');
    expect(elapsedMs).toBeLessThan(100);
    const levels = error.details['levels'] as number;
    expect(levels).toBeGreaterThan(0.99e12);
    expect(levels).toBeLessThan(1.01e12);
    expect(error.message).toContain(`about ${levels} gray levels`);
    expect(error.message).toContain(`limit of ${MAX_GRAY_LEVELS}`);
    expect(error.details['limit']).toBe(MAX_GRAY_LEVELS);
  });

  it('binCount above the limit: throws naming both', () => {
    const error = thrownBy(() => computeFeatures(image, mask, ALL_FEATURES, settings({ binCount: 20_000 })));
    expect(error.code).toBe('ERR_TOO_MANY_GRAY_LEVELS');
    expect(error.message).toContain('binCount 20000');
    expect(error.message).toContain(`limit of ${MAX_GRAY_LEVELS}`);
  });

  it('GLCM over the cell limit: throws before allocating, first order still works', () => {
    // 21×10×10 voxels with the distinct values 0..2099 at binWidth 1: 2100 occupied levels, within the
    // level limit, but the GLCM would need 2100² × 13 directions = 57 330 000 cells.
    const many = volume([21, 10, 10], (i, j, k) => i + 21 * (j + 10 * k));
    const started = performance.now();
    const error = thrownBy(() =>
      computeFeatures(many.image, many.mask, ['original_glcm_Contrast'], settings({ binWidth: 1 })),
    );
    expect(performance.now() - started).toBeLessThan(500);
    expect(error.code).toBe('ERR_TOO_MANY_GRAY_LEVELS');
    expect(error.message).toContain('57330000 cells');
    expect(error.message).toContain(`limit of ${MAX_MATRIX_CELLS}`);

    const firstOrder = computeFeatures(
      many.image,
      many.mask,
      ['original_firstorder_Range'],
      settings({ binWidth: 1 }),
    );
    expect(firstOrder['original_firstorder_Range']).toBe(2099);
  });

  it('exactly the limit is accepted, one more is rejected', () => {
    // Integer values 0..M at binWidth 1 give M + 1 levels.
    const withMaximum = (maximum: number) => volume([2, 2, 1], (i, j) => [0, maximum, 1, 2][i + 2 * j]);
    const atLimit = withMaximum(MAX_GRAY_LEVELS - 1);
    const values = computeFeatures(
      atLimit.image,
      atLimit.mask,
      ['original_glcm_Idmn', 'original_glszm_ZonePercentage', 'original_firstorder_Range'],
      settings({ binWidth: 1 }),
    );
    expect(values['original_firstorder_Range']).toBe(MAX_GRAY_LEVELS - 1);
    expect(values['original_glszm_ZonePercentage']).toBe(1);

    const over = withMaximum(MAX_GRAY_LEVELS);
    const error = thrownBy(() =>
      computeFeatures(over.image, over.mask, ['original_glcm_Idmn'], settings({ binWidth: 1 })),
    );
    expect(error.code).toBe('ERR_TOO_MANY_GRAY_LEVELS');
    expect(error.details['levels']).toBe(MAX_GRAY_LEVELS + 1);
  });
});
