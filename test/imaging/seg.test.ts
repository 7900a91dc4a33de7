/**
 * DICOM SEG reader on the dcmqi segmentations, checked against the NRRD label maps that dcmqi
 * ships for the same segmentations and against bit counts taken straight from the file bytes.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { readCtSeries, readCtSeriesFromFolder } from '../../src/imaging/ct-series.js';
import { readNrrd } from '../../src/imaging/nrrd.js';
import { readSegMask } from '../../src/imaging/seg.js';
import { SHARED_DATA_DIR, readArrayBuffer } from '../support/shared-data.js';

import { requireElement, walkRawDicom } from './raw-dicom.js';

import type { CtSeries } from '../../src/imaging/ct-series.js';
import type { MaskVolume } from '../../src/imaging/volume.js';

const SEGMENTATIONS = join(SHARED_DATA_DIR, 'dicom/dcmqi/segmentations');
const PIXEL_DATA = 0x7fe00010;

function readNrrdFile(path: string): ReturnType<typeof readNrrd> {
  return readNrrd(new Uint8Array(readFileSync(path)));
}

/** Counts voxels where `mask` and the label map (value === label) disagree. */
function countDifferences(mask: MaskVolume, labelMap: Float64Array, label: number): number {
  let differences = 0;
  for (let index = 0; index < mask.voxels.length; index++) {
    if (mask.voxels[index] !== (labelMap[index] === label ? 1 : 0)) differences++;
  }
  return differences;
}

function countSet(mask: MaskVolume): number {
  let count = 0;
  for (const value of mask.voxels) count += value;
  return count;
}

/** Replaces every occurrence of `from` by `to` (same length) and `to` by `from` in `bytes`. */
function swapAscii(bytes: Uint8Array, from: string, to: string): number {
  const a = new TextEncoder().encode(from);
  const b = new TextEncoder().encode(to);
  let swaps = 0;
  for (let offset = 0; offset + a.length <= bytes.length; offset++) {
    const isA = a.every((value, index) => bytes[offset + index] === value);
    const isB = !isA && b.every((value, index) => bytes[offset + index] === value);
    if (!isA && !isB) continue;
    bytes.set(isA ? b : a, offset);
    offset += a.length - 1;
    swaps++;
  }
  return swaps;
}

function errorOf(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error('expected an error, but the call succeeded');
}

