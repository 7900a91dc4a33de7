/** NIfTI reader: the dcm2niix reference conversion and files built in the test. */

import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { writeCtSeries } from '../../src/cli/demo/write-dicom.js';
import { readCtSeries } from '../../src/imaging/ct-series.js';
import { readDicomFile } from '../../src/imaging/dicom-dataset.js';
import { readNifti } from '../../src/imaging/nifti.js';
import { maskFromNrrdOnGrid } from '../../src/imaging/nrrd-mask.js';
import { decodeStoredValues, readPixelFormat } from '../../src/imaging/pixel-data.js';
import { cross } from '../../src/imaging/slice-geometry.js';
import { countLabel } from '../../src/imaging/volume.js';
import { buildNifti, sformOfGrid } from './build-nifti.js';

import type { Grid, Vec3 } from '../../src/imaging/volume.js';

const DATA = new URL('../../../shared/data/dicom/dcm_qa_ts/', import.meta.url);

function errorOf(action: () => unknown): { code: string; message: string; details: Record<string, unknown> } {
  try {
    action();
  } catch (error) {
    return error as { code: string; message: string; details: Record<string, unknown> };
  }
  throw new Error('expected an error');
}

function expectVector(actual: readonly number[], expected: readonly number[], tolerance: number): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, index) => {
    expect(Math.abs(value - expected[index]!)).toBeLessThanOrEqual(tolerance);
  });
}

describe('readNifti on the dcm2niix conversion of dcm_qa_ts/In/1.dcm', () => {
  // In/1.dcm is a Siemens MR mosaic: 384 × 384 pixels holding 6 × 6 tiles of 64 × 64, 35 of them used
  // (private tag (0019,100A) NumberOfImagesInMosaic = 35). dcm2niix cuts the tiles into 35 slices and
  // flips the rows, so NIfTI voxel (i, j, k) is pixel (column i, row 63 − j) of tile k.
  const nifti = readNifti(new Uint8Array(readFileSync(new URL('Ref/1.nii', DATA))));
  const dicomBytes = readFileSync(new URL('In/1.dcm', DATA));
  const dicom = readDicomFile(
    dicomBytes.buffer.slice(dicomBytes.byteOffset, dicomBytes.byteOffset + dicomBytes.byteLength),
    'In/1.dcm',
  );

  it('reads header fields', () => {
    expect(nifti.version).toBe(1);
    expect(nifti.type).toBe('int16');
    expect(nifti.orientationSource).toBe('sform');
    expect(nifti.grid.dimensions).toEqual([64, 64, 35]);
    expectVector(nifti.grid.spacingMm, [3.25, 3.25, 3.6], 1e-5);
  });

  it('matches the DICOM pixels after the row flip', () => {
    const format = readPixelFormat(dicom.dataset);
    const stored = decodeStoredValues(dicom.pixelData!, format, true, 0, 'In/1.dcm');
    let differences = 0;
    let nonZero = 0;
    for (let k = 0; k < 35; k++) {
      const tileRow = Math.floor(k / 6);
      const tileColumn = k % 6;
      for (let j = 0; j < 64; j++) {
        for (let i = 0; i < 64; i++) {
          const pixel = stored[tileColumn * 64 + i + 384 * (tileRow * 64 + 63 - j)]!;
          if (pixel !== nifti.voxels[i + 64 * (j + 64 * k)]) differences++;
          if (pixel !== 0) nonZero++;
        }
      }
    }
    expect(nonZero).toBeGreaterThan(10000);
    expect(differences).toBe(0);
  });

  it('matches the DICOM geometry of the mosaic tiles', () => {
    // Tolerance 1e-4 mm: the sform is stored as float32.
    const iop = dicom.dataset.requireNumbers('ImageOrientationPatient', 6);
    const ipp = dicom.dataset.requireNumbers('ImagePositionPatient', 3);
    const row: Vec3 = [iop[0]!, iop[1]!, iop[2]!];
    const column: Vec3 = [iop[3]!, iop[4]!, iop[5]!];
    expectVector(nifti.grid.axes[0], row, 1e-5);
    expectVector(
      nifti.grid.axes[1],
      column.map((value) => -value),
      1e-5,
    );
    expectVector(nifti.grid.axes[2], cross(row, column), 1e-5);
    // The mosaic's ImagePositionPatient is the corner of the 384 × 384 image; tile 0 starts
    // (384 − 64) / 2 = 160 pixels further along rows and columns, and row 63 of the tile is j = 0.
    const shift = (along: Vec3, pixels: number): number[] => along.map((value) => value * pixels * 3.25);
    const expectedOrigin = [0, 1, 2].map(
      (axis) => ipp[axis]! + shift(row, 160)[axis]! + shift(column, 160 + 63)[axis]!,
    );
    expectVector(nifti.grid.originMm, expectedOrigin, 1e-3);
  });
});

/** A 3 × 2 × 2 int16 volume with distinct values. */
const VALUES = Array.from({ length: 12 }, (_, index) => index * 10 - 50);

