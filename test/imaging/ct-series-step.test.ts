import { beforeAll, describe, expect, test } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { readCtSeries } from '../../src/imaging/ct-series.js';
import { CT_3SLICE_FILES, readArrayBuffer } from '../support/shared-data.js';

let files: ArrayBuffer[];

beforeAll(async () => {
  files = await Promise.all(CT_3SLICE_FILES.map(readArrayBuffer));
});

describe('readCtSeries with the sliceStepMm of the complete series', () => {
  test('takes the given step when the slices agree with it', () => {
    // ct-3slice is 1 mm apart; 1.005 mm is within max(0.01 mm, 1 %) of it.
    const series = readCtSeries(files, { sliceStepMm: 1.005 });

    expect(series.volume.grid.spacingMm[2]).toBe(1.005);
    expect(series.volume.grid.dimensions).toEqual([512, 512, 3]);
  });

  test('without it keeps the mean step of the slices', () => {
    expect(readCtSeries(files).volume.grid.spacingMm[2]).toBeCloseTo(1, 9);
  });

  test('rejects a step the slices do not agree with', () => {
    let error: unknown;
    try {
      readCtSeries(files, { sliceStepMm: 1.25 });
    } catch (thrown) {
      error = thrown;
    }

    expect(isNqo1Error(error, 'ERR_SERIES_GEOMETRY')).toBe(true);
    expect((error as Error).message).toContain('1.0000 mm apart, but the complete series is 1.2500 mm apart');
  });
});
