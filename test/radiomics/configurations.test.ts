/**
 * Every pyradiomics baseline configuration of brain1 and brain2, with the settings of each column read
 * from baseline_configurations.json and passed through the engine's own settings parser.
 *
 * Gate: relative error ≤ 1e-9 with an absolute floor of 1e-12 near 0. MCC comes from eigenvalues, so
 * its gate is 1e-7. The flat-region guard values must be exact. For the `resampling` columns (B-spline to
 * 2 mm) the resampled grid, the nearest-neighbour mask and the interpolated intensity statistics are
 * also checked against the interpolated-image diagnostics of baseline_shape.csv.
 */

import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { computeFeatures } from '../../src/radiomics/extract.js';
import { labelBoundingBox } from '../../src/radiomics/crop.js';
import { resampleToSpacing } from '../../src/radiomics/resample.js';
import { parseRadiomicsSettings, type RadiomicsSettings } from '../../src/radiomics/settings.js';
import { BASELINE_DIR, loadCase, parseCNumber, readBaseline } from './support/baseline.js';

const RELATIVE_TOLERANCE = 1e-9;
const MCC_TOLERANCE = 1e-7;
const ABSOLUTE_FLOOR = 1e-12;
const CASES = ['brain1', 'brain2'] as const;
const CLASSES = ['firstorder', 'glcm', 'gldm', 'glrlm', 'glszm', 'ngtdm'] as const;
const MATCHED = [
  'default',
  '2d',
  'FBN',
  'combined',
  'flatRegion',
  'resegmentation',
  'normalization',
] as const;

interface ConfigurationEntry {
  readonly classes: readonly string[];
  readonly settings: Readonly<Record<string, unknown>>;
}

const configurations = (
  JSON.parse(readFileSync(new URL('baseline_configurations.json', BASELINE_DIR), 'utf8')) as {
    configurations: Record<string, ConfigurationEntry[]>;
  }
).configurations;

/** Parses the settings of configuration `name` for `featureClass` with the engine's parser (undefined if absent). */
function configurationSettings(name: string, featureClass: string): RadiomicsSettings | undefined {
  const entry = configurations[name]?.find((candidate) => candidate.classes.includes(featureClass));
  return entry === undefined ? undefined : parseRadiomicsSettings(entry.settings);
}

function relativeError(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.max(Math.abs(expected), ABSOLUTE_FLOOR);
}

