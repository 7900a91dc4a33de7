/**
 * Native pixel decoding: the same image in several transfer syntaxes, stored-value masking and
 * sign extension on synthetic samples, and 1-bit unpacking across frame boundaries.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { readDicomFile } from '../../src/imaging/dicom-dataset.js';
import { decodeStoredValues, readPixelFormat, unpackBinaryFrames } from '../../src/imaging/pixel-data.js';
import { SHARED_DATA_DIR } from '../support/shared-data.js';

import { requireElement, walkExplicitLittleEndianDataset, walkRawDicom } from './raw-dicom.js';

import type { PixelFormat } from '../../src/imaging/pixel-data.js';

const PIXEL_DATA = 0x7fe00010;

function fileBuffer(path: string): ArrayBuffer {
  const bytes = readFileSync(join(SHARED_DATA_DIR, path));
  return new Uint8Array(bytes).buffer;
}

function storedValuesOf(path: string): Int32Array {
  const file = readDicomFile(fileBuffer(path), path);
  if (file.pixelData === null) throw new Error(`${path} has no Pixel Data`);
  const format = readPixelFormat(file.dataset);
  return decodeStoredValues(file.pixelData, format, file.transferSyntax.littleEndian, 0, path);
}

function format(overrides: Partial<PixelFormat>): PixelFormat {
  return {
    rows: 1,
    columns: 4,
    numberOfFrames: 1,
    bitsAllocated: 16,
    bitsStored: 16,
    highBit: 15,
    pixelRepresentation: 0,
    ...overrides,
  };
}

describe('decodeStoredValues', () => {
  it('reads MR_small identically in four transfer syntaxes', () => {
    const reference = readFileSync(join(SHARED_DATA_DIR, 'dicom/pydicom/MR_small.dcm'));
    const raw = walkRawDicom(new Uint8Array(reference));
    const pixelData = requireElement(raw, PIXEL_DATA);
    const view = new DataView(raw.bytes.buffer, raw.bytes.byteOffset, raw.bytes.byteLength);
    const expected = Int32Array.from({ length: 64 * 64 }, (_, p) =>
      view.getInt16(pixelData.valueOffset + 2 * p, true),
    );

    for (const path of [
      'dicom/pydicom/MR_small.dcm',
      'dicom/pydicom/MR_small_implicit.dcm',
      'dicom/pydicom/MR_small_bigendian.dcm',
      'dicom/pydicom/MR_small_expb.dcm',
    ]) {
      const values = storedValuesOf(path);
      expect({ path, equal: Buffer.from(values.buffer).equals(Buffer.from(expected.buffer)) }).toEqual({
        path,
        equal: true,
      });
    }
    expect(expected.some((value) => value !== 0)).toBe(true);
  });

  it('reads a Deflated Explicit VR Little Endian file', () => {
    const path = 'dicom/pydicom/image_dfl.dcm';
    const bytes = new Uint8Array(readFileSync(join(SHARED_DATA_DIR, path)));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // The file meta group stays uncompressed, and its group length gives where the deflated dataset starts.
    const metaEnd = 132 + 12 + view.getUint32(140, true);
    const dataset = new Uint8Array(inflateRawSync(bytes.subarray(metaEnd)));
    const pixelData = requireElement({ elements: walkExplicitLittleEndianDataset(dataset) }, PIXEL_DATA);
    const expected = Int32Array.from(
      dataset.subarray(pixelData.valueOffset, pixelData.valueOffset + pixelData.length),
    );

    const values = storedValuesOf(path);
    expect(values.length).toBe(512 * 512);
    expect(Buffer.from(values.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
  });

  it('masks bits above BitsStored and sign-extends', () => {
    const samples = [0x0fff, 0x0800, 0x07ff, 0xf001, 0xa800];
    const bytes = new Uint8Array(samples.length * 2);
    const view = new DataView(bytes.buffer);
    samples.forEach((sample, index) => {
      view.setUint16(index * 2, sample, true);
    });
    const pixelData = { bytes, vr: 'OW' };

    const signed = decodeStoredValues(
      pixelData,
      format({ columns: 5, bitsStored: 12, highBit: 11, pixelRepresentation: 1 }),
      true,
      0,
      'test',
    );
    expect(Array.from(signed)).toEqual([-1, -2048, 2047, 1, -2048]);

    const unsigned = decodeStoredValues(
      pixelData,
      format({ columns: 5, bitsStored: 12, highBit: 11 }),
      true,
      0,
      'test',
    );
    expect(Array.from(unsigned)).toEqual([4095, 2048, 2047, 1, 2048]);
  });

  it('reads 8-bit signed samples', () => {
    const pixelData = { bytes: Uint8Array.from([0x00, 0x7f, 0x80, 0xff]), vr: 'OB' };
    const values = decodeStoredValues(
      pixelData,
      format({ bitsAllocated: 8, bitsStored: 8, highBit: 7, pixelRepresentation: 1 }),
      true,
      0,
      'test',
    );
    expect(Array.from(values)).toEqual([0, 127, -128, -1]);
  });

  it('reads big endian 16-bit samples', () => {
    const pixelData = { bytes: Uint8Array.from([0x01, 0x02, 0xff, 0xfe]), vr: 'OW' };
    const values = decodeStoredValues(
      pixelData,
      format({ columns: 2, pixelRepresentation: 1 }),
      false,
      0,
      'test',
    );
    expect(Array.from(values)).toEqual([0x0102, -2]);
  });

  it('rejects Pixel Data of the wrong length', () => {
    const pixelData = { bytes: new Uint8Array(6), vr: 'OW' };
    expect(() => decodeStoredValues(pixelData, format({}), true, 0, 'test')).toThrow(/6 bytes/);
  });
});

describe('unpackBinaryFrames', () => {
  it('unpacks LSB first across frame boundaries', () => {
    // Two 3×3 frames = 18 bits. Frame 1 sets pixels 0 and 8; frame 2 sets pixels 0 and 4.
    // Bits 0, 8, 9 and 13 of the whole object: bytes 0b00000001, 0b00100011, 0b00000000.
    const pixelData = { bytes: Uint8Array.from([0b00000001, 0b00100011, 0]), vr: 'OB' };
    const values = unpackBinaryFrames(
      pixelData,
      format({ rows: 3, columns: 3, numberOfFrames: 2, bitsAllocated: 1, bitsStored: 1, highBit: 0 }),
      true,
      'test',
    );
    expect(Array.from(values)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
  });

  it('unpacks 510×510 frames of liver_nonbyte_aligned', () => {
    const path = 'dicom/pydicom-data/liver_nonbyte_aligned.dcm';
    const file = readDicomFile(fileBuffer(path), path);
    if (file.pixelData === null) throw new Error('no Pixel Data');
    const pixelFormat = readPixelFormat(file.dataset);
    expect([pixelFormat.rows, pixelFormat.columns, pixelFormat.numberOfFrames]).toEqual([510, 510, 3]);

    const raw = walkRawDicom(new Uint8Array(readFileSync(join(SHARED_DATA_DIR, path))));
    const pixelData = requireElement(raw, PIXEL_DATA);
    const bitCount = 510 * 510 * 3;
    const perFrame = [0, 0, 0];
    for (let bit = 0; bit < bitCount; bit++) {
      const byte = raw.bytes[pixelData.valueOffset + Math.floor(bit / 8)]!;
      if ((byte & (1 << (bit % 8))) !== 0) perFrame[Math.floor(bit / (510 * 510))]! += 1;
    }

    const values = unpackBinaryFrames(file.pixelData, pixelFormat, true, path);
    const counted = [0, 1, 2].map((frame) =>
      values.subarray(frame * 510 * 510, (frame + 1) * 510 * 510).reduce((sum, value) => sum + value, 0),
    );
    expect(counted).toEqual(perFrame);
    expect(perFrame.every((count) => count > 0)).toBe(true);
  });
});
