import { describe, expect, test } from 'vitest';

import { featureNameLines, featureNameWords } from '../../smart-app/src/feature-name.js';

describe('featureNameWords', () => {
  test.each([
    ['Whole_glszm_SmallAreaEmphasis', ['Whole_', 'glszm_', 'Small', 'Area', 'Emphasis']],
    ['original_firstorder_10Percentile', ['original_', 'firstorder_', '10Percentile']],
    ['log-sigma-3-0-mm-3D_glcm_Imc1', ['log-sigma-3-0-mm-3D_', 'glcm_', 'Imc1']],
    ['Coarseness', ['Coarseness']],
    ['', ['']],
  ])('splits %s', (name, words) => {
    expect(featureNameWords(name)).toEqual(words);
    expect(featureNameWords(name).join('')).toBe(name);
  });
});

describe('featureNameLines', () => {
  test('fills lines up to the limit', () => {
    expect(featureNameLines('Whole_peri_glszm_SmallAreaLowGrayLevelEmphasis', 20)).toEqual([
      'Whole_peri_glszm_',
      'SmallAreaLowGray',
      'LevelEmphasis',
    ]);
  });

  test('keeps a short name on one line', () => {
    expect(featureNameLines('Whole_ngtdm_Coarseness', 34)).toEqual(['Whole_ngtdm_Coarseness']);
  });

  test('gives an overlong word its own line', () => {
    expect(featureNameLines('a_Supercalifragilistic_b', 6)).toEqual(['a_', 'Supercalifragilistic_', 'b']);
  });
});
