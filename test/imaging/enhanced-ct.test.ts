/**
 * Enhanced CT and Legacy Converted Enhanced CT images read frame by frame, checked against the
 * single-frame version of the same volume and against stored values read from the file bytes.
 */

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { findSliceIndex, readCtSeries } from '../../src/imaging/ct-series.js';
import { voxelIndex } from '../../src/imaging/volume.js';
import { SHARED_DATA_DIR, readArrayBuffer } from '../support/shared-data.js';

import { syntheticEnhancedCt } from './build-dicom.js';
import { requireElement, walkRawDicom } from './raw-dicom.js';

import type { SyntheticSeries } from './build-dicom.js';

const SEGMENTATIONS_DIR = join(SHARED_DATA_DIR, 'dicom/dcmqi/segmentations');
const PIXEL_DATA_TAG = 0x7fe00010;

async function readFolder(dir: string): Promise<ArrayBuffer[]> {
  const names = (await readdir(dir)).sort();
  return Promise.all(names.map((name) => readArrayBuffer(join(dir, name))));
}

describe.each(['23x38x3', '24x38x3'])('Legacy Converted Enhanced CT %s', (caseName) => {
  it('matches the single-frame series voxel for voxel', async () => {
    const multiFrame = readCtSeries([
      await readArrayBuffer(join(SEGMENTATIONS_DIR, caseName, 'multiframe/mf.dcm')),
    ]);
    const singleFrame = readCtSeries(await readFolder(join(SEGMENTATIONS_DIR, caseName, 'image')));

    expect(multiFrame.volume.grid.dimensions).toEqual(singleFrame.volume.grid.dimensions);
    expect(multiFrame.volume.grid.dimensions[2]).toBe(3);
    expect(multiFrame.volume.grid.spacingMm).toEqual(singleFrame.volume.grid.spacingMm);
    expect(multiFrame.volume.grid.spacingMm[2]).toBeCloseTo(2.5, 9);
    expect(multiFrame.volume.grid.originMm).toEqual(singleFrame.volume.grid.originMm);
    expect(multiFrame.volume.grid.axes).toEqual(singleFrame.volume.grid.axes);
    expect(multiFrame.volume.voxels).toEqual(singleFrame.volume.voxels);
    expect(multiFrame.excluded).toEqual([]);
  });

  it('keeps the frame number of each slice', async () => {
    const series = readCtSeries([
      await readArrayBuffer(join(SEGMENTATIONS_DIR, caseName, 'multiframe/mf.dcm')),
    ]);
    const uid = series.sopInstanceUids[0]!;
    expect(series.sopInstanceUids).toEqual([uid, uid, uid]);
    const frames = series.sliceSources.map((source) => source?.frameNumber);
    expect([...frames].sort()).toEqual([1, 2, 3]);
    for (let k = 0; k < 3; k++) {
      expect(findSliceIndex(series, uid, frames[k]!)).toBe(k);
    }
    // Without a frame number a multi-frame image names no single slice.
    expect(findSliceIndex(series, uid, null)).toBeNull();
  });
});

describe('Enhanced CT eCT_Supplemental', () => {
  const filePath = join(SHARED_DATA_DIR, 'dicom/pydicom-data/eCT_Supplemental.dcm');

  it('builds a 512×512×2 grid from the functional groups', async () => {
    const { grid } = readCtSeries([await readArrayBuffer(filePath)]).volume;
    // Shared groups: PixelSpacing 0.388672\0.388672, ImageOrientationPatient -1\0\0\0\1\0. Per frame:
    // ImagePositionPatient 99.5\-301.5\-159 (frame 1) and 99.5\-301.5\-149 (frame 2). The normal
    // row × column is (0, 0, −1), so frame 2 comes first along it.
    expect(grid.dimensions).toEqual([512, 512, 2]);
    expect(grid.spacingMm[0]).toBe(0.388672);
    expect(grid.spacingMm[1]).toBe(0.388672);
    expect(grid.spacingMm[2]).toBeCloseTo(10, 9);
    expect(grid.originMm).toEqual([99.5, -301.5, -149]);
    expect(grid.axes[2]).toEqual([0, 0, -1]);
  });

  it('converts stored values with the shared rescale', async () => {
    const bytes = await readArrayBuffer(filePath);
    const series = readCtSeries([bytes]);
    expect(series.sliceSources.map((source) => source?.frameNumber)).toEqual([2, 1]);

    // Stored values straight from Pixel Data (unsigned 16-bit, little endian), frame by frame;
    // the shared PixelValueTransformationSequence gives slope 1 and intercept −1024.
    const raw = walkRawDicom(new Uint8Array(bytes));
    const pixelData = requireElement(raw, PIXEL_DATA_TAG);
    const view = new DataView(raw.bytes.buffer, raw.bytes.byteOffset, raw.bytes.byteLength);
    const frameBytes = 512 * 512 * 2;
    const grid = series.volume.grid;
    let nonZero = 0;
    for (const [i, j] of [
      [256, 256],
      [100, 300],
      [400, 120],
    ] as const) {
      const p = i + 512 * j;
      const frame1 = view.getUint16(pixelData.valueOffset + 2 * p, true);
      const frame2 = view.getUint16(pixelData.valueOffset + frameBytes + 2 * p, true);
      if (frame1 !== 0) nonZero++;
      expect(series.volume.voxels[voxelIndex(grid, i, j, 1)]).toBe(frame1 * 1 - 1024);
      expect(series.volume.voxels[voxelIndex(grid, i, j, 0)]).toBe(frame2 * 1 - 1024);
    }
    expect(nonZero).toBeGreaterThan(0);
  });
});

