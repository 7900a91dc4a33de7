/**
 * Series geometry of readCtSeries: gaps, duplicates, mixed orientations, gantry tilt, varying
 * steps and their resampling, single slices and size limits, on real public series and on
 * generated series whose expected values are known exactly.
 */

import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { readCtSeries, readCtSeriesFromFolder } from '../../src/imaging/ct-series.js';
import { voxelCentreMm, voxelIndex } from '../../src/imaging/volume.js';
import { SHARED_DATA_DIR, readArrayBuffer } from '../support/shared-data.js';

import { syntheticCtSlice } from './build-dicom.js';
import { requireElement, walkRawDicom } from './raw-dicom.js';

import type { SyntheticSeries } from './build-dicom.js';

const DICOM_DIR = join(SHARED_DATA_DIR, 'dicom');
const CT2_DIR = join(DICOM_DIR, 'pydicom/dicomdirtests/77654033/CT2');
const CT2_NAMES = ['17106', '17136', '17166', '17196'];
const ORIENTED_DIR = join(DICOM_DIR, 'rt-utils/oriented_data');
const ORIENTED_STUDY_UID = '1.2.826.0.1.3680043.2.1125.1.83545599788643802094408645795466753';
const PIXEL_DATA_TAG = 0x7fe00010;

async function readFiles(dir: string, names: readonly string[]): Promise<ArrayBuffer[]> {
  return Promise.all(names.map((name) => readArrayBuffer(join(dir, name))));
}

function errorOf(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error('expected an error, but the call succeeded');
}

/** Replaces every occurrence of the ASCII text `from` by `to`, which must have the same length. */
function replaceText(bytes: ArrayBuffer, from: string, to: string): ArrayBuffer {
  expect(to.length).toBe(from.length);
  const view = new Uint8Array(bytes.slice(0));
  const pattern = new TextEncoder().encode(from);
  const replacement = new TextEncoder().encode(to);
  let replaced = 0;
  for (let offset = 0; offset + pattern.length <= view.length; offset++) {
    if (pattern.every((byte, index) => view[offset + index] === byte)) {
      view.set(replacement, offset);
      replaced++;
    }
  }
  expect(replaced).toBeGreaterThan(0);
  return view.buffer;
}

const AXIAL: SyntheticSeries = {
  studyInstanceUid: '2.25.301',
  seriesInstanceUid: '2.25.302',
  frameOfReferenceUid: '2.25.303',
  rows: 2,
  columns: 3,
  pixelSpacingMm: [0.5, 0.5],
  orientation: [1, 0, 0, 0, 1, 0],
  rescaleSlope: 1,
  rescaleIntercept: -1024,
};

/** Builds a 3 × 2 axial slice at height z whose stored values are `value(i, j)`. */
function axialSlice(
  z: number,
  value: (i: number, j: number) => number,
  series: SyntheticSeries = AXIAL,
  uid = `2.25.400${Math.round(z * 100) + 100000}`,
): ArrayBuffer {
  const stored = new Int16Array(series.rows * series.columns);
  for (let j = 0; j < series.rows; j++) {
    for (let i = 0; i < series.columns; i++) stored[i + series.columns * j] = value(i, j);
  }
  return syntheticCtSlice(series, { sopInstanceUid: uid, positionMm: [0, 0, z], stored });
}