describe('readNifti orientation', () => {
  it('builds the grid from the qform alone', () => {
    // Quaternion (a, b, c, d) = (cos 45°, 0, 0, sin 45°): 90° about z. qfac −1 flips k.
    const half = Math.SQRT1_2;
    const volume = readNifti(
      buildNifti({
        sizes: [3, 2, 2],
        datatype: 4,
        voxels: VALUES,
        pixdim: [-1, 2, 3, 4],
        qform: { b: 0, c: 0, d: half, offset: [10, 20, 30] },
      }),
    );
    expect(volume.orientationSource).toBe('qform');
    expectVector(volume.grid.spacingMm, [2, 3, 4], 1e-6);
    // RAS columns (0, 1, 0), (−1, 0, 0), (0, 0, −1) become LPS (0, −1, 0), (1, 0, 0), (0, 0, −1).
    expectVector(volume.grid.axes[0], [0, -1, 0], 1e-6);
    expectVector(volume.grid.axes[1], [1, 0, 0], 1e-6);
    expectVector(volume.grid.axes[2], [0, 0, -1], 1e-6);
    expectVector(volume.grid.originMm, [-10, -20, 30], 1e-6);
    expect([...volume.voxels]).toEqual(VALUES);
  });

  it('prefers the sform over the qform', () => {
    const volume = readNifti(
      buildNifti({
        sizes: [3, 2, 2],
        datatype: 4,
        voxels: VALUES,
        pixdim: [1, 2, 3, 4],
        qform: { b: 0, c: 0, d: Math.SQRT1_2, offset: [10, 20, 30] },
        sform: [
          [-0.5, 0, 0, 5],
          [0, 0.75, 0, -6],
          [0, 0, 1.5, 7],
        ],
      }),
    );
    expect(volume.orientationSource).toBe('sform');
    expectVector(volume.grid.spacingMm, [0.5, 0.75, 1.5], 1e-6);
    expectVector(volume.grid.axes[0], [1, 0, 0], 1e-6);
    expectVector(volume.grid.axes[1], [0, -1, 0], 1e-6);
    expectVector(volume.grid.axes[2], [0, 0, 1], 1e-6);
    expectVector(volume.grid.originMm, [-5, 6, 7], 1e-6);
  });

  it('falls back to pixdim without qform and sform', () => {
    const volume = readNifti(
      buildNifti({ sizes: [3, 2, 2], datatype: 4, voxels: VALUES, pixdim: [1, 2, 3, 4] }),
    );
    expect(volume.orientationSource).toBe('pixdim');
    expect(volume.grid.originMm).toEqual([0, 0, 0]);
    expect(volume.grid.spacingMm).toEqual([2, 3, 4]);
    expect(volume.grid.axes).toEqual([
      [-1, 0, 0],
      [0, -1, 0],
      [0, 0, 1],
    ]);
  });

  it('converts metres to millimetres', () => {
    const volume = readNifti(
      buildNifti({
        sizes: [3, 2, 2],
        datatype: 4,
        voxels: VALUES,
        pixdim: [1, 0.002, 0.003, 0.004],
        xyztUnits: 1,
      }),
    );
    // Tolerance 1e-6 mm: pixdim is float32, so 0.003 m is stored with a relative error near 3e-8.
    expectVector(volume.grid.spacingMm, [2, 3, 4], 1e-6);
  });

  it('rejects a sheared sform', () => {
    const error = errorOf(() =>
      readNifti(
        buildNifti({
          sizes: [3, 2, 2],
          datatype: 4,
          voxels: VALUES,
          sform: [
            [1, 0.5, 0, 0],
            [0, 1, 0, 0],
            [0, 0, 1, 0],
          ],
        }),
      ),
    );
    expect(error.code).toBe('ERR_NIFTI_MALFORMED');
    expect(error.message).toContain('sheared');
  });
});

describe('readNifti encodings', () => {
  it.each([
    { name: 'big-endian NIfTI-1', version: 1, littleEndian: false, gzip: false },
    { name: 'little-endian NIfTI-2', version: 2, littleEndian: true, gzip: false },
    { name: 'big-endian NIfTI-2', version: 2, littleEndian: false, gzip: false },
    { name: 'gzip NIfTI-1', version: 1, littleEndian: true, gzip: true },
  ] as const)('reads $name', ({ version, littleEndian, gzip }) => {
    const volume = readNifti(
      buildNifti({
        version,
        littleEndian,
        gzip,
        sizes: [3, 2, 2],
        datatype: 4,
        voxels: VALUES,
        pixdim: [1, 2, 3, 4],
      }),
    );
    expect(volume.version).toBe(version);
    expect(volume.grid.spacingMm).toEqual([2, 3, 4]);
    expect([...volume.voxels]).toEqual(VALUES);
  });

  it.each([
    [2, 'uint8', [0, 255]],
    [256, 'int8', [-128, 127]],
    [4, 'int16', [-32768, 32767]],
    [512, 'uint16', [0, 65535]],
    [8, 'int32', [-2147483648, 2147483647]],
    [768, 'uint32', [0, 4294967295]],
    [16, 'float32', [-1.5, 2.25]],
    [64, 'float64', [-1e-300, 1e300]],
  ] as const)('decodes datatype %i as %s', (datatype, name, values) => {
    const volume = readNifti(buildNifti({ sizes: [2, 1, 1], datatype, voxels: values, littleEndian: false }));
    expect(volume.type).toBe(name);
    expect([...volume.voxels]).toEqual(values);
  });

  it('applies scl_slope and scl_inter', () => {
    const volume = readNifti(
      buildNifti({ sizes: [2, 1, 1], datatype: 4, voxels: [10, 20], sclSlope: 0.5, sclInter: -1024 }),
    );
    expect([...volume.voxels]).toEqual([-1019, -1014]);
  });

  it('ignores scl_slope 0', () => {
    const volume = readNifti(
      buildNifti({ sizes: [2, 1, 1], datatype: 4, voxels: [10, 20], sclSlope: 0, sclInter: 5 }),
    );
    expect([...volume.voxels]).toEqual([10, 20]);
  });
});

