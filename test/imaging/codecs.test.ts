/**
 * Compressed pixel data: every encapsulated transfer syntax against its uncompressed twin or against
 * values decoded independently, the sign and precision rules, the SEG frames, and the rejections.
 *
 * Values marked "DCMTK" were read from the file after decompressing it with DCMTK 3.6.7 (dcmdjpeg,
 * dcmdjpls, dcmdrle), and then reading the uncompressed copy with this project's native decoder.
 * DCMTK's JPEG and RLE decoders are independent of the npm codecs. Its JPEG-LS decoder is an older
 * fork of CharLS, so for JPEG-LS the check is against another build of related code.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { readCtSeries } from '../../src/imaging/ct-series.js';
import { isEncapsulated, readDicomFile } from '../../src/imaging/dicom-dataset.js';
import { decodeEncapsulatedStoredValues } from '../../src/imaging/encapsulated-decode.js';
import { parseEncapsulatedItems } from '../../src/imaging/encapsulated-pixel-data.js';
import {
  decodeFrameStoredValues,
  decodeSegmentationFrame,
  readPixelFormat,
  unpackBinaryFrames,
} from '../../src/imaging/pixel-data.js';
import { SHARED_DATA_DIR } from '../support/shared-data.js';

import type { DicomFile } from '../../src/imaging/dicom-dataset.js';

/** Reads one CT file as a one-slice series: its size and its values in HU. */
function readCtSlice(bytes: ArrayBuffer): { rows: number; columns: number; values: Float64Array } {
  const { grid, voxels } = readCtSeries([bytes]).volume;
  return { rows: grid.dimensions[1], columns: grid.dimensions[0], values: voxels };
}
import type { PixelFormat } from '../../src/imaging/pixel-data.js';

const DICOM = join(SHARED_DATA_DIR, 'dicom');

function fileBuffer(path: string): ArrayBuffer {
  return new Uint8Array(readFileSync(join(DICOM, path))).buffer;
}

function readFile(path: string): { file: DicomFile; format: PixelFormat } {
  const file = readDicomFile(fileBuffer(path), path);
  return { file, format: readPixelFormat(file.dataset) };
}

/** Stored values of every frame of a file, frame after frame. */
function allFrames(path: string): Int32Array {
  const { file, format } = readFile(path);
  const pixels = format.rows * format.columns;
  const values = new Int32Array(format.numberOfFrames * pixels);
  for (let frame = 0; frame < format.numberOfFrames; frame++) {
    values.set(decodeFrameStoredValues(file, format, frame, path), frame * pixels);
  }
  return values;
}

function sum(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i]!;
  return total;
}

function minOf(values: ArrayLike<number>): number {
  let min = Infinity;
  for (let i = 0; i < values.length; i++) min = Math.min(min, values[i]!);
  return min;
}

function maxOf(values: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]!);
  return max;
}

function errorOf(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error('expected an error, but the call succeeded');
}