describe('series gaps and duplicates on real files', () => {
  it('rejects the CT2 gap naming its place and size', async () => {
    // Positions along z: −99.48, 103.02, 104.27, 105.52 mm: one step of 202.50 mm among 1.25 mm steps.
    const files = await readFiles(CT2_DIR, CT2_NAMES);
    const error = errorOf(() => readCtSeries(files));
    expect(isNqo1Error(error, 'ERR_SERIES_GEOMETRY')).toBe(true);
    expect(error.message).toContain('regular step of 1.25 mm but a gap of 202.50 mm');
    expect(error.message).toContain(
      'between Image file 1 of 4 at -99.48 mm and Image file 2 of 4 at 103.02 mm',
    );
    expect(error.message).toContain('about 161 slices missing');
  });

  it('rejects the CT2 gap even with resampling', async () => {
    const files = await readFiles(CT2_DIR, CT2_NAMES);
    const error = errorOf(() => readCtSeries(files, { resampleIrregular: true }));
    expect(isNqo1Error(error, 'ERR_SERIES_GEOMETRY')).toBe(true);
    expect(error.message).toContain('not interpolated');
  });

  it('rejects oriented_data for its three StudyInstanceUIDs', async () => {
    const files = await readFiles(ORIENTED_DIR, ['0.dcm', '1.dcm', '2.dcm']);
    const error = errorOf(() => readCtSeries(files));
    expect(isNqo1Error(error, 'ERR_SERIES_MIXED')).toBe(true);
    expect(error.message).toContain('do not share one StudyInstanceUID');
    expect(error.message).toContain(`${ORIENTED_STUDY_UID} (1 files)`);
  });

  it('drops the identical duplicate of oriented slice 0', async () => {
    // oriented_data with the StudyInstanceUID of slice 0 written into slices 1 and 2, plus
    // one_slice_data/0.dcm: the same SOP instance as oriented slice 0 at the same position.
    const [first, second, third] = await readFiles(ORIENTED_DIR, ['0.dcm', '1.dcm', '2.dcm']);
    const duplicate = await readArrayBuffer(join(DICOM_DIR, 'rt-utils/one_slice_data/0.dcm'));
    const files = [
      first!,
      replaceText(
        second!,
        '1.2.826.0.1.3680043.2.1125.1.20755700046321570399888844081016617',
        ORIENTED_STUDY_UID,
      ),
      replaceText(
        third!,
        '1.2.826.0.1.3680043.2.1125.1.13121562922969530631742537566633383',
        ORIENTED_STUDY_UID,
      ),
      duplicate,
    ];
    const series = readCtSeries(files);
    const grid = series.volume.grid;

    expect(grid.dimensions).toEqual([100, 50, 3]);
    expect(grid.spacingMm[0]).toBe(2.5);
    expect(grid.spacingMm[1]).toBe(3.5);
    // The positions differ by (−0.492, 1.920, 4.040) mm, which is 4.5000 mm along the oblique normal.
    expect(grid.spacingMm[2]).toBeCloseTo(4.5, 5);
    expect(grid.originMm).toEqual([123, -432, 30]);
    expect(series.excluded).toHaveLength(1);
    expect(series.excluded[0]!.context).toBe('Image file 4 of 4');
    expect(series.excluded[0]!.reason).toBe(
      'duplicate of Image file 1 of 4: same position and identical pixel values',
    );

    // RescaleSlope 0.001, intercept 0: value = signed stored value × 0.001.
    const raw = walkRawDicom(new Uint8Array(first!));
    const pixelData = requireElement(raw, PIXEL_DATA_TAG);
    const view = new DataView(raw.bytes.buffer, raw.bytes.byteOffset, raw.bytes.byteLength);
    let nonZero = 0;
    for (const [i, j] of [
      [50, 25],
      [10, 40],
      [99, 0],
    ] as const) {
      const stored = view.getInt16(pixelData.valueOffset + 2 * (i + 100 * j), true);
      if (stored !== 0) nonZero++;
      expect(series.volume.voxels[voxelIndex(grid, i, j, 0)]).toBeCloseTo(stored * 0.001, 12);
    }
    expect(nonZero).toBeGreaterThan(0);
  });

  it('rejects two different images at one position naming both', () => {
    const files = [
      axialSlice(0, (i) => i),
      axialSlice(2, (i) => i),
      axialSlice(2, (i) => i + 1, AXIAL, '2.25.499'),
      axialSlice(4, (i) => i),
    ];
    const error = errorOf(() => readCtSeries(files));
    expect(isNqo1Error(error, 'ERR_SERIES_GEOMETRY')).toBe(true);
    expect(error.message).toContain(
      'Image file 2 of 4 and Image file 3 of 4 lie at the same position (0, 0, 2)',
    );
    expect(error.message).toContain('6 of their 6 pixel values differ');
  });
});

