/** RTSTRUCT ROIs rasterised onto CT grids: shared files and structure sets built in the test. */

import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { readCtSeries } from '../../src/imaging/ct-series.js';
import { readRtStructMask } from '../../src/imaging/rtstruct.js';
import { countLabel, voxelCentreMm } from '../../src/imaging/volume.js';
import { readArrayBuffer } from '../support/shared-data.js';
import { buildRtStruct } from './build-rtstruct.js';

import type { CtSeries } from '../../src/imaging/ct-series.js';
import type { Grid } from '../../src/imaging/volume.js';

const DICOM = (path: string): string =>
  fileURLToPath(new URL(`../../../shared/data/dicom/${path}`, import.meta.url));

async function seriesOf(...paths: string[]): Promise<CtSeries> {
  return readCtSeries(await Promise.all(paths.map((path) => readArrayBuffer(DICOM(path)))));
}

/** Crossing-number test in patient x/y, written independently of the rasteriser. */
function insidePolygon(x: number, y: number, polygon: readonly number[]): boolean {
  let inside = false;
  const count = polygon.length / 3;
  for (let a = 0, b = count - 1; a < count; b = a++) {
    const xa = polygon[3 * a]!;
    const ya = polygon[3 * a + 1]!;
    const xb = polygon[3 * b]!;
    const yb = polygon[3 * b + 1]!;
    if (ya > y !== yb > y && x < ((xb - xa) * (y - ya)) / (yb - ya) + xa) inside = !inside;
  }
  return inside;
}

/** Returns the error `action` throws, or fails. */
function thrown(action: () => unknown): { code: string; message: string; details: Record<string, unknown> } {
  try {
    action();
  } catch (error) {
    return error as { code: string; message: string; details: Record<string, unknown> };
  }
  throw new Error('expected an error');
}

describe('readRtStructMask on rt-utils mock data', () => {
  it('fills the square ring of rt.dcm', async () => {
    const series = await seriesOf('rt-utils/mock_data/ct_1.dcm', 'rt-utils/mock_data/ct_2.dcm');
    const mask = readRtStructMask(await readArrayBuffer(DICOM('rt-utils/mock_data/rt.dcm')), series);

    // The two contours of the file, both at z = 60 mm: a square, and inside it
    // a smaller square with one corner cut off, which is a hole under the even-odd rule.
    const outer = [-51, -51, 60, -51, -27, 60, -27, -27, 60, -27, -51, 60];
    const inner = [
      -47, -46, 60, -46, -47, 60, -32, -47, 60, -32, -46, 60, -32, -32, 60, -32, -32, 60, -46, -32, 60, -47,
      -32, 60,
    ];
    const grid = series.volume.grid;
    let expected = 0;
    let mismatches = 0;
    for (let k = 0; k < grid.dimensions[2]; k++) {
      for (let j = 0; j < grid.dimensions[1]; j++) {
        for (let i = 0; i < grid.dimensions[0]; i++) {
          const [x, y, z] = voxelCentreMm(grid, i, j, k);
          const inside = Math.abs(z - 60) < 1e-6 && insidePolygon(x, y, outer) !== insidePolygon(x, y, inner);
          if (inside) expected++;
          if ((mask.voxels[i + grid.dimensions[0] * (j + grid.dimensions[1] * k)] === 1) !== inside)
            mismatches++;
        }
      }
    }
    expect(series.sopInstanceUids[0]).toBe('2.16.840.1.114362.1.11940992.23790159890.563423471.893.87');
    // By hand: centres lie at −125 + 0.488281·i mm. The square covers i, j = 152..200 (49 × 49 = 2401),
    // the hole i, j = 160..190 (31 × 31 = 961) less 3 centres cut off by its chamfer from (−47, −46)
    // to (−46, −47): 2401 − 958 = 1443.
    expect(expected).toBe(1443);
    expect(countLabel(mask)).toBe(expected);
    expect(mismatches).toBe(0);
  });

  it.each(['invalid_reference_rt.dcm', 'non_existent_reference_rt.dcm'])(
    'rejects the dangling reference of %s',
    async (name) => {
      const series = await seriesOf('rt-utils/mock_data/ct_1.dcm', 'rt-utils/mock_data/ct_2.dcm');
      const bytes = await readArrayBuffer(DICOM(`rt-utils/mock_data/${name}`));
      const error = thrown(() => readRtStructMask(bytes, series, { roiName: 'ROI-2' }));
      expect(error.code).toBe('ERR_RTSTRUCT_MALFORMED');
      expect(error.details).toMatchObject({ referencedImages: 3, missingImages: 1 });
      expect(error.message).toContain('2.16.840.1.114362.1.11940992.23790159890.563423471.995.90');
    },
  );

  it('lists the ROIs when none is chosen', async () => {
    const series = await seriesOf('rt-utils/mock_data/ct_1.dcm', 'rt-utils/mock_data/ct_2.dcm');
    const bytes = await readArrayBuffer(DICOM('rt-utils/mock_data/invalid_reference_rt.dcm'));
    const error = thrown(() => readRtStructMask(bytes, series));
    expect(error.code).toBe('ERR_SEGMENT_SELECTION');
    expect(error.message).toContain('ROI 1 "ROI-1", ROI 2 "ROI-2", ROI 3 "ROI-3", ROI 4 "ROI-4"');
    expect(thrown(() => readRtStructMask(bytes, series, { roiNumber: 9 })).message).toContain(
      'no ROI matches ROI number 9',
    );
  });
});

