/** Settings schema, discretisation, angle generation and the feature documentation contract. */

import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { buildOffsets } from '../../src/radiomics/angles.js';
import { discretise } from '../../src/radiomics/discretise.js';
import { symmetricEigenvalues } from '../../src/radiomics/eigen.js';
import { FEATURE_REGISTRY } from '../../src/radiomics/registry.js';
import { extractRoi } from '../../src/radiomics/roi.js';
import {
  DEFAULT_RADIOMICS_SETTINGS,
  parseRadiomicsSettings,
  radiomicsSettingsSchema,
} from '../../src/radiomics/settings.js';
import { makeGrid, makeImage, makeMask } from './support/volumes.js';

describe('radiomics settings', () => {
  it('defaults are pyradiomics code defaults', () => {
    expect(parseRadiomicsSettings({})).toEqual({
      binWidth: 25,
      voxelArrayShift: 0,
      label: 1,
      minimumROIDimensions: 2,
      distances: [1],
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
    expect(DEFAULT_RADIOMICS_SETTINGS.binCount).toBeUndefined();
  });

  it('unknown key is an error', () => {
    expect(radiomicsSettingsSchema.safeParse({ binwidth: 25 }).success).toBe(false);
    try {
      parseRadiomicsSettings({ binwidth: 25 });
      expect.unreachable();
    } catch (error) {
      expect(isNqo1Error(error, 'ERR_SETTINGS_INVALID')).toBe(true);
      expect((error as Error).message).toContain('binwidth');
    }
  });

  it('invalid values are errors', () => {
    expect(() => parseRadiomicsSettings({ binWidth: 0 })).toThrow(/binWidth/);
    expect(() => parseRadiomicsSettings({ label: 0 })).toThrow(/label/);
    expect(() => parseRadiomicsSettings({ distances: [] })).toThrow(/distances/);
    expect(() => parseRadiomicsSettings({ weightingNorm: 'cosine' })).toThrow(/weightingNorm/);
  });

  it('optional keys stay absent unless given', () => {
    const settings = parseRadiomicsSettings({ binCount: 64, voxelArrayShift: 1000 });
    expect(settings.binCount).toBe(64);
    expect(settings.voxelArrayShift).toBe(1000);
    expect('minimumROISize' in settings).toBe(false);
  });
});

describe('discretisation', () => {
  function binsOf(values: number[], settingsInput: object): number[] {
    const grid = makeGrid([values.length, 1, 1]);
    const settings = parseRadiomicsSettings({ minimumROIDimensions: 1, ...settingsInput });
    const roi = extractRoi(
      makeImage(grid, values),
      makeMask(
        grid,
        values.map(() => 1),
      ),
      settings,
    );
    return Array.from(discretise(roi, settings).bins);
  }

  it('fixed bin width counts bins from 0', () => {
    // floor(x/25) = −2 −1 −1 0 0 1, minus floor(−30/25) = −2, plus 1.
    expect(binsOf([-30, -25, -1, 0, 24, 25], {})).toEqual([1, 2, 2, 3, 3, 4]);
    // The minimum 7 sits in [0, 25), so 7 and 24 share bin 1 although IBSI would start at 7.
    expect(binsOf([7, 24, 25, 50], {})).toEqual([1, 1, 2, 3]);
  });

  it('fixed bin count uses histogram edges', () => {
    // Range 0..10 in 4 bins: edges 0, 2.5, 5, 7.5, 11 (last raised by 1), so 10 lands in bin 4.
    expect(binsOf([0, 2.4, 2.5, 7.5, 10], { binCount: 4 })).toEqual([1, 1, 2, 4, 4]);
  });

  it('flat ROI lands in bin 1', () => {
    expect(binsOf([-1000, -1000, -1000], {})).toEqual([1, 1, 1]);
    expect(binsOf([5, 5], { binCount: 8 })).toEqual([5, 5]);
  });
});

describe('angles', () => {
  it('13 unidirectional offsets in pyradiomics order', () => {
    const offsets = buildOffsets([5, 5, 5], [1], {
      bidirectional: false,
      force2D: false,
      force2Ddimension: 0,
    });
    // pyradiomics lists (dk, dj, di); ours are (di, dj, dk).
    const asZyx = offsets.map(([di, dj, dk]) => [dk, dj, di]);
    expect(asZyx).toEqual([
      [1, 1, 1],
      [1, 1, 0],
      [1, 1, -1],
      [1, 0, 1],
      [1, 0, 0],
      [1, 0, -1],
      [1, -1, 1],
      [1, -1, 0],
      [1, -1, -1],
      [0, 1, 1],
      [0, 1, 0],
      [0, 1, -1],
      [0, 0, 1],
    ]);
  });

  it('bounding box limits the offsets', () => {
    const options = { force2D: false, force2Ddimension: 0 };
    expect(buildOffsets([5, 5, 5], [1], { ...options, bidirectional: true })).toHaveLength(26);
    expect(buildOffsets([5, 5, 1], [1], { ...options, bidirectional: true })).toHaveLength(8);
    expect(buildOffsets([5, 5, 1], [1], { ...options, bidirectional: false })).toHaveLength(4);
    expect(buildOffsets([5, 1, 1], [1], { ...options, bidirectional: true })).toHaveLength(2);
    // At distance 2 a box of 2 slices drops dk = ±2 but keeps dk = ±1 (with |di| or |dj| = 2):
    // 5·5·3 offsets with |dk| ≤ 1, minus the 27 of infinity norm below 2.
    const far = buildOffsets([3, 3, 2], [2], { ...options, bidirectional: true });
    expect(far.every(([, , dk]) => Math.abs(dk) < 2)).toBe(true);
    expect(far.some(([, , dk]) => dk === 1)).toBe(true);
    expect(far).toHaveLength(5 * 5 * 3 - 27);
  });

  it('force2D drops offsets along the chosen axis', () => {
    const offsets = buildOffsets([5, 5, 5], [1], { bidirectional: true, force2D: true, force2Ddimension: 0 });
    expect(offsets).toHaveLength(8);
    expect(offsets.every(([, , dk]) => dk === 0)).toBe(true);
    const alongRows = buildOffsets([5, 5, 5], [1], {
      bidirectional: true,
      force2D: true,
      force2Ddimension: 1,
    });
    expect(alongRows.every(([, dj]) => dj === 0)).toBe(true);
  });
});

describe('feature documentation', () => {
  // Every registered feature must be described in a doc comment of its class module that names it.
  const docBlocks = new Map<string, string[]>();
  for (const featureClass of ['firstorder', 'glcm', 'gldm', 'glrlm', 'glszm', 'ngtdm', 'shape']) {
    const source = readFileSync(new URL(`../../src/radiomics/${featureClass}.ts`, import.meta.url), 'utf8');
    docBlocks.set(featureClass, source.match(/\/\*\*[\s\S]*?\*\//g) ?? []);
  }

  it.each([...FEATURE_REGISTRY.values()].map((definition) => [definition.name, definition.featureClass]))(
    '%s has a doc comment',
    (name, featureClass) => {
      const blocks = docBlocks.get(featureClass)!.filter((block) => block.includes(`\`${name}\``));
      expect(blocks).toHaveLength(1);
    },
  );
});

describe('symmetric eigenvalues', () => {
  it('second-difference matrix', () => {
    // The n×n matrix with 2 on the diagonal and −1 beside it has eigenvalues 2 − 2cos(kπ/(n + 1)).
    const n = 12;
    const matrix = new Float64Array(n * n);
    for (let row = 0; row < n; row++) {
      matrix[row * n + row] = 2;
      if (row > 0) matrix[row * n + row - 1] = matrix[(row - 1) * n + row] = -1;
    }
    const expected = Array.from({ length: n }, (_, k) => 2 - 2 * Math.cos(((k + 1) * Math.PI) / (n + 1)));
    const actual = symmetricEigenvalues(matrix, n);
    expected.forEach((value, k) => {
      expect(Math.abs(actual[k]! - value)).toBeLessThan(1e-13);
    });
  });

  it('rotated diagonal matrix', () => {
    // R·diag(3, −1, 0.5)·Rᵀ with a rotation about z by 30°; eigenvalues are invariant.
    const c = Math.cos(Math.PI / 6),
      s = Math.sin(Math.PI / 6);
    const rotation = [c, -s, 0, s, c, 0, 0, 0, 1];
    const diagonal = [3, -1, 0.5];
    const matrix = new Float64Array(9);
    for (let row = 0; row < 3; row++) {
      for (let column = 0; column < 3; column++) {
        let sum = 0;
        for (let k = 0; k < 3; k++) sum += rotation[row * 3 + k]! * diagonal[k]! * rotation[column * 3 + k]!;
        matrix[row * 3 + column] = sum;
      }
    }
    const actual = Array.from(symmetricEigenvalues(matrix, 3));
    [-1, 0.5, 3].forEach((value, k) => {
      expect(Math.abs(actual[k]! - value)).toBeLessThan(1e-14);
    });
  });

  it('empty and single matrices', () => {
    expect(symmetricEigenvalues(new Float64Array(0), 0)).toHaveLength(0);
    expect(Array.from(symmetricEigenvalues(Float64Array.of(-4.5), 1))).toEqual([-4.5]);
  });
});
