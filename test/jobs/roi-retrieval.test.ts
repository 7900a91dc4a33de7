import { join } from 'node:path';

import { describe, expect, test } from 'vitest';

import type { DicomJsonDataset } from '../../src/dicomweb/client.js';
import {
  planRoiRetrieval,
  readRtStructContourPoints,
  readSegFrameGeometry,
  type TumourGeometry,
} from '../../src/jobs/roi-retrieval.js';
import { LIVER_SEG_FILE, SHARED_DATA_DIR, readArrayBuffer } from '../support/shared-data.js';

const AXIAL = [1, 0, 0, 0, 1, 0];

/** Builds the WADO-RS metadata of one single-frame CT instance. */
function instance(
  uid: string,
  position: readonly unknown[],
  orientation: readonly unknown[] = AXIAL,
): DicomJsonDataset {
  return {
    '00080018': { vr: 'UI', Value: [uid] },
    '00200032': { vr: 'DS', Value: [...position] },
    '00200037': { vr: 'DS', Value: [...orientation] },
  };
}

/** Builds an axial stack of `count` slices from z = 0 at `spacingMm`, named `ct.<z index>`. */
function axialStack(count: number, spacingMm: number): DicomJsonDataset[] {
  return Array.from({ length: count }, (_unused, k) => instance(`ct.${k}`, [-100, -120, k * spacingMm]));
}

function segAt(...zMm: number[]): TumourGeometry {
  return { source: 'SEG', orientation: AXIAL, positionsMm: zMm.map((z) => [-100, -120, z] as const) };
}

describe('planRoiRetrieval', () => {
  test('keeps the slices within dilation plus one spacing of the SEG frames', () => {
    const plan = planRoiRetrieval(axialStack(20, 1), segAt(8, 9, 10), 3);

    // margin 3 + 1 = 4 mm: z 4..14, eleven of twenty slices.
    expect(plan).toEqual({
      path: 'roi',
      sopInstanceUids: Array.from({ length: 11 }, (_unused, index) => `ct.${index + 4}`),
      seriesInstanceCount: 20,
      sliceStepMm: 1,
      extentMm: [4, 14],
    });
  });

  test('uses the series spacing and sorts by position, whatever the metadata order', () => {
    const stack = axialStack(20, 2.5).reverse();

    const plan = planRoiRetrieval(stack, segAt(27.5, 25), 3);

    // margin 3 + 2.5 = 5.5 mm: extent [19.5, 33], slices at 20, 22.5, …, 32.5 (k = 8..13).
    expect(plan).toMatchObject({
      path: 'roi',
      sopInstanceUids: ['ct.8', 'ct.9', 'ct.10', 'ct.11', 'ct.12', 'ct.13'],
      extentMm: [19.5, 33],
    });
  });

  test('reads DS values sent as strings', () => {
    const stack = Array.from({ length: 10 }, (_unused, k) =>
      instance(`ct.${k}`, ['-100', '-120', `${k}.0`], AXIAL.map(String)),
    );

    const plan = planRoiRetrieval(stack, segAt(0), 0);

    expect(plan).toMatchObject({ path: 'roi', sopInstanceUids: ['ct.0', 'ct.1'] });
  });

  test('measures positions along the normal of a sagittal stack', () => {
    // Rows along +y, columns along −z: the normal y × (−z) is −x, so slices come by decreasing x.
    const sagittal = [0, 1, 0, 0, 0, -1];
    const stack = Array.from({ length: 12 }, (_unused, k) => instance(`ct.${k}`, [k * 2, -50, 80], sagittal));
    const seg: TumourGeometry = { source: 'SEG', orientation: sagittal, positionsMm: [[12, -50, 80]] };

    const plan = planRoiRetrieval(stack, seg, 1);

    // margin 1 + 2 = 3 mm around x = 12: x 14, 12, 10.
    expect(plan).toMatchObject({
      path: 'roi',
      sopInstanceUids: ['ct.7', 'ct.6', 'ct.5'],
      extentMm: [-15, -9],
    });
  });

  test.each([
    [
      'missing position',
      [...axialStack(5, 1), { '00080018': { vr: 'UI', Value: ['ct.x'] } }],
      'a CT instance has no ImagePositionPatient in its metadata',
    ],
    [
      'Enhanced CT',
      [{ ...instance('ct.e', [0, 0, 0]), '00280008': { vr: 'IS', Value: [40] } }, ...axialStack(3, 1)],
      'the CT series has multi-frame instances (Enhanced CT)',
    ],
    [
      'tilted stack',
      Array.from({ length: 6 }, (_unused, k) => instance(`ct.${k}`, [-100, -120 + k * 0.3, k])),
      'the slices shift within their plane (tilted or sheared stack)',
    ],
    [
      'irregular spacing',
      [0, 1, 2, 4, 5].map((z) => instance(`ct.${z}`, [-100, -120, z])),
      'the slice spacing is irregular (2.000 mm after 1.000 mm)',
    ],
    [
      'duplicate position',
      [0, 0, 1, 2].map((z, index) => instance(`ct.${index}`, [-100, -120, z])),
      'two CT instances share one slice position',
    ],
    [
      'two orientations',
      [...axialStack(4, 1), instance('ct.o', [-100, -120, 4], [1, 0, 0, 0, 0, -1])],
      'the CT instances have several orientations',
    ],
  ])('%s: whole series', (_name, metadata, reason) => {
    expect(planRoiRetrieval(metadata, segAt(2), 3)).toEqual({ path: 'whole-series', reason });
  });

  test.each([
    ['a frame off the slices', segAt(8.5), 'a SEG frame at z = 8.500 mm lies on no CT slice'],
    [
      'frames without position',
      { source: 'SEG', orientation: AXIAL, positionsMm: null },
      'a SEG frame has no PlanePositionSequence',
    ],
    [
      'another orientation',
      { source: 'SEG', orientation: [1, 0, 0, 0, 0, -1], positionsMm: [[-100, -120, 8]] },
      'the SEG orientation differs from the CT orientation',
    ],
    ['a tumour spanning the series', segAt(1, 18), 'the widened ROI spans every slice of the series'],
  ] as const)('SEG with %s: whole series', (_name, seg, reason) => {
    expect(planRoiRetrieval(axialStack(20, 1), seg, 3)).toEqual({ path: 'whole-series', reason });
  });
});

