/**
 * Golden comparison with the pyradiomics baselines (data/baseline in AIM-Harvard/pyradiomics).
 *
 * Every registered feature is compared with every baseline column of brain1 and brain2 whose
 * configuration the engine models. These are the default columns (binWidth 25, voxelArrayShift 2000,
 * minimumROIDimensions 1), `2d` (force2D) and `FBN` (binCount 64). The `flatRegion` columns use
 * binWidth 5000, so every voxel lands in bin 1 and every guard value fires. Settings are read per column from
 * baseline_configurations.json, never assumed. The flatRegion columns also set resegmentRange [0].
 * It keeps voxels ≥ 0, and the brain ROIs have no negative voxel, so this test checks that and then
 * treats the range as a no-op. configurations.test.ts runs every column with resegmentation applied.
 *
 * Gate: relative error ≤ 1e-9, with an absolute floor of 1e-12 for values near 0. pyradiomics' own
 * tests allow 3%.
 */

import { describe, expect, it } from 'vitest';

import { computeFeatures } from '../../src/radiomics/extract.js';
import { FEATURE_REGISTRY } from '../../src/radiomics/registry.js';
import { extractRoi } from '../../src/radiomics/roi.js';
import { columnSettings, loadCase, parseCNumber, readBaseline } from './support/baseline.js';

const RELATIVE_TOLERANCE = 1e-9;
const ABSOLUTE_FLOOR = 1e-12;
const CASES = ['brain1', 'brain2'] as const;
const CLASSES = ['firstorder', 'glcm', 'gldm', 'glrlm', 'glszm', 'ngtdm'] as const;
const SUFFIXES = ['', '_2d', '_FBN', '_flatRegion', '_combined'] as const;

function relativeError(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.max(Math.abs(expected), ABSOLUTE_FLOOR);
}

describe('pyradiomics baseline', () => {
  it('default columns use voxelArrayShift 2000 and minimumROIDimensions 1', () => {
    const { settings } = columnSettings('brain1', 'firstorder');
    expect(settings.voxelArrayShift).toBe(2000);
    expect(settings.minimumROIDimensions).toBe(1);
    expect(settings.binWidth).toBe(25);
  });

  for (const caseName of CASES) {
    const { image, mask } = loadCase(caseName);

    for (const featureClass of CLASSES) {
      const table = readBaseline(featureClass);
      const baselineNames = [...table.keys()].filter((name) => name.startsWith(`original_${featureClass}_`));
      const columns = table.get('diagnostics_Configuration_TestCase')!;

      it(`${caseName} ${featureClass}: every baseline feature is registered`, () => {
        const registered = [...FEATURE_REGISTRY.keys()].filter((name) => name.includes(`_${featureClass}_`));
        expect(registered.sort()).toEqual([...baselineNames].sort());
      });

      for (const suffix of SUFFIXES) {
        const column = `${caseName}${suffix}`;
        if (!columns.has(column)) continue;

        it(`${column} ${featureClass} matches within ${RELATIVE_TOLERANCE}`, () => {
          const { settings, unmodelled } = columnSettings(column, featureClass);
          if (suffix === '_flatRegion') {
            expect(unmodelled).toEqual({ resegmentRange: [0] });
            expect(extractRoi(image, mask, settings).roiIntensities.every((value) => value >= 0)).toBe(true);
          } else {
            expect(unmodelled).toEqual({});
          }

          const values = computeFeatures(image, mask, baselineNames, settings);
          for (const name of baselineNames) {
            const expected = parseCNumber(table.get(name)!.get(column)!);
            const actual = values[name]!;
            expect(
              relativeError(actual, expected),
              `${column} ${name}: ${actual} vs ${expected}`,
            ).toBeLessThanOrEqual(RELATIVE_TOLERANCE);
          }
        });
      }
    }
  }

  it('BR-RO features on brain1 default column', () => {
    // The six BR-RO inputs use these four pyradiomics features; checked one by one for a clear failure.
    const { image, mask } = loadCase('brain1');
    const names = [
      'original_firstorder_TotalEnergy',
      'original_glszm_SmallAreaEmphasis',
      'original_glszm_SmallAreaLowGrayLevelEmphasis',
      'original_ngtdm_Coarseness',
      'original_glrlm_RunLengthNonUniformity',
    ];
    const values = computeFeatures(image, mask, names, columnSettings('brain1', 'firstorder').settings);
    for (const name of names) {
      const featureClass = name.split('_')[1]!;
      const expected = parseCNumber(readBaseline(featureClass).get(name)!.get('brain1')!);
      expect(relativeError(values[name]!, expected)).toBeLessThanOrEqual(RELATIVE_TOLERANCE);
    }
  });
});