describe('readSegMask on the liver SEG of ct-3slice', () => {
  let series: CtSeries;
  let liverSeg: ArrayBuffer;

  beforeAll(async () => {
    series = await readCtSeriesFromFolder(join(SEGMENTATIONS, 'ct-3slice'));
    liverSeg = await readArrayBuffer(join(SEGMENTATIONS, 'liver.dcm'));
  });

  it('sets as many voxels as the SEG has set bits', () => {
    const raw = walkRawDicom(new Uint8Array(liverSeg));
    const pixelData = requireElement(raw, PIXEL_DATA);
    let setBits = 0;
    for (let offset = 0; offset < pixelData.length; offset++) {
      let byte = raw.bytes[pixelData.valueOffset + offset]!;
      while (byte !== 0) {
        setBits += byte & 1;
        byte >>= 1;
      }
    }

    const mask = readSegMask(liverSeg, series);
    expect(mask.grid).toEqual(series.volume.grid);
    expect(countSet(mask)).toBe(setBits);
    expect(setBits).toBe(107_098);
  });

  it('equals liver_seg.nrrd voxel for voxel', () => {
    const nrrd = readNrrdFile(join(SEGMENTATIONS, 'liver_seg.nrrd'));
    const mask = readSegMask(liverSeg, series);
    expect(nrrd.grid.dimensions).toEqual([512, 512, 3]);
    expect(countDifferences(mask, nrrd.voxels, 1)).toBe(0);

    const sliceSize = 512 * 512;
    for (let k = 0; k < 3; k++) {
      const sliceMask = mask.voxels.subarray(k * sliceSize, (k + 1) * sliceSize);
      expect(sliceMask.includes(1)).toBe(true);
    }
  });

  it('places frames by position, not frame number', () => {
    // Swap the plane positions and source references of frames 1 and 3 in the bytes, and swap their
    // pixel data, so the same content arrives in the opposite frame order.
    const bytes = new Uint8Array(liverSeg.slice(0));
    expect(swapAscii(bytes, '-1.286900e+02', '-1.266900e+02')).toBe(2);
    expect(swapAscii(bytes, '10.23433.1', '10.23431.1')).toBeGreaterThanOrEqual(2);
    const pixelData = requireElement(walkRawDicom(bytes), PIXEL_DATA);
    const frameBytes = (512 * 512) / 8;
    const first = bytes.slice(pixelData.valueOffset, pixelData.valueOffset + frameBytes);
    const third = bytes.slice(pixelData.valueOffset + 2 * frameBytes, pixelData.valueOffset + 3 * frameBytes);
    expect(Buffer.from(first).equals(Buffer.from(third))).toBe(false);
    bytes.set(third, pixelData.valueOffset);
    bytes.set(first, pixelData.valueOffset + 2 * frameBytes);

    const reordered = readSegMask(bytes.buffer, series);
    const original = readSegMask(liverSeg, series);
    expect(Buffer.from(reordered.voxels).equals(Buffer.from(original.voxels))).toBe(true);
  });

  it('places frames by source image when plane positions are absent', () => {
    // Retag PlanePositionSequence (0020,9113) as (0020,9FFF) so the reader no longer finds it.
    const bytes = new Uint8Array(liverSeg.slice(0));
    let retagged = 0;
    for (let offset = 0; offset + 4 <= bytes.length; offset++) {
      if (
        bytes[offset] === 0x20 &&
        bytes[offset + 1] === 0x00 &&
        bytes[offset + 2] === 0x13 &&
        bytes[offset + 3] === 0x91
      ) {
        bytes[offset + 2] = 0xff;
        bytes[offset + 3] = 0x9f;
        retagged++;
      }
    }
    expect(retagged).toBeGreaterThanOrEqual(3);

    const byReference = readSegMask(bytes.buffer, series);
    const original = readSegMask(liverSeg, series);
    expect(Buffer.from(byReference.voxels).equals(Buffer.from(original.voxels))).toBe(true);
  });

  it('needs ReferencedFrameNumber for a multi-frame source', () => {
    // Without plane positions, and with all three CT slices presented as frames of one instance,
    // a reference by SOPInstanceUID alone names no single slice.
    const bytes = new Uint8Array(liverSeg.slice(0));
    for (let offset = 0; offset + 4 <= bytes.length; offset++) {
      if (
        bytes[offset] === 0x20 &&
        bytes[offset + 1] === 0x00 &&
        bytes[offset + 2] === 0x13 &&
        bytes[offset + 3] === 0x91
      ) {
        bytes[offset + 2] = 0xff;
        bytes[offset + 3] = 0x9f;
      }
    }
    const uid = series.sopInstanceUids[0]!;
    const multiFrame: CtSeries = {
      ...series,
      sopInstanceUids: [uid, uid, uid],
      sliceSources: [1, 2, 3].map((frameNumber) => ({ sopInstanceUid: uid, frameNumber })),
    };

    const error = errorOf(() => readSegMask(bytes.buffer, multiFrame));

    expect(isNqo1Error(error, 'ERR_SEG_MALFORMED')).toBe(true);
    expect(error.message).toContain('without ReferencedFrameNumber');
  });

  it('reads the big endian copy identically', async () => {
    const bigEndian = await readArrayBuffer(join(SHARED_DATA_DIR, 'dicom/pydicom-data/liver_expb.dcm'));
    const mask = readSegMask(bigEndian, series);
    expect(Buffer.from(mask.voxels).equals(Buffer.from(readSegMask(liverSeg, series).voxels))).toBe(true);
  });

  it('selects the segment by label or number', () => {
    expect(countSet(readSegMask(liverSeg, series, { segmentLabel: ' liver ' }))).toBe(107_098);
    expect(countSet(readSegMask(liverSeg, series, { segmentNumber: 1 }))).toBe(107_098);

    const wrongLabel = errorOf(() => readSegMask(liverSeg, series, { segmentLabel: 'Tumour' }));
    expect(isNqo1Error(wrongLabel, 'ERR_SEGMENT_SELECTION')).toBe(true);
    expect(wrongLabel.message).toContain('1 "Liver"');
    const wrongNumber = errorOf(() => readSegMask(liverSeg, series, { segmentNumber: 2 }));
    expect(isNqo1Error(wrongNumber, 'ERR_SEGMENT_SELECTION')).toBe(true);
  });

  it('rejects a series with the middle slice missing', async () => {
    const files = await Promise.all(
      ['01.dcm', '03.dcm'].map((name) => readArrayBuffer(join(SEGMENTATIONS, 'ct-3slice', name))),
    );
    const gapped = readCtSeries(files);
    const error = errorOf(() => readSegMask(liverSeg, gapped));
    expect(isNqo1Error(error, 'ERR_MASK_GEOMETRY')).toBe(true);
    expect(error.message).toContain('-127.69');
  });

  it('rejects a SEG of another frame of reference', async () => {
    const otherSeg = await readArrayBuffer(join(SEGMENTATIONS, '24x38x3/seg/label.seg'));
    const error = errorOf(() => readSegMask(otherSeg, series));
    expect(isNqo1Error(error, 'ERR_MASK_GEOMETRY')).toBe(true);
    expect(error.message).toContain('FrameOfReferenceUID');
    expect(error.message).toContain('Pass the SEG made on this CT series');
  });

  it('rejects a SEG of another series', () => {
    // Rename the series in ReferencedSeriesSequence (same length), so only that reference changes.
    const bytes = new Uint8Array(liverSeg.slice(0));
    expect(swapAscii(bytes, '10.23430.1', '10.29430.1')).toBe(1);

    const error = errorOf(() => readSegMask(bytes.buffer, series));
    expect(isNqo1Error(error, 'ERR_MASK_GEOMETRY')).toBe(true);
    expect(error.message).toContain('1.2.392.200103.20080913.113635.1.2009.6.22.21.43.10.29430.1');
    expect(error.message).toContain(series.seriesInstanceUid);
    expect(error.message).toContain('Pass the SEG made on this CT series');
  });

  it('rejects frames sourced from other images', () => {
    // Rename the three referenced CT images (same length); the plane positions still match the CT.
    const bytes = new Uint8Array(liverSeg.slice(0));
    for (const instance of ['10.23431.1', '10.23432.1', '10.23433.1']) {
      expect(swapAscii(bytes, instance, instance.replace('10.234', '10.294'))).toBeGreaterThanOrEqual(2);
    }

    const error = errorOf(() => readSegMask(bytes.buffer, series));
    expect(isNqo1Error(error, 'ERR_MASK_GEOMETRY')).toBe(true);
    expect(error.message).toMatch(/frame \d+ references source images .*10\.2943\d\.1/);
    expect(error.message).toContain('Pass the SEG made on this CT series');
  });

  it.each([['a tiled microscopy label map', 'dicom/highdicom/seg_image_sm_control_labelmap.dcm']])(
    'rejects %s as unsupported',
    async (_name, path) => {
      const file = await readArrayBuffer(join(SHARED_DATA_DIR, path));
      const error = errorOf(() => readSegMask(file, series));
      expect(isNqo1Error(error, 'ERR_DICOM_UNSUPPORTED')).toBe(true);
    },
  );

  it.each([
    ['JPEG 2000 frames', 'dicom/pydicom-data/liver_j2k.dcm'],
    ['deflated frames', 'dicom/pydicom-data/liver_deflate.dcm'],
    ['RLE frames', 'dicom/pydicom-data/liver_rle.dcm'],
  ])('reads %s as the native SEG', async (_name, path) => {
    const file = await readArrayBuffer(join(SHARED_DATA_DIR, path));
    const mask = readSegMask(file, series);
    expect(countSet(mask)).toBe(107_098);
    expect(Buffer.from(mask.voxels).equals(Buffer.from(readSegMask(liverSeg, series).voxels))).toBe(true);
  });

  it('rejects a truncated SEG', () => {
    const cut = liverSeg.slice(0, liverSeg.byteLength - 10_000);
    const error = errorOf(() => readSegMask(cut, series));
    expect(isNqo1Error(error, 'ERR_DICOM_MALFORMED')).toBe(true);
  });
});