describe('pyradiomics baseline configurations', () => {
  it('the parser accepts every configuration of the non-shape classes', () => {
    const parsed: string[] = [];
    for (const [name, entries] of Object.entries(configurations)) {
      for (const entry of entries) {
        if (entry.classes.every((featureClass) => featureClass.startsWith('shape'))) continue;
        parseRadiomicsSettings(entry.settings);
        parsed.push(name);
      }
    }
    expect(parsed.sort()).toEqual(
      [
        '2d',
        'FBN',
        'combined',
        'default',
        'flatRegion',
        'normalization',
        'resampling',
        'resegmentation',
      ].sort(),
    );
  });

  it('configurations carry the settings the columns are named after', () => {
    expect(configurationSettings('default', 'glcm')).toMatchObject({
      voxelArrayShift: 2000,
      minimumROIDimensions: 1,
    });
    expect(configurationSettings('normalization', 'glcm')).toMatchObject({
      normalize: true,
      normalizeScale: 100,
      binWidth: 5,
    });
    expect(configurationSettings('resegmentation', 'glcm')).toMatchObject({
      resegmentMode: 'sigma',
      resegmentRange: [-3, 3],
    });
    expect(configurationSettings('flatRegion', 'glcm')).toMatchObject({
      binWidth: 5000,
      resegmentRange: [0],
    });
    expect(configurationSettings('resampling', 'glcm')).toMatchObject({
      resampledPixelSpacing: [2, 2, 2],
      interpolator: 'sitkBSpline',
    });
  });

  for (const caseName of CASES) {
    const { image, mask } = loadCase(caseName);

    for (const featureClass of CLASSES) {
      const table = readBaseline(featureClass);
      const names = [...table.keys()].filter((name) => name.startsWith(`original_${featureClass}_`));
      const columns = table.get('diagnostics_Configuration_TestCase')!;

      for (const configuration of MATCHED) {
        const column = configuration === 'default' ? caseName : `${caseName}_${configuration}`;
        if (!columns.has(column)) continue;

        it(`${column} ${featureClass}: every feature within ${RELATIVE_TOLERANCE}`, () => {
          const settings = configurationSettings(configuration, featureClass)!;
          const values = computeFeatures(image, mask, names, settings);
          for (const name of names) {
            const expected = parseCNumber(table.get(name)!.get(column)!);
            const actual = values[name]!;
            const tolerance = name.endsWith('_MCC') ? MCC_TOLERANCE : RELATIVE_TOLERANCE;
            expect(
              relativeError(actual, expected),
              `${column} ${name}: ${actual} vs ${expected}`,
            ).toBeLessThanOrEqual(tolerance);
          }
        });
      }
    }

    it(`${caseName}_flatRegion: the guard values are exact`, () => {
      const settings = configurationSettings('flatRegion', 'ngtdm')!;
      const values = computeFeatures(
        image,
        mask,
        [
          'original_ngtdm_Coarseness',
          'original_ngtdm_Contrast',
          'original_ngtdm_Busyness',
          'original_ngtdm_Complexity',
          'original_ngtdm_Strength',
          'original_glcm_Correlation',
          'original_glcm_MCC',
          'original_glcm_Imc1',
          'original_glcm_Imc2',
          'original_glcm_Idmn',
          'original_glcm_Id',
        ],
        settings,
      );
      expect(values).toEqual({
        original_ngtdm_Coarseness: 1e6,
        original_ngtdm_Contrast: 0,
        original_ngtdm_Busyness: 0,
        original_ngtdm_Complexity: 0,
        original_ngtdm_Strength: 0,
        original_glcm_Correlation: 1,
        original_glcm_MCC: 1,
        original_glcm_Imc1: 0,
        original_glcm_Imc2: 0,
        original_glcm_Idmn: 1,
        original_glcm_Id: 1,
      });
    });

    it(`${caseName}_resampling: grid, mask and B-spline intensities match the interpolated diagnostics`, () => {
      const shape = readBaseline('shape');
      const column = `${caseName}_resampling`;
      const diagnostic = (key: string): number[] =>
        shape
          .get(`diagnostics_Mask-interpolated_${key}`)!
          .get(column)!
          .replace(/[()\s]/g, '')
          .split(',')
          .map(Number);

      const settings = configurationSettings('resampling', 'firstorder')!;
      const resampled = resampleToSpacing(image, mask, settings);
      expect([...resampled.mask.grid.dimensions]).toEqual(diagnostic('Size'));
      expect([...resampled.mask.grid.spacingMm]).toEqual(diagnostic('Spacing'));

      const box = labelBoundingBox(resampled.mask, 1);
      const [bx, by, bz, sx, sy, sz] = diagnostic('BoundingBox');
      expect([...box.lower]).toEqual([bx, by, bz]);
      expect([
        box.upper[0] - box.lower[0] + 1,
        box.upper[1] - box.lower[1] + 1,
        box.upper[2] - box.lower[2] + 1,
      ]).toEqual([sx, sy, sz]);
      expect(resampled.mask.voxels.filter((value) => value === 1).length).toBe(diagnostic('VoxelNum')[0]);

      // Intensities truncated to int16 as SimpleITK stores them: minimum and maximum exact, means to 1e-12.
      const roi = Array.from(resampled.image.voxels).filter((_, index) => resampled.mask.voxels[index] === 1);
      const all = Array.from(resampled.image.voxels);
      const mean = (values: number[]): number =>
        values.reduce((sum, value) => sum + value, 0) / values.length;
      const imageDiagnostic = (key: string): number =>
        Number(shape.get(`diagnostics_Image-interpolated_${key}`)!.get(column)!);
      expect([Math.min(...roi), Math.max(...roi)]).toEqual([
        diagnostic('Minimum')[0],
        diagnostic('Maximum')[0],
      ]);
      expect(relativeError(mean(roi), diagnostic('Mean')[0]!)).toBeLessThanOrEqual(1e-12);
      expect([Math.min(...all), Math.max(...all)]).toEqual([
        imageDiagnostic('Minimum'),
        imageDiagnostic('Maximum'),
      ]);
      expect(relativeError(mean(all), imageDiagnostic('Mean'))).toBeLessThanOrEqual(1e-12);
    });
  }
});