describe('readRtStructMask on incomplete image sets', () => {
  it('names the 97 images of BODY missing from the dicompyler CT', async () => {
    const series = await seriesOf('dicompyler-core/ct.0.dcm');
    const bytes = await readArrayBuffer(DICOM('dicompyler-core/rtss.dcm'));
    const error = thrown(() => readRtStructMask(bytes, series, { roiName: 'body' }));
    expect(error.code).toBe('ERR_RTSTRUCT_MALFORMED');
    expect(error.details).toMatchObject({ roiNumber: 1, referencedImages: 98, missingImages: 97 });
    expect(error.message).toContain('97 of them are not in the CT series of 1 image');
  });

  it('reports the Areola ROI as empty', async () => {
    const series = await seriesOf('dicompyler-core/ct.0.dcm');
    const bytes = await readArrayBuffer(DICOM('dicompyler-core/rtss.dcm'));
    const error = thrown(() => readRtStructMask(bytes, series, { roiName: 'Areola' }));
    expect(error.code).toBe('ERR_MASK_EMPTY');
    expect(error.message).toContain('ROI 2 "Areola" has no contour');
  });

  it('names the images of SpinalCord missing from the Orthanc CT', async () => {
    const series = await seriesOf('orthanc-tests/HierarchicalAnonymization/RTH/CT01.dcm');
    const bytes = await readArrayBuffer(DICOM('orthanc-tests/HierarchicalAnonymization/RTH/RT.dcm'));
    const error = thrown(() => readRtStructMask(bytes, series, { roiName: 'SpinalCord' }));
    expect(error.code).toBe('ERR_RTSTRUCT_MALFORMED');
    expect(error.details).toMatchObject({ referencedImages: 104, missingImages: 103 });
  });

  it('rejects pydicom rtstruct.dcm without a file meta header', async () => {
    const series = await seriesOf('rt-utils/mock_data/ct_1.dcm', 'rt-utils/mock_data/ct_2.dcm');
    const bytes = await readArrayBuffer(DICOM('pydicom/rtstruct.dcm'));
    const error = thrown(() => readRtStructMask(bytes, series));
    expect(error.code).toBe('ERR_DICOM_MALFORMED');
    expect(error.message).toContain('not a DICOM Part 10 file');
  });
});