describe('readSegFrameGeometry', () => {
  test('reads the three frame positions of the liver SEG', async () => {
    const geometry = readSegFrameGeometry(await readArrayBuffer(LIVER_SEG_FILE));

    expect(geometry.orientation).toEqual(AXIAL);
    expect(geometry.positionsMm).toEqual([
      [-235.2, -226.8, -128.69],
      [-235.2, -226.8, -127.69],
      [-235.2, -226.8, -126.69],
    ]);
  });
});

describe('RTSTRUCT contours', () => {
  test('reads the contour points of rt-utils rt.dcm', async () => {
    const file = await readArrayBuffer(join(SHARED_DATA_DIR, 'dicom/rt-utils/mock_data/rt.dcm'));

    const geometry = readRtStructContourPoints(file);

    // Two closed contours (the ring), both in the plane z = 60 mm of ct_1.dcm.
    expect(geometry.positionsMm?.length).toBeGreaterThan(8);
    expect(new Set(geometry.positionsMm?.map((point) => point[2]))).toEqual(new Set([60]));
  });

  test('plans from contour points without an orientation', () => {
    const tumour: TumourGeometry = {
      source: 'RTSTRUCT',
      positionsMm: [
        [-90, -100, 10],
        [-80, -110, 10],
        [-85, -105, 11],
      ],
    };

    // margin 3 + 1 = 4 mm: z 6..15.
    expect(planRoiRetrieval(axialStack(20, 1), tumour, 3)).toMatchObject({
      path: 'roi',
      sopInstanceUids: Array.from({ length: 10 }, (_unused, index) => `ct.${index + 6}`),
      extentMm: [6, 15],
    });
  });

  test('contour point off the slices: whole series', () => {
    const tumour: TumourGeometry = { source: 'RTSTRUCT', positionsMm: [[-90, -100, 10.5]] };

    expect(planRoiRetrieval(axialStack(20, 1), tumour, 3)).toEqual({
      path: 'whole-series',
      reason: 'an RTSTRUCT contour point at z = 10.500 mm lies on no CT slice',
    });
  });
});