describe('readNifti rejections', () => {
  it('rejects a 4-D volume', () => {
    const error = errorOf(() =>
      readNifti(buildNifti({ sizes: [2, 1, 1, 2], datatype: 2, voxels: [1, 2, 3, 4] })),
    );
    expect(error.code).toBe('ERR_NIFTI_MALFORMED');
    expect(error.details.field).toBe('dim');
  });

  it('caps the voxel count before allocation', () => {
    const header = buildNifti({ sizes: [32767, 32767, 32767], datatype: 2, voxels: [] });
    const error = errorOf(() => readNifti(header));
    expect(error.code).toBe('ERR_INPUT_TOO_LARGE');
  });

  it('rejects gzip data longer than declared', () => {
    const file = buildNifti({ sizes: [2, 1, 1], datatype: 2, voxels: [1, 2] });
    const padded = new Uint8Array(file.length + 100000);
    padded.set(file);
    const error = errorOf(() => readNifti(new Uint8Array(gzipSync(padded))));
    expect(error.code).toBe('ERR_NIFTI_MALFORMED');
    expect(error.message).toContain('inflates to more than the 354 bytes');
  });

  it('rejects truncated data', () => {
    const file = buildNifti({ sizes: [4, 1, 1], datatype: 4, voxels: [1, 2, 3, 4] });
    expect(errorOf(() => readNifti(file.subarray(0, file.length - 1))).code).toBe('ERR_NIFTI_MALFORMED');
  });

  it.each([
    ['an RGB datatype', { datatype: 128 }, 'datatype'],
    ['a .hdr/.img pair', { magic: 'ni1\0' }, 'magic'],
    ['a wrong magic', { magic: 'abc\0' }, 'magic'],
  ] as const)('rejects %s', (_name, change, field) => {
    const error = errorOf(() =>
      readNifti(buildNifti({ sizes: [2, 1, 1], datatype: 2, voxels: [1, 2], ...change })),
    );
    expect(error.code).toBe('ERR_NIFTI_MALFORMED');
    expect(error.details.field).toBe(field);
  });

  it('rejects a file that is not NIfTI', () => {
    expect(errorOf(() => readNifti(new Uint8Array(400))).details.field).toBe('sizeof_hdr');
  });
});

describe('NIfTI label map on a DICOM grid', () => {
  it('matches the generated CT voxel for voxel', () => {
    // An oblique 6 × 5 × 4 grid: rows tilted 30° about z, 0.8 × 0.9 mm pixels, 2.5 mm slices.
    const c = Math.cos(Math.PI / 6);
    const s = Math.sin(Math.PI / 6);
    const grid: Grid = {
      dimensions: [6, 5, 4],
      spacingMm: [0.8, 0.9, 2.5],
      originMm: [-12.5, 30.25, -40],
      axes: [
        [c, s, 0],
        [-s, c, 0],
        [0, 0, 1],
      ],
    };
    const image = { grid, voxels: new Float64Array(120).map((_, index) => index) };
    const written = writeCtSeries(image, {
      studyInstanceUid: '2.25.1',
      frameOfReferenceUid: '2.25.2',
      studyDate: '20260101',
      accessionNumber: 'A1',
    });
    const series = readCtSeries(written.files.map((file) => file.slice().buffer));

    // Label 3 on every 7th voxel, label 1 on the other multiples of 5, 0 elsewhere.
    const labels = Array.from({ length: 120 }, (_, index) => {
      if (index % 7 === 0) return 3;
      if (index % 5 === 0) return 1;
      return 0;
    });
    const nifti = readNifti(
      buildNifti({
        sizes: [6, 5, 4],
        datatype: 2,
        voxels: labels,
        sform: sformOfGrid(series.volume.grid),
        gzip: true,
      }),
    );
    const mask = maskFromNrrdOnGrid(nifti, series.volume.grid, 3);
    expect(countLabel(mask)).toBe(labels.filter((value) => value === 3).length);
    for (let index = 0; index < 120; index++) expect(mask.voxels[index]).toBe(labels[index] === 3 ? 1 : 0);
  });
});