describe('instance identity', () => {
  it('rejects one SOPInstanceUID at two positions', () => {
    const files = [axialSlice(0, (i) => i, AXIAL, '2.25.498'), axialSlice(2, (i) => i, AXIAL, '2.25.498')];
    const error = errorOf(() => readCtSeries(files));
    expect(isNqo1Error(error, 'ERR_SERIES_GEOMETRY')).toBe(true);
    expect(error.message).toContain(
      'Image file 1 of 2 and Image file 2 of 2 carry the same SOPInstanceUID 2.25.498 but lie at different positions',
    );
  });
});

describe('single-slice series on real files', () => {
  it('takes SignedCT spacing from SpacingBetweenSlices', async () => {
    // Header: SpacingBetweenSlices 0.8 mm, SliceThickness 1.25 mm. One position gives no step, so
    // the spacing along k is the reconstruction step SpacingBetweenSlices.
    const series = readCtSeries([await readArrayBuffer(join(DICOM_DIR, 'orthanc-tests/SignedCT.dcm'))]);
    expect(series.volume.grid.dimensions).toEqual([512, 512, 1]);
    expect(series.volume.grid.spacingMm).toEqual([0.646484, 0.646484, 0.8]);
  });

  it('rejects a lone slice without spacing attributes', async () => {
    const file = await readArrayBuffer(join(ORIENTED_DIR, '0.dcm'));
    const error = errorOf(() => readCtSeries([file]));
    expect(isNqo1Error(error, 'ERR_SERIES_GEOMETRY')).toBe(true);
    expect(error.message).toContain('is the only slice and states neither SpacingBetweenSlices');
  });
});

describe('CT5N and ct-3slice grids', () => {
  it('builds the CT5N grid from positions', async () => {
    const names = ['2062', '2392', '2693', '3023', '3353'];
    const series = readCtSeries(
      await readFiles(join(DICOM_DIR, 'pydicom/dicomdirtests/98892001/CT5N'), names),
    );
    const grid = series.volume.grid;
    expect(grid.dimensions).toEqual([16, 16, 5]);
    expect(grid.spacingMm[2]).toBeCloseTo(2.5, 6);
    expect(grid.axes[2]).toEqual([0, 0, 1]);
    expect(series.excluded).toEqual([]);
  });

  it('gives ct-3slice a 1.0 mm step despite SliceThickness 1.25', async () => {
    const series = await readCtSeriesFromFolder(join(DICOM_DIR, 'dcmqi/segmentations/ct-3slice'));
    expect(series.volume.grid.spacingMm[2]).toBeCloseTo(1.0, 6);
  });
});

describe('gantry tilt on the GE dcm_qa_ct series', () => {
  const folder = join(DICOM_DIR, 'dcm_qa_ct/GE');

  it('rejects the tilt naming the angle and the steps', async () => {
    const error = await readCtSeriesFromFolder(folder).then(
      () => new Error('expected ERR_SERIES_GEOMETRY'),
      (rejection: unknown) => rejection,
    );
    expect(isNqo1Error(error, 'ERR_SERIES_GEOMETRY')).toBe(true);
    const message = error instanceof Error ? error.message : '';
    expect(message).toContain('a gantry tilt of 18.5°');
    expect(message).toContain('1.08 mm (1 step), 4.00 mm (13 steps), 7.00 mm (13 steps)');
    expect(message).toContain('Reconstruct the series without gantry tilt');
    expect(message).toContain('or enable resampling (--resample-irregular on the command line');
  });

  it('plans an orthogonal grid when resampling', async () => {
    // The planned grid is 512 × 611 × 134: the column direction grows by ceil(48.21 mm / 0.488 mm)
    // = 99 rows to cover the shifted slices, and 144.09 mm along the normal at the smallest step
    // 1.08 mm gives 134 slices. A limit just below its voxel count rejects it before allocation.
    const voxels = 512 * 611 * 134;
    await expect(
      readCtSeriesFromFolder(folder, { resampleIrregular: true, maxVoxels: voxels - 1 }),
    ).rejects.toThrow(`the volume would hold ${voxels} voxels`);
  });
});