describe('lossless syntaxes against their uncompressed twins', () => {
  it('decodes dcm_qa_ts files 1 to 9 identically', () => {
    const reference = allFrames('dcm_qa_ts/In/1.dcm');
    expect(reference).toHaveLength(384 * 384);
    expect(sum(reference)).toBe(38_036_663);
    for (let n = 2; n <= 9; n++) {
      const values = allFrames(`dcm_qa_ts/In/${n}.dcm`);
      expect(Buffer.from(values.buffer).equals(Buffer.from(reference.buffer)), `file ${n}.dcm`).toBe(true);
    }
  });

  it('decodes 693_J2KR as 693_UNCR', () => {
    const reference = allFrames('pydicom-data/693_UNCR.dcm');
    const values = allFrames('pydicom-data/693_J2KR.dcm');
    expect(Buffer.from(values.buffer).equals(Buffer.from(reference.buffer))).toBe(true);
    expect(minOf(values)).toBe(-2000);
    expect(maxOf(values)).toBe(2492);
  });

  it('decodes JPEG-LL as JPEG2000_UNC', () => {
    const values = allFrames('pydicom-data/JPEG-LL.dcm');
    const reference = allFrames('pydicom-data/JPEG2000_UNC.dcm');
    expect(sum(reference)).toBe(3_527_976);
    // JPEG-LL is the same NM image before a signed offset: it matches the JPEG 2000 sample of the
    // same image (pydicom JPEG2000.dcm) and the orthanc JPEG-LS, JPEG 2000 and RLE samples.
    expect(sum(values)).toBe(3_596_452);
    expect(Buffer.from(allFrames('pydicom/JPEG2000.dcm').buffer).equals(Buffer.from(reference.buffer))).toBe(
      true,
    );
  });

  it.each([
    'pydicom/MR_small_RLE.dcm',
    'pydicom/MR_small_bigendian.dcm',
    'pydicom/MR_small_expb.dcm',
    'pydicom/MR_small_implicit.dcm',
    'pydicom/MR_small_jp2klossless.dcm',
    'pydicom/MR_small_jpeg_ls_lossless.dcm',
  ])('decodes %s as MR_small', (path) => {
    const reference = allFrames('pydicom/MR_small.dcm');
    expect(sum(reference)).toBe(2_125_338);
    expect(Buffer.from(allFrames(path).buffer).equals(Buffer.from(reference.buffer))).toBe(true);
  });

  it.each([
    'pydicom-data/emri_small_RLE.dcm',
    'pydicom-data/emri_small_big_endian.dcm',
    'pydicom-data/emri_small_jpeg_2k_lossless.dcm',
    'pydicom-data/emri_small_jpeg_ls_lossless.dcm',
  ])('decodes all 10 frames of %s as emri_small', (path) => {
    const reference = allFrames('pydicom-data/emri_small.dcm');
    expect(reference).toHaveLength(10 * 64 * 64);
    expect(sum(reference)).toBe(4_493_276);
    expect(Buffer.from(allFrames(path).buffer).equals(Buffer.from(reference.buffer))).toBe(true);
  });

  it('reads JLSL_16_15_1_1F as signed 15-bit values', () => {
    const values = allFrames('pydicom-data/JLSL_16_15_1_1F.dcm');
    // DCMTK: sum −66 250 735, centre 12 205, pixel (10, 20) −15 478.
    expect(sum(values)).toBe(-66_250_735);
    expect(values[64 * 128 + 64]).toBe(12_205);
    expect(values[10 * 128 + 20]).toBe(-15_478);
    expect(minOf(values)).toBe(-16_384);
    expect(maxOf(values)).toBe(16_383);
  });
});

describe('orthanc-tests TransferSyntaxes samples', () => {
  // [file, rows, columns, sum of stored values, value at the centre pixel, value at (row 10, column 20)],
  // all read from the DCMTK decompression of the same file.
  it.each([
    ['1.2.840.10008.1.2.4.57', 1024, 1024, 78_730_838, 302, 0],
    ['1.2.840.10008.1.2.4.70', 400, 512, 14_533_101, 142, -89],
    ['1.2.840.10008.1.2.4.80', 1024, 256, 3_596_452, 13, 0],
    ['1.2.840.10008.1.2.4.81', 512, 512, -197_692_377, 40, -2050],
    ['1.2.840.10008.1.2.5', 1024, 256, 3_596_452, 13, 0],
  ])('decodes %s as DCMTK does', (syntax, rows, columns, total, centre, corner) => {
    const path = `orthanc-tests/TransferSyntaxes/${syntax}.dcm`;
    const { file, format } = readFile(path);
    expect(file.transferSyntax.uid).toBe(syntax);
    expect([format.rows, format.columns]).toEqual([rows, columns]);
    const values = decodeFrameStoredValues(file, format, 0, path);
    expect(sum(values)).toBe(total);
    expect(values[(rows >> 1) * columns + (columns >> 1)]).toBe(centre);
    expect(values[10 * columns + 20]).toBe(corner);
  });

  it('decodes the JPEG 2000 lossless NM sample as the JPEG-LS one', () => {
    const j2k = allFrames('orthanc-tests/TransferSyntaxes/1.2.840.10008.1.2.4.90.dcm');
    const jpegLs = allFrames('orthanc-tests/TransferSyntaxes/1.2.840.10008.1.2.4.80.dcm');
    expect(j2k).toHaveLength(1024 * 256);
    expect(Buffer.from(j2k.buffer).equals(Buffer.from(jpegLs.buffer))).toBe(true);
  });

  it('decodes the lossy JPEG 2000 CT to plausible HU', () => {
    const slice = readCtSlice(fileBuffer('orthanc-tests/TransferSyntaxes/1.2.840.10008.1.2.4.91.dcm'));
    expect([slice.rows, slice.columns]).toEqual([512, 512]);
    let air = 0;
    let softTissue = 0;
    for (const hu of slice.values) {
      if (hu >= -1100 && hu <= -900) air++;
      if (hu >= 0 && hu <= 100) softTissue++;
    }
    // Both classes cover several percent of a chest CT slice; a sign or precision error would
    // move the soft tissue peak by thousands of HU.
    expect(air).toBeGreaterThan(5000);
    expect(softTissue).toBeGreaterThan(20_000);
    // Outside the scan field the padding is −3024 HU; lossy ringing at its edge reaches −3339 HU.
    expect(minOf(slice.values)).toBeGreaterThanOrEqual(-3400);
    expect(maxOf(slice.values)).toBeLessThanOrEqual(3100);
  });
});