describe('readSegMask with several segments', () => {
  it('requires a choice and matches each overlap layer', async () => {
    const series = await readCtSeriesFromFolder(join(SEGMENTATIONS, 'ct-3slice'));
    const seg = await readArrayBuffer(join(SEGMENTATIONS, 'partial_overlaps.dcm'));
    const layers = [1, 2, 3].map((layer) =>
      readNrrdFile(join(SEGMENTATIONS, `partial_overlaps-${layer}.nrrd`)),
    );

    const error = errorOf(() => readSegMask(seg, series));
    expect(isNqo1Error(error, 'ERR_SEGMENT_SELECTION')).toBe(true);
    expect(error.message).toContain('1 "GREEN", 2 "ORANGE", 3 "PURPLE", 4 "LIGHT_BLUE", 5 "DARK_BLUE"');

    for (const segmentNumber of [1, 2, 3, 4, 5]) {
      const mask = readSegMask(seg, series, { segmentNumber });
      let differences = 0;
      for (let index = 0; index < mask.voxels.length; index++) {
        const inLayers = layers.some((layer) => layer.voxels[index] === segmentNumber) ? 1 : 0;
        if (mask.voxels[index] !== inLayers) differences++;
      }
      expect({ segmentNumber, differences }).toEqual({ segmentNumber, differences: 0 });
      expect(countSet(mask)).toBeGreaterThan(0);
    }
  });
});

describe('readSegMask on small series', () => {
  it.each(['23x38x3', '24x38x3'])('equals the NRRD label map of %s', async (name) => {
    const series = await readCtSeriesFromFolder(join(SEGMENTATIONS, name, 'image'));
    const seg = await readArrayBuffer(join(SEGMENTATIONS, name, 'seg/label.seg'));
    const nrrd = readNrrdFile(join(SEGMENTATIONS, name, 'nrrd/label.nrrd'));

    const mask = readSegMask(seg, series);
    expect(mask.grid.dimensions).toEqual(nrrd.grid.dimensions);
    expect(countSet(mask)).toBeGreaterThan(0);
    expect(countDifferences(mask, nrrd.voxels, 1)).toBe(0);
  });
});