describe('gantry tilt resampling on a generated series', () => {
  // Column direction (0, 0.8, −0.6): a tilt of atan(0.6 / 0.8) = 36.87°. Positions (0, 0, z) for
  // z = 0, 2, 4, 6 mm, so each slice is shifted by −1.2 mm along the column direction and lies
  // 1.6 mm further along the normal (0, 0.6, 0.8). Stored value = 10·x + 5·y + 5·z of the pixel
  // centre, an integer (10·i + j + 5·z), so the resampled values must equal it exactly.
  const tilted: SyntheticSeries = {
    ...AXIAL,
    rows: 5,
    columns: 6,
    pixelSpacingMm: [1, 1],
    orientation: [1, 0, 0, 0, 0.8, -0.6],
    rescaleSlope: 1,
    rescaleIntercept: 0,
  };
  const valueAt = (point: readonly number[]): number => 10 * point[0]! + 5 * point[1]! + 5 * point[2]!;
  const files = (): ArrayBuffer[] =>
    [0, 2, 4, 6].map((z) => {
      const stored = new Int16Array(30);
      for (let j = 0; j < 5; j++) for (let i = 0; i < 6; i++) stored[i + 6 * j] = 10 * i + j + 5 * z;
      return syntheticCtSlice(tilted, { sopInstanceUid: `2.25.60${z}`, positionMm: [0, 0, z], stored });
    });

  it('rejects the tilt by default', () => {
    const error = errorOf(() => readCtSeries(files()));
    expect(isNqo1Error(error, 'ERR_SERIES_GEOMETRY')).toBe(true);
    expect(error.message).toContain('a gantry tilt of 36.9°');
    expect(error.message).toContain('slice steps along the normal: 1.60 mm (3 steps)');
  });

  it('resamples onto an orthogonal grid exactly', () => {
    const series = readCtSeries(files(), { resampleIrregular: true });
    const grid = series.volume.grid;
    expect(grid.dimensions).toEqual([6, 9, 4]);
    expect(grid.spacingMm[2]).toBeCloseTo(1.6, 12);
    expect(grid.axes[2][1]).toBeCloseTo(0.6, 12);
    expect(grid.axes[2][2]).toBeCloseTo(0.8, 12);
    // Origin: the first position moved by the largest shift, −3.6 mm along the column direction.
    expect(grid.originMm[0]).toBeCloseTo(0, 12);
    expect(grid.originMm[1]).toBeCloseTo(-2.88, 12);
    expect(grid.originMm[2]).toBeCloseTo(2.16, 12);

    let inside = 0;
    let filled = 0;
    for (let k = 0; k < 4; k++) {
      for (let j = 0; j < 9; j++) {
        for (let i = 0; i < 6; i++) {
          const value = series.volume.voxels[voxelIndex(grid, i, j, k)]!;
          const expected = valueAt(voxelCentreMm(grid, i, j, k));
          if (Math.abs(value - expected) <= 1e-9) inside++;
          else if (value === 0) filled++;
          else expect({ i, j, k, value }).toEqual({ i, j, k, value: expected });
        }
      }
    }
    // Slice n is shifted by 3.6 − 1.2·n mm (rows) from the origin, so output row j samples its row
    // j − 3.6 + 1.2·n, inside 0..4 for 4, 4, 4 and 5 output rows (n = 0..3): 17 rows of 6 columns.
    // The other 4 × 9 × 6 − 102 = 114 voxels get the smallest stored value of the series, 0.
    expect(inside).toBe(17 * 6);
    expect(filled).toBe(114);
    expect(series.sopInstanceUids).toEqual(['', '', '', '']);
    expect(series.warnings[0]).toContain('acquired with a gantry tilt of 36.9°');
    expect(series.warnings[0]).toContain('114 voxels outside the field of view');
  });
});