describe('lossy syntaxes within tolerance', () => {
  it('decodes 693_J2KI as its reference decompression 693_UNCI and near 693_UNCR', () => {
    const lossy = allFrames('pydicom/693_J2KI.dcm');
    const referenceDecode = allFrames('pydicom-data/693_UNCI.dcm');
    expect(Buffer.from(lossy.buffer).equals(Buffer.from(referenceDecode.buffer))).toBe(true);

    // Against the lossless original: mean absolute error below 70 stored values (measured 62.6 with
    // OpenJPEG in @cornerstonejs/codec-openjpeg 1.3.6), on values spanning −2000..2492.
    const original = allFrames('pydicom-data/693_UNCR.dcm');
    let absoluteError = 0;
    for (let p = 0; p < original.length; p++) absoluteError += Math.abs(original[p]! - lossy[p]!);
    expect(absoluteError / original.length).toBeLessThan(70);
  });

  it('decodes JPEGLSNearLossless_16 as DCMTK does', () => {
    const values = allFrames('pydicom/JPEGLSNearLossless_16.dcm');
    expect(values).toHaveLength(50 * 10);
    expect(sum(values)).toBe(6_007_250);
    expect(values[5 * 50 + 25]).toBe(255);
  });
});

describe('header against codestream', () => {
  it('reinterprets an unsigned J2K codestream under PixelRepresentation 1', () => {
    // dcmjs 0.51.1 cannot parse this file's ISO 2022 character sets, so its Pixel Data is located
    // here and the Image Pixel values are taken from its header (read with dcmdump).
    const bytes = new Uint8Array(readFileSync(join(DICOM, 'pydicom/J2K_pixelrep_mismatch.dcm')));
    const header = Buffer.from('e07f10004f420000ffffffff', 'hex');
    const start = Buffer.from(bytes).lastIndexOf(header) + header.length;
    const pixelData = parseEncapsulatedItems(
      bytes.subarray(start),
      '1.2.840.10008.1.2.4.90',
      null,
      'mismatch',
    );
    const format: PixelFormat = {
      rows: 512,
      columns: 512,
      numberOfFrames: 1,
      bitsAllocated: 16,
      bitsStored: 13,
      highBit: 12,
      pixelRepresentation: 1,
    };
    // RescaleSlope 1, RescaleIntercept 0: stored values are HU.
    const hu = decodeEncapsulatedStoredValues(pixelData, format, 0, 'mismatch');
    let air = 0;
    let brain = 0;
    for (const value of hu) {
      if (value >= -1100 && value <= -900) air++;
      if (value >= 0 && value <= 100) brain++;
    }
    expect(air).toBeGreaterThan(10_000);
    expect(brain).toBeGreaterThan(10_000);
    expect(minOf(hu)).toBeGreaterThanOrEqual(-4096);
  });

  it('reads HU of 693_J2KR through readCtSeries as the uncompressed twin', () => {
    const compressed = readCtSlice(fileBuffer('pydicom-data/693_J2KR.dcm'));
    const native = readCtSlice(fileBuffer('pydicom-data/693_UNCR.dcm'));
    const centre = 256 * 512 + 256;
    expect(native.values[centre]).toBe(24);
    expect(compressed.values[centre]).toBe(24);
    expect(compressed.values).toEqual(native.values);
  });

  it('reads HU of a JPEG Lossless CT through readCtSeries as DCMTK does', () => {
    const slice = readCtSlice(fileBuffer('pydicom-data/bad_sequence.dcm'));
    // DCMTK: stored value 1226 at the centre; RescaleIntercept −1024.
    expect(slice.values[256 * 512 + 256]).toBe(202);
  });
});

