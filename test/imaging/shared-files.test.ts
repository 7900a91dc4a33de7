/**
 * Real files that are not CT slices of a series, or whose headers are unusual, each read as a
 * one-file series. Expected values come from the raw bytes, read without dcmjs.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { readCtSeries } from '../../src/imaging/ct-series.js';
import { SHARED_DATA_DIR } from '../support/shared-data.js';

import { rawDecimals, rawUint16, requireElement, walkRawDicom } from './raw-dicom.js';

const DICOM = join(SHARED_DATA_DIR, 'dicom');

function arrayBuffer(relativePath: string): ArrayBuffer {
  const bytes = readFileSync(join(DICOM, relativePath));
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

/** Returns the error code that `read` throws, or "none". */
function codeOf(read: () => unknown): string {
  try {
    read();
    return 'none';
  } catch (error) {
    return isNqo1Error(error) ? error.code : `not an Nqo1Error: ${String(error)}`;
  }
}

/**
 * Reads stored value `index` of 16-bit native pixel data from the raw bytes, applies BitsStored and
 * PixelRepresentation, and rescales it.
 */
function rawHounsfield(relativePath: string, index: number): number {
  const bytes = new Uint8Array(readFileSync(join(DICOM, relativePath)));
  const raw = walkRawDicom(bytes);
  const pixelData = requireElement(raw, 0x7fe00010);
  const bitsStored = rawUint16(bytes, requireElement(raw, 0x00280101));
  const signed = rawUint16(bytes, requireElement(raw, 0x00280103)) === 1;
  const word = new DataView(bytes.buffer, bytes.byteOffset).getUint16(
    pixelData.valueOffset + 2 * index,
    true,
  );
  const masked = word & ((1 << bitsStored) - 1);
  const stored = signed && masked >= 1 << (bitsStored - 1) ? masked - (1 << bitsStored) : masked;
  const slope = raw.elements.has(0x00281053) ? rawDecimals(bytes, requireElement(raw, 0x00281053))[0]! : 1;
  const intercept = raw.elements.has(0x00281052)
    ? rawDecimals(bytes, requireElement(raw, 0x00281052))[0]!
    : 0;
  return stored * slope + intercept;
}

describe('unusual real files', () => {
  it.each([
    ['pydicom/CT_small.dcm', 128, 128],
    ['orthanc-tests/SignedCT.dcm', 512, 512],
    ['orthanc-tests/2020-09-11-Christopher-ELSCINT1-Raw.dcm', 512, 512],
  ])('reads %s in Hounsfield units', (relativePath, rows, columns) => {
    const { volume } = readCtSeries([arrayBuffer(relativePath)]);

    expect(volume.grid.dimensions).toEqual([columns, rows, 1]);
    // The centre pixel and one near the first corner, against the raw stored values.
    for (const index of [(rows / 2) * columns + columns / 2, 3 * columns + 5]) {
      expect(volume.voxels[index]).toBeCloseTo(rawHounsfield(relativePath, index), 9);
    }
  });

  it('rejects a dataset without the Part 10 header', () => {
    expect(codeOf(() => readCtSeries([arrayBuffer('pydicom/no_meta.dcm')]))).toBe('ERR_DICOM_MALFORMED');
  });

  it('rejects an image mapped through a Modality LUT Sequence', () => {
    let message = '';
    try {
      readCtSeries([arrayBuffer('pydicom-data/mlut_18.dcm')]);
    } catch (error) {
      message = isNqo1Error(error, 'ERR_DICOM_UNSUPPORTED') ? error.message : String(error);
    }

    expect(message).toContain('Modality LUT Sequence');
  });

  it.each([
    ['dcmqi/sr-example/sr.dcm', 'ERR_DICOM_UNSUPPORTED'],
    ['dcmqi/sr-example/rwvm.dcm', 'ERR_DICOM_MALFORMED'],
  ])('rejects %s, which is not an image', (relativePath, code) => {
    expect(codeOf(() => readCtSeries([arrayBuffer(relativePath)]))).toBe(code);
  });
});