describe('mixed orientations', () => {
  const localizer = (): ArrayBuffer =>
    syntheticCtSlice(
      { ...AXIAL, orientation: [0, 1, 0, 0, 0, -1] },
      { sopInstanceUid: '2.25.498', positionMm: [0, -50, 100], stored: new Int16Array(6) },
    );

  it('sets a localizer aside and reports it', () => {
    const files = [axialSlice(0, () => 0), localizer(), axialSlice(2, () => 0), axialSlice(4, () => 0)];
    const series = readCtSeries(files);
    expect(series.volume.grid.dimensions).toEqual([3, 2, 3]);
    expect(series.volume.grid.spacingMm[2]).toBeCloseTo(2, 9);
    expect(series.excluded).toEqual([
      {
        context: 'Image file 2 of 4',
        sopInstanceUid: '2.25.498',
        frameNumber: null,
        reason:
          'ImageOrientationPatient (0, 1, 0, 0, 0, -1) differs from the 3 slices of the series stack (1, 0, 0, 0, 1, 0) ' +
          '(localizer or reformatted image)',
      },
    ]);
    expect(series.warnings[0]).toMatch(/^Image file 2 of 4 was left out: ImageOrientationPatient/);
  });

  it('names a slice set aside for its orientation when the gap it leaves is rejected', () => {
    // The middle slice of five has another orientation, so the four axial ones show a 4 mm gap.
    const tilted = syntheticCtSlice(
      { ...AXIAL, orientation: [0, 1, 0, 1, 0, 0] },
      { sopInstanceUid: '2.25.499', positionMm: [0, 0, 4], stored: new Int16Array(6) },
    );
    const files = [0, 2, 6, 8].map((z) => axialSlice(z, () => 0));
    files.splice(2, 0, tilted);

    const error = errorOf(() => readCtSeries(files));

    expect(isNqo1Error(error, 'ERR_SERIES_GEOMETRY')).toBe(true);
    expect(error.message).toContain('gap of 4.00 mm');
    expect(error.message).toContain('1 image was set aside because its orientation differs from the series');
    expect(error.message).toContain('Image file 3 of 5');
  });

  it('rejects two equally large stacks', () => {
    const coronal = { ...AXIAL, orientation: [1, 0, 0, 0, 0, -1] };
    const files = [
      axialSlice(0, () => 0),
      axialSlice(2, () => 0),
      syntheticCtSlice(coronal, {
        sopInstanceUid: '2.25.496',
        positionMm: [0, 0, 0],
        stored: new Int16Array(6),
      }),
      syntheticCtSlice(coronal, {
        sopInstanceUid: '2.25.497',
        positionMm: [0, 2, 0],
        stored: new Int16Array(6),
      }),
    ];
    const error = errorOf(() => readCtSeries(files));
    expect(isNqo1Error(error, 'ERR_SERIES_GEOMETRY')).toBe(true);
    expect(error.message).toContain('the two largest stacks are equally large');
  });
});

