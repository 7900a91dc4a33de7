/**
 * pyradiomics parameter files: every example in the shared data parses, or fails with an
 * ERR_SETTINGS_INVALID that names the unsupported part (LIMITATION: LoG/wavelet image types,
 * voxel-based extraction, deprecated features). Plus the settings parser's own messages.
 */

import { readdirSync, readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { loadPyradiomicsParams } from '../../src/radiomics/params-yaml.js';
import { parseRadiomicsSettings } from '../../src/radiomics/settings.js';
import { PYRADIOMICS_DIR } from './support/baseline.js';

const PARAMS_DIR = new URL('params/', PYRADIOMICS_DIR);

/** Returns the message of the ERR_SETTINGS_INVALID that `run` throws, and fails the test otherwise. */
function settingsError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(isNqo1Error(error, 'ERR_SETTINGS_INVALID'), String(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected ERR_SETTINGS_INVALID, got a result');
}

/** Expected outcome per file: 'ok', or a fragment of the error message. */
const EXPECTED: Record<string, string> = {
  'Params.yaml': 'ok',
  'exampleCT.yaml': 'image type "LoG" is not supported',
  'exampleMR_3mm.yaml': 'image type "LoG" is not supported',
  'exampleMR_5mm.yaml': 'image type "LoG" is not supported',
  'exampleMR_NoResampling.yaml': 'image type "LoG" is not supported',
  'MR_2D_extraction.yaml': 'image type "LoG" is not supported',
  'exampleVoxel.yaml': 'section "voxelSetting"',
  'example_allShape.yaml': 'feature "shape.Compactness1" is deprecated',
  'paramSchema.yaml': 'unknown section "name"',
};

describe('pyradiomics parameter files', () => {
  const files = readdirSync(PARAMS_DIR).filter((name) => name.endsWith('.yaml'));

  it('the expectations cover every file in params/', () => {
    expect(files.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const file of files) {
    const text = readFileSync(new URL(file, PARAMS_DIR), 'utf8');
    const expected = EXPECTED[file]!;
    it(`${file}: ${expected === 'ok' ? 'parses' : expected}`, () => {
      if (expected === 'ok') loadPyradiomicsParams(text);
      else expect(settingsError(() => loadPyradiomicsParams(text))).toContain(expected);
    });
  }

  it('Params.yaml: settings, classes and the 22 listed GLCM features', () => {
    const params = loadPyradiomicsParams(readFileSync(new URL('Params.yaml', PARAMS_DIR), 'utf8'));
    expect(params.imageTypes).toEqual(['Original']);
    expect(params.settings).toMatchObject({
      binWidth: 25,
      label: 1,
      interpolator: 'sitkBSpline',
      voxelArrayShift: 0,
    });
    expect(params.settings.resampledPixelSpacing).toBeUndefined();
    expect(params.settings.weightingNorm).toBeUndefined();
    expect(Object.keys(params.featureClasses)).toEqual([
      'shape',
      'firstorder',
      'glcm',
      'glrlm',
      'glszm',
      'gldm',
    ]);
    expect(params.featureClasses.firstorder).toBeNull();
    expect(params.featureClasses.glcm).toHaveLength(22);
    expect(params.featureClasses.glcm).not.toContain('SumAverage');
  });

  it('exampleCT.yaml settings without its LoG and Wavelet image types', () => {
    const text = readFileSync(new URL('exampleCT.yaml', PARAMS_DIR), 'utf8').replace(
      /^ {2}(LoG|Wavelet):.*\n( {4}.*\n)?/gm,
      '',
    );
    const params = loadPyradiomicsParams(text);
    expect(params.settings).toMatchObject({
      interpolator: 'sitkBSpline',
      resampledPixelSpacing: [1, 1, 1],
      padDistance: 10,
      binWidth: 25,
      voxelArrayShift: 1000,
      label: 1,
    });
  });

  it('no imageType and no featureClass mean Original and every class', () => {
    const params = loadPyradiomicsParams('setting:\n  binCount: 32\n');
    expect(params.settings.binCount).toBe(32);
    expect(params.imageTypes).toEqual(['Original']);
    expect(Object.keys(params.featureClasses)).toEqual([
      'shape',
      'firstorder',
      'glcm',
      'gldm',
      'glrlm',
      'glszm',
      'ngtdm',
    ]);
  });

  it('an empty featureClass mapping enables every class', () => {
    const params = loadPyradiomicsParams('featureClass: {}\n');
    expect(Object.keys(params.featureClasses)).toHaveLength(7);
    expect(Object.values(params.featureClasses).every((names) => names === null)).toBe(true);
  });

  it('Original may carry its own settings, which override the setting section', () => {
    const params = loadPyradiomicsParams(
      'setting:\n  binWidth: 25\nimageType:\n  Original:\n    binWidth: 10\n',
    );
    expect(params.settings.binWidth).toBe(10);
  });

  it('misspellings are named with the nearest valid name', () => {
    expect(settingsError(() => loadPyradiomicsParams('setting:\n  binwidht: 25\n'))).toContain(
      'unknown key "binwidht" (did you mean "binWidth"?)',
    );
    expect(settingsError(() => loadPyradiomicsParams('featureClass:\n  glcmm:\n'))).toContain(
      'unknown feature class "glcmm" (did you mean "glcm"?)',
    );
    expect(settingsError(() => loadPyradiomicsParams('featureClass:\n  glcm: [Contrats]\n'))).toContain(
      'unknown feature "glcm.Contrats" (did you mean "Contrast"?)',
    );
    expect(settingsError(() => loadPyradiomicsParams('imageType:\n  Orignal: {}\n'))).toContain(
      'unknown image type "Orignal" (did you mean "Original"?)',
    );
    expect(settingsError(() => loadPyradiomicsParams('settings:\n  binWidth: 25\n'))).toContain(
      'unknown section "settings" (did you mean "setting"?)',
    );
  });

  it('reads yes and no as booleans, as PyYAML does', () => {
    const params = loadPyradiomicsParams('setting:\n  normalize: yes\n  force2D: no\n');
    expect(params.settings.normalize).toBe(true);
    expect(params.settings.force2D).toBe(false);
  });

  it('reports every problem of a file in one error, numbered', () => {
    const text = [
      'imageType:',
      '  Original: {}',
      '  Wavelet: {}',
      'setting:',
      '  binWidht: 25',
      'featureClass:',
      '  glcm: [Contrast, Contrsat]',
      '  glrlmm:',
      'extra: 1',
      '',
    ].join('\n');
    let error: unknown;
    try {
      loadPyradiomicsParams(text);
    } catch (caught) {
      error = caught;
    }
    expect(isNqo1Error(error, 'ERR_SETTINGS_INVALID')).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain('(1) unknown section "extra"');
    expect(message).toContain('image type "Wavelet" is not supported');
    expect(message).toContain('unknown feature "glcm.Contrsat" (did you mean "Contrast"?)');
    expect(message).toContain('unknown feature class "glrlmm" (did you mean "glrlm"?)');
    expect(message).toContain('binWidht');
    expect(message).toContain('(5) ');
    expect(message).not.toContain('(6) ');
  });

  it('invalid YAML and unsupported pyradiomics settings are specific errors', () => {
    expect(settingsError(() => loadPyradiomicsParams('setting: [unclosed\n'))).toContain('not valid YAML');
    expect(settingsError(() => loadPyradiomicsParams('setting:\n  correctMask: true\n'))).toContain(
      '"correctMask" is a pyradiomics setting this engine does not support',
    );
    expect(settingsError(() => loadPyradiomicsParams('imageType:\n  Wavelet: {}\n'))).toContain(
      'image type "Wavelet" is not supported',
    );
    expect(settingsError(() => loadPyradiomicsParams('featureClass:\n  shape2D:\n'))).toContain('shape2D');
  });
});

describe('radiomics settings beyond the defaults', () => {
  it('accepts every pyradiomics setting the engine implements, with null meaning unset', () => {
    const settings = parseRadiomicsSettings({
      symmetricalGLCM: true,
      weightingNorm: 'euclidean',
      resegmentRange: [-100, 200],
      resegmentMode: 'relative',
      normalize: true,
      normalizeScale: 100,
      removeOutliers: 3,
      resampledPixelSpacing: [1, 1, 0],
      interpolator: 'sitkLinear',
      preCrop: true,
      padDistance: 2,
      minimumROISize: null,
      additionalInfo: true,
    });
    expect(settings).toMatchObject({
      weightingNorm: 'euclidean',
      resegmentRange: [-100, 200],
      resegmentMode: 'relative',
      normalize: true,
      normalizeScale: 100,
      removeOutliers: 3,
      resampledPixelSpacing: [1, 1, 0],
      interpolator: 'sitkLinear',
      preCrop: true,
      padDistance: 2,
    });
    expect('minimumROISize' in settings).toBe(false);
  });

  it('rejects values pyradiomics rejects, naming the key', () => {
    expect(settingsError(() => parseRadiomicsSettings({ resegmentMode: 'percent' }))).toContain(
      'resegmentMode',
    );
    expect(settingsError(() => parseRadiomicsSettings({ interpolator: 'sitkGaussian' }))).toContain(
      'interpolator',
    );
    expect(settingsError(() => parseRadiomicsSettings({ resampledPixelSpacing: [1, 1] }))).toContain(
      'resampledPixelSpacing',
    );
    expect(settingsError(() => parseRadiomicsSettings({ resegmentRange: [1, 2, 3] }))).toContain(
      'resegmentRange',
    );
    expect(settingsError(() => parseRadiomicsSettings({ normalizeScale: 0 }))).toContain('normalizeScale');
    expect(settingsError(() => parseRadiomicsSettings({ padDistance: -1 }))).toContain('padDistance');
  });

  it('rejects symmetricalGLCM false (LIMITATION)', () => {
    expect(settingsError(() => parseRadiomicsSettings({ symmetricalGLCM: false }))).toContain(
      'symmetricalGLCM',
    );
  });

  it('suggests the nearest key for a misspelling', () => {
    expect(settingsError(() => parseRadiomicsSettings({ voxelArrayshift: 1000 }))).toContain(
      'did you mean "voxelArrayShift"',
    );
    expect(settingsError(() => parseRadiomicsSettings({ resampledPixelSize: [1, 1, 1] }))).toContain(
      'did you mean "resampledPixelSpacing"',
    );
  });
});