/** A 20 × 20 × 3 axial grid of 1 mm voxels with slices 2 mm apart, origin (0, 0, 0). */
const GRID: Grid = {
  dimensions: [20, 20, 3],
  spacingMm: [1, 1, 2],
  originMm: [0, 0, 0],
  axes: [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ],
};
const FRAME = '2.25.777';
const SERIES: CtSeries = {
  volume: { grid: GRID, voxels: new Float64Array(20 * 20 * 3) },
  studyInstanceUid: '2.25.1',
  seriesInstanceUid: '2.25.2',
  frameOfReferenceUid: FRAME,
  sopInstanceUids: ['2.25.10', '2.25.11', '2.25.12'],
  sliceSources: ['2.25.10', '2.25.11', '2.25.12'].map((sopInstanceUid) => ({
    sopInstanceUid,
    frameNumber: null,
  })),
  excluded: [],
  warnings: [],
  modality: 'CT',
  seriesDescription: null,
};

/** A square from (x0, y0) to (x1, y1) at height z, counter-clockwise. */
function square(x0: number, y0: number, x1: number, y1: number, z: number): [number, number, number][] {
  return [
    [x0, y0, z],
    [x1, y0, z],
    [x1, y1, z],
    [x0, y1, z],
  ];
}

describe('readRtStructMask on built structure sets', () => {
  it('keeps the hole of a square ring', () => {
    // Outer square [2, 12] mm and hole [5, 9] mm on slice k = 1 (z = 2 mm). With the half-open edge
    // rule the outer square covers centres 2..11 (10 × 10) and the hole centres 5..8 (4 × 4).
    const bytes = buildRtStruct(
      [
        {
          number: 1,
          name: 'Ring',
          contours: [
            { points: square(2, 2, 12, 12, 2), imageUid: '2.25.11' },
            { points: square(5, 5, 9, 9, 2), imageUid: '2.25.11' },
          ],
        },
      ],
      FRAME,
      '2.25.2',
    );
    const mask = readRtStructMask(bytes, SERIES);
    expect(countLabel(mask)).toBe(100 - 16);
    expect(mask.voxels[2 + 20 * (2 + 20)]).toBe(1);
    expect(mask.voxels[11 + 20 * (11 + 20)]).toBe(1);
    expect(mask.voxels[12 + 20 * (12 + 20)]).toBe(0);
    expect(mask.voxels[6 + 20 * (6 + 20)]).toBe(0);
    expect(mask.voxels.subarray(0, 400).includes(1)).toBe(false);
  });

  it('fills two disjoint contours on one slice', () => {
    const bytes = buildRtStruct(
      [
        {
          number: 3,
          name: 'Lesions',
          contours: [{ points: square(1, 1, 4, 4, 0) }, { points: square(10.5, 10.5, 13.5, 12.5, 0) }],
        },
      ],
      FRAME,
    );
    const mask = readRtStructMask(bytes, SERIES, { roiName: ' lesions ' });
    // 3 × 3 centres in the first square; 11..13 × 11..12 = 3 × 2 in the second.
    expect(countLabel(mask)).toBe(9 + 6);
    expect(mask.voxels[11 + 20 * 12]).toBe(1);
  });

  it('combines overlapping contours by exclusive or', () => {
    // Squares [0, 4] and [2, 6] mm overlap in [2, 4]: 16 + 16 − 2 × 4 = 24 centres.
    const bytes = buildRtStruct(
      [
        {
          number: 1,
          name: 'Overlap',
          contours: [{ points: square(0, 0, 4, 4, 4) }, { points: square(2, 2, 6, 6, 4) }],
        },
      ],
      FRAME,
    );
    const mask = readRtStructMask(bytes, SERIES);
    expect(countLabel(mask)).toBe(24);
    expect(mask.voxels[3 + 20 * (3 + 40)]).toBe(0);
    expect(mask.voxels[1 + 20 * (1 + 40)]).toBe(1);
  });

  it('rejects a contour on a slice with no image', () => {
    const bytes = buildRtStruct(
      [{ number: 1, name: 'Tumour', contours: [{ points: square(2, 2, 6, 6, 6) }] }],
      FRAME,
    );
    const error = thrown(() => readRtStructMask(bytes, SERIES));
    expect(error.code).toBe('ERR_MASK_GEOMETRY');
    expect(error.message).toContain('slices k=0..2');
  });

  it('accepts a reference to a multi-frame image holding the slice', () => {
    // All three slices are frames of instance 2.25.10; the contour on k = 1 references that instance.
    const multiFrame: CtSeries = {
      ...SERIES,
      sopInstanceUids: ['2.25.10', '2.25.10', '2.25.10'],
      sliceSources: [1, 2, 3].map((frameNumber) => ({ sopInstanceUid: '2.25.10', frameNumber })),
    };
    const bytes = buildRtStruct(
      [{ number: 1, name: 'Tumour', contours: [{ points: square(2, 2, 6, 6, 2), imageUid: '2.25.10' }] }],
      FRAME,
    );
    const mask = readRtStructMask(bytes, multiFrame);
    expect(countLabel(mask)).toBe(16);
    expect(mask.voxels.subarray(400, 800).includes(1)).toBe(true);
  });

  it('rejects a contour past the image edge', () => {
    // The 20 × 20 slice ends at 19.5 mm; two corners of the square lie beyond it, and a third on x.
    const bytes = buildRtStruct(
      [{ number: 1, name: 'Tumour', contours: [{ points: square(15, 15, 25, 18, 0) }] }],
      FRAME,
    );
    const error = thrown(() => readRtStructMask(bytes, SERIES));
    expect(error.code).toBe('ERR_MASK_GEOMETRY');
    expect(error.message).toContain('has 2 of its 4 points outside the 20 × 20 image plane');
  });

  it('rejects a one-voxel ROI', () => {
    const bytes = buildRtStruct(
      [{ number: 1, name: 'Tumour', contours: [{ points: square(2, 2, 3, 3, 0) }] }],
      FRAME,
    );
    const error = thrown(() => readRtStructMask(bytes, SERIES));
    expect(error.code).toBe('ERR_ROI_TOO_SMALL');
    expect(error.message).toContain('covers 1 voxel');
  });

  it('rejects a contour between two slices', () => {
    const bytes = buildRtStruct(
      [{ number: 1, name: 'Tumour', contours: [{ points: square(2, 2, 6, 6, 1) }] }],
      FRAME,
    );
    expect(thrown(() => readRtStructMask(bytes, SERIES)).code).toBe('ERR_MASK_GEOMETRY');
  });

  it('rejects a contour placed off its referenced image', () => {
    const bytes = buildRtStruct(
      [{ number: 1, name: 'Tumour', contours: [{ points: square(2, 2, 6, 6, 0), imageUid: '2.25.12' }] }],
      FRAME,
    );
    const error = thrown(() => readRtStructMask(bytes, SERIES));
    expect(error.code).toBe('ERR_RTSTRUCT_MALFORMED');
    expect(error.message).toContain('references the image of slice k=2');
  });

  it('rejects a structure set of another series', () => {
    const bytes = buildRtStruct(
      [{ number: 1, name: 'Tumour', contours: [{ points: square(2, 2, 6, 6, 0) }] }],
      FRAME,
      '2.25.999',
    );
    expect(thrown(() => readRtStructMask(bytes, SERIES)).code).toBe('ERR_MASK_GEOMETRY');
  });

  it('rejects another frame of reference without image references', () => {
    const bytes = buildRtStruct(
      [{ number: 1, name: 'Tumour', contours: [{ points: square(2, 2, 6, 6, 0) }] }],
      '2.25.888',
    );
    expect(thrown(() => readRtStructMask(bytes, SERIES)).code).toBe('ERR_MASK_GEOMETRY');
  });

  it('rejects a POINT contour', () => {
    const bytes = buildRtStruct(
      [{ number: 1, name: 'Tumour', contours: [{ points: square(2, 2, 6, 6, 0), type: 'OPEN_PLANAR' }] }],
      FRAME,
    );
    expect(thrown(() => readRtStructMask(bytes, SERIES)).code).toBe('ERR_DICOM_UNSUPPORTED');
  });

  it('reports contours that enclose no voxel centre', () => {
    const bytes = buildRtStruct(
      [{ number: 1, name: 'Speck', contours: [{ points: square(2.2, 2.2, 2.8, 2.8, 0) }] }],
      FRAME,
    );
    const error = thrown(() => readRtStructMask(bytes, SERIES));
    expect(error.code).toBe('ERR_MASK_EMPTY');
    expect(error.message).toContain('enclose no voxel centre');
  });
});