describe('compressed SEG frames', () => {
  it.each(['pydicom-data/liver_j2k.dcm', 'pydicom-data/liver_rle.dcm', 'pydicom-data/liver_deflate.dcm'])(
    'decodes each frame of %s as liver.dcm',
    (path) => {
      const native = readFile('pydicom-data/liver.dcm');
      const expected = unpackBinaryFrames(native.file.pixelData!, native.format, true, 'liver.dcm');
      const { file, format } = readFile(path);
      expect(format.numberOfFrames).toBe(3);
      const pixels = 512 * 512;
      for (let frame = 0; frame < 3; frame++) {
        const values = decodeSegmentationFrame(file, format, frame, path);
        const reference = decodeSegmentationFrame(native.file, native.format, frame, 'liver.dcm');
        expect(
          Buffer.from(values).equals(Buffer.from(expected.subarray(frame * pixels, (frame + 1) * pixels))),
        ).toBe(true);
        expect(Buffer.from(values).equals(Buffer.from(reference))).toBe(true);
      }
      expect(sum(expected)).toBe(107_098);
    },
  );

  it.each([
    'pydicom-data/liver_nonbyte_aligned_j2k.dcm',
    'pydicom-data/liver_nonbyte_aligned_rle.dcm',
    'pydicom-data/liver_nonbyte_aligned_deflate.dcm',
  ])('decodes %s as the native 510 × 510 SEG', (path) => {
    const native = readFile('pydicom-data/liver_nonbyte_aligned.dcm');
    const expected = unpackBinaryFrames(native.file.pixelData!, native.format, true, 'native');
    const { file, format } = readFile(path);
    expect(
      Buffer.from(unpackBinaryFrames(file.pixelData!, format, true, path)).equals(Buffer.from(expected)),
    ).toBe(true);
  });
});

describe('rejections', () => {
  it('rejects a truncated JPEG 2000 file as malformed', () => {
    const path = 'pydicom-data/emri_small_jpeg_2k_lossless_too_short.dcm';
    const error = errorOf(() => allFrames(path));
    expect(isNqo1Error(error, 'ERR_DICOM_MALFORMED')).toBe(true);
    expect(error.message).toContain('truncated');
  });

  it.each([
    'pydicom/MR_small_jp2klossless.dcm',
    'pydicom/MR_small_jpeg_ls_lossless.dcm',
    'pydicom/MR_small_RLE.dcm',
    'dcm_qa_ts/In/5.dcm',
    'pydicom-data/liver_deflate.dcm',
  ])('rejects a half codestream of %s as malformed', (path) => {
    const { file, format } = readFile(path);
    const pixelData = file.pixelData;
    if (pixelData === null || !isEncapsulated(pixelData)) throw new Error(`${path} is not encapsulated`);
    const cut = {
      ...pixelData,
      fragments: pixelData.fragments.map((fragment) => fragment.subarray(0, fragment.length >> 1)),
    };
    const error = errorOf(() => decodeEncapsulatedStoredValues(cut, format, 0, path));
    expect(isNqo1Error(error, 'ERR_DICOM_MALFORMED')).toBe(true);
    expect(error.message).toContain('damaged');
  });

  it('names the private element of ELSCINT1 compressed pixels', () => {
    const path = 'orthanc-tests/2020-09-12-ELSCINT1-PMSCT_RLE1.dcm';
    const error = errorOf(() => readCtSlice(fileBuffer(path)));
    expect(isNqo1Error(error, 'ERR_DICOM_UNSUPPORTED')).toBe(true);
    expect(error.message).toContain('(07A1,100A)');
    expect(error.message).toContain('ELSCINT1');
    expect(error.message).toContain('Export the series');
  });

  it.each(['pydicom/JPGExtended.dcm', 'orthanc-tests/TransferSyntaxes/1.2.840.10008.1.2.4.51.dcm'])(
    'rejects JPEG Extended %s without preload',
    (path) => {
      const error = errorOf(() => allFrames(path));
      expect(isNqo1Error(error, 'ERR_DICOM_UNSUPPORTED')).toBe(true);
      expect(error.message).toContain('1.2.840.10008.1.2.4.51');
      expect(error.message).toContain('preloadJpegExtendedCodec');
    },
  );

  it('rejects an unknown transfer syntax naming it', () => {
    const bytes = new Uint8Array(readFileSync(join(DICOM, 'pydicom/MR_small.dcm')));
    const uid = Buffer.from('1.2.840.10008.1.2.1\0');
    const at = Buffer.from(bytes).indexOf(uid);
    expect(at).toBeGreaterThan(0);
    bytes.set(Buffer.from('1.2.840.10008.1.2.9\0'), at);
    const error = errorOf(() => readDicomFile(bytes.buffer, 'edited'));
    expect(isNqo1Error(error, 'ERR_DICOM_UNSUPPORTED')).toBe(true);
    expect(error.message).toContain('1.2.840.10008.1.2.9 (an unknown transfer syntax)');
  });

  it('rejects a decoded frame of another size as malformed', () => {
    const { file, format } = readFile('pydicom/MR_small_jpeg_ls_lossless.dcm');
    const error = errorOf(() =>
      decodeFrameStoredValues(file, { ...format, columns: 32, rows: 128 }, 0, 'MR'),
    );
    expect(isNqo1Error(error, 'ERR_DICOM_MALFORMED')).toBe(true);
    expect(error.message).toContain('decodes to 64 × 64 pixels');
  });
});