describe('Enhanced CT series split over two instances', () => {
  const series: SyntheticSeries = {
    studyInstanceUid: '2.25.101',
    seriesInstanceUid: '2.25.102',
    frameOfReferenceUid: '2.25.103',
    rows: 3,
    columns: 4,
    pixelSpacingMm: [0.8, 0.6],
    orientation: [1, 0, 0, 0, 1, 0],
    rescaleSlope: 2,
    rescaleIntercept: -1000,
  };
  /** Stored value of pixel (i, j) on slice z: distinct across slices and pixels. */
  const storedAt = (i: number, j: number, z: number): number => 100 * z + 10 * j + i;
  const frameAt = (z: number): { positionMm: [number, number, number]; stored: Int16Array } => {
    const stored = new Int16Array(12);
    for (let j = 0; j < 3; j++) for (let i = 0; i < 4; i++) stored[i + 4 * j] = storedAt(i, j, z);
    return { positionMm: [-10, 20, 2.5 * z], stored };
  };

  it('assembles frames of both instances into one volume', () => {
    const first = syntheticEnhancedCt(series, '2.25.201', [frameAt(4), frameAt(0), frameAt(2)]);
    const second = syntheticEnhancedCt(series, '2.25.202', [frameAt(3), frameAt(1)]);
    const result = readCtSeries([first, second]);
    const grid = result.volume.grid;

    expect(grid.dimensions).toEqual([4, 3, 5]);
    expect(grid.spacingMm[0]).toBe(0.6);
    expect(grid.spacingMm[1]).toBe(0.8);
    expect(grid.spacingMm[2]).toBeCloseTo(2.5, 9);
    expect(grid.originMm).toEqual([-10, 20, 0]);
    expect(result.sliceSources).toEqual([
      { sopInstanceUid: '2.25.201', frameNumber: 2 },
      { sopInstanceUid: '2.25.202', frameNumber: 2 },
      { sopInstanceUid: '2.25.201', frameNumber: 3 },
      { sopInstanceUid: '2.25.202', frameNumber: 1 },
      { sopInstanceUid: '2.25.201', frameNumber: 1 },
    ]);
    expect(findSliceIndex(result, '2.25.202', 1)).toBe(3);
    expect(findSliceIndex(result, '2.25.202', 3)).toBeNull();

    for (let k = 0; k < 5; k++) {
      for (let j = 0; j < 3; j++) {
        for (let i = 0; i < 4; i++) {
          expect(result.volume.voxels[voxelIndex(grid, i, j, k)]).toBe(storedAt(i, j, k) * 2 - 1000);
        }
      }
    }
  });

  it('rejects a frame without a plane position', () => {
    const file = syntheticEnhancedCt(series, '2.25.203', [frameAt(0)]);
    const text = new Uint8Array(file);
    // Retag PlanePositionSequence (0020,9113) as (0020,9FFF) inside the per-frame item.
    let retagged = 0;
    for (let offset = 0; offset + 4 <= text.length; offset++) {
      if (
        text[offset] === 0x20 &&
        text[offset + 1] === 0x00 &&
        text[offset + 2] === 0x13 &&
        text[offset + 3] === 0x91
      ) {
        text[offset + 2] = 0xff;
        text[offset + 3] = 0x9f;
        retagged++;
      }
    }
    expect(retagged).toBe(1);
    expect(() => readCtSeries([file])).toThrow(
      /frame 1: neither the per-frame nor the shared functional groups contain PlanePositionSequence/,
    );
  });
});