describe('resampling of varying slice steps', () => {
  // Positions 0, 1, 2.5, 3, 5 mm: steps 1, 1.5, 0.5, 2 mm. Stored value 10·z + i − 3·j, so HU
  // (intercept −1024) is linear in z and linear interpolation along z reproduces it exactly.
  const positions = [0, 1, 2.5, 3, 5];
  const huAt = (i: number, j: number, z: number): number => 10 * z + i - 3 * j - 1024;
  const files = (): ArrayBuffer[] => positions.map((z) => axialSlice(z, (i, j) => 10 * z + i - 3 * j));

  it('rejects varying steps by default naming them', () => {
    const error = errorOf(() => readCtSeries(files()));
    expect(isNqo1Error(error, 'ERR_SERIES_GEOMETRY')).toBe(true);
    expect(error.message).toContain(
      'steps along the normal vary between Image file 1 of 5 and Image file 5 of 5: ' +
        '0.50 mm (1 step), 1.00 mm (1 step), 1.50 mm (1 step), 2.00 mm (1 step)',
    );
    expect(error.message).toContain('imaging.resampleIrregular in the service');
  });

  it('interpolates onto the smallest step', () => {
    const series = readCtSeries(files(), { resampleIrregular: true });
    const grid = series.volume.grid;
    expect(grid.dimensions).toEqual([3, 2, 11]);
    expect(grid.spacingMm[2]).toBeCloseTo(0.5, 12);
    expect(grid.originMm).toEqual([0, 0, 0]);
    for (let k = 0; k < 11; k++) {
      for (let j = 0; j < 2; j++) {
        for (let i = 0; i < 3; i++) {
          expect(series.volume.voxels[voxelIndex(grid, i, j, k)]).toBeCloseTo(huAt(i, j, 0.5 * k), 9);
        }
      }
    }
    // Slices at z = 0, 1, 2.5, 3, 5 mm (k = 0, 2, 5, 6, 10) are source images; the others are interpolated.
    const sourced = series.sliceSources.flatMap((source, k) => (source === null ? [] : [k]));
    expect(sourced).toEqual([0, 2, 5, 6, 10]);
    expect(series.sopInstanceUids[1]).toBe('');
    expect(series.warnings).toEqual([
      'The 5 slices had varying steps along the normal (0.50 mm (1 step), 1.00 mm (1 step), 1.50 mm (1 step), ' +
        '2.00 mm (1 step)) and were resampled by linear interpolation onto an orthogonal grid of 11 slices ' +
        '0.5000 mm apart.',
    ]);
  });

  it('keeps a uniform series unchanged when resampling is allowed', () => {
    const uniform = [0, 2, 4].map((z) => axialSlice(z, (i) => i));
    const series = readCtSeries(uniform, { resampleIrregular: true });
    expect(series.volume.grid.dimensions).toEqual([3, 2, 3]);
    expect(series.warnings).toEqual([]);
  });
});

describe('size limits', () => {
  const uniform = (): ArrayBuffer[] => [0, 2, 4].map((z) => axialSlice(z, (i) => i));

  it('rejects more instances than maxInstances', () => {
    const error = errorOf(() => readCtSeries(uniform(), { maxInstances: 2 }));
    expect(isNqo1Error(error, 'ERR_INPUT_TOO_LARGE')).toBe(true);
    expect(error.message).toContain('more than 2 image files (maxInstances), found at least 3');
  });

  it('rejects more voxels than maxVoxels', () => {
    const error = errorOf(() => readCtSeries(uniform(), { maxVoxels: 17 }));
    expect(isNqo1Error(error, 'ERR_INPUT_TOO_LARGE')).toBe(true);
    expect(error.message).toContain(
      'the frames read would hold 18 voxels, above the limit of 17 (maxVoxels)',
    );
  });

  it('checks the resampled volume against maxVoxels', () => {
    const files = [0, 1, 2.5, 3, 5].map((z) => axialSlice(z, () => 0));
    // 5 source slices of 6 pixels are 30 voxels; the resampled volume has 11 slices, 66 voxels.
    const error = errorOf(() => readCtSeries(files, { resampleIrregular: true, maxVoxels: 60 }));
    expect(isNqo1Error(error, 'ERR_INPUT_TOO_LARGE')).toBe(true);
    expect(error.message).toContain('the volume would hold 66 voxels, above the limit of 60 (maxVoxels)');
  });

  it('counts folder instances against maxInstances', async () => {
    await expect(
      readCtSeriesFromFolder(join(DICOM_DIR, 'dcm_qa_ct/GE'), { maxInstances: 10 }),
    ).rejects.toMatchObject({ code: 'ERR_INPUT_TOO_LARGE' });
  });
});
