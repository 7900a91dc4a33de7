/**
 * Native (uncompressed) pixel data: the Image Pixel module attributes and the decoding of stored
 * values from the bytes of Pixel Data (7FE0,0010).
 *
 * @see DICOM PS3.3 section C.7.6.3 (Image Pixel module) and PS3.5 section 8.1.1 (pixel data
 *   encoding, including 1-bit packing).
 */

import { Nqo1Error } from '../errors.js';

import type { DicomItem, NativePixelData } from './dicom-dataset.js';

/** The attributes of the Image Pixel module that decide how samples are packed. */
export interface PixelFormat {
  readonly rows: number;
  readonly columns: number;
  readonly numberOfFrames: number;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  readonly highBit: number;
  /** 0: unsigned integers; 1: two's complement signed integers. */
  readonly pixelRepresentation: 0 | 1;
}

/**
 * Reads and checks the Image Pixel module of a single-sample (grayscale) image.
 *
 * @throws Nqo1Error ERR_DICOM_MALFORMED for missing or contradictory values; ERR_DICOM_UNSUPPORTED
 *   for colour images, for BitsAllocated other than 1, 8 or 16, and for HighBit ≠ BitsStored − 1.
 */
export function readPixelFormat(dataset: DicomItem): PixelFormat {
  const context = dataset.context;
  const samplesPerPixel = dataset.number('SamplesPerPixel') ?? 1;
  if (samplesPerPixel !== 1) {
    throw new Nqo1Error(
      'ERR_DICOM_UNSUPPORTED',
      `${context}: SamplesPerPixel is ${samplesPerPixel}; only grayscale images (1 sample per pixel) are read.`,
    );
  }

  const rows = dataset.requireNumber('Rows');
  const columns = dataset.requireNumber('Columns');
  const numberOfFrames = dataset.number('NumberOfFrames') ?? 1;
  for (const [keyword, value] of [
    ['Rows', rows],
    ['Columns', columns],
    ['NumberOfFrames', numberOfFrames],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new Nqo1Error(
        'ERR_DICOM_MALFORMED',
        `${context}: ${keyword} is ${value}; it must be a positive integer.`,
      );
    }
  }

  const bitsAllocated = dataset.requireNumber('BitsAllocated');
  if (bitsAllocated !== 1 && bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new Nqo1Error(
      'ERR_DICOM_UNSUPPORTED',
      `${context}: BitsAllocated is ${bitsAllocated}; this release reads 1, 8 and 16 bits per sample.`,
    );
  }
  const bitsStored = dataset.number('BitsStored') ?? bitsAllocated;
  if (!Number.isInteger(bitsStored) || bitsStored < 1 || bitsStored > bitsAllocated) {
    throw new Nqo1Error(
      'ERR_DICOM_MALFORMED',
      `${context}: BitsStored is ${bitsStored}; it must lie between 1 and BitsAllocated (${bitsAllocated}).`,
    );
  }
  const highBit = dataset.number('HighBit') ?? bitsStored - 1;
  if (highBit !== bitsStored - 1) {
    throw new Nqo1Error(
      'ERR_DICOM_UNSUPPORTED',
      `${context}: HighBit is ${highBit} but BitsStored is ${bitsStored}; only HighBit = BitsStored − 1 ` +
        '(samples in the low bits, as PS3.5 section 8.1.1 requires) is read.',
    );
  }
  const pixelRepresentation = dataset.number('PixelRepresentation') ?? 0;
  if (pixelRepresentation !== 0 && pixelRepresentation !== 1) {
    throw new Nqo1Error(
      'ERR_DICOM_MALFORMED',
      `${context}: PixelRepresentation is ${pixelRepresentation}; it must be 0 (unsigned) or 1 (signed).`,
    );
  }
  return { rows, columns, numberOfFrames, bitsAllocated, bitsStored, highBit, pixelRepresentation };
}

/**
 * Decodes the stored values of one frame of 8- or 16-bit native pixel data.
 *
 * Each sample is read in the file's byte order, masked to its low `BitsStored` bits, and, for
 * PixelRepresentation 1, sign-extended from bit `BitsStored − 1`. Bits above `HighBit` may carry
 * overlay or garbage data and are discarded.
 *
 * @returns the stored values in row-major order (column index fastest)
 */
export function decodeStoredValues(
  pixelData: NativePixelData,
  format: PixelFormat,
  littleEndian: boolean,
  frameIndex: number,
  context: string,
): Int32Array {
  if (format.bitsAllocated === 1) {
    throw new TypeError('decodeStoredValues reads 8- and 16-bit data; use unpackBinaryFrames for 1-bit data');
  }
  checkPixelDataLength(pixelData, format, context);

  const pixelsPerFrame = format.rows * format.columns;
  const bytesPerSample = format.bitsAllocated / 8;
  const frameStart = frameIndex * pixelsPerFrame * bytesPerSample;
  const bytes = pixelData.bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  const mask = (1 << format.bitsStored) - 1;
  const signBit = 1 << (format.bitsStored - 1);
  const signed = format.pixelRepresentation === 1;
  const values = new Int32Array(pixelsPerFrame);
  for (let p = 0; p < pixelsPerFrame; p++) {
    const offset = frameStart + p * bytesPerSample;
    const raw = bytesPerSample === 2 ? view.getUint16(offset, littleEndian) : view.getUint8(offset);
    const stored = raw & mask;
    values[p] = signed && (stored & signBit) !== 0 ? stored - (mask + 1) : stored;
  }
  return values;
}

/**
 * Unpacks 1-bit pixel data into one byte (0 or 1) per pixel for all frames.
 *
 * Bits are packed least significant bit first, with no padding between frames (PS3.5 section
 * 8.1.1 and annex D). So pixel `p` of the whole object is bit `p mod 8` of byte `⌊p / 8⌋`, even
 * when rows × columns is not a multiple of 8 and a frame starts inside a byte. In a big endian file
 * whose Pixel Data is OW, the bytes of each 16-bit word are swapped first.
 *
 * @returns numberOfFrames × rows × columns values, frame by frame, column index fastest
 */
export function unpackBinaryFrames(
  pixelData: NativePixelData,
  format: PixelFormat,
  littleEndian: boolean,
  context: string,
): Uint8Array {
  if (format.bitsAllocated !== 1) {
    throw new TypeError('unpackBinaryFrames reads 1-bit data only');
  }
  checkPixelDataLength(pixelData, format, context);

  // NOTE: no test covers the OW big endian branch. The big endian SEG files in the test data
  // store 1-bit data as OB, which needs no swap.
  const bytes = !littleEndian && pixelData.vr === 'OW' ? swapBytePairs(pixelData.bytes) : pixelData.bytes;
  const pixelCount = format.numberOfFrames * format.rows * format.columns;
  const unpacked = new Uint8Array(pixelCount);
  for (let p = 0; p < pixelCount; p++) {
    unpacked[p] = (bytes[p >>> 3]! >>> (p & 7)) & 1;
  }
  return unpacked;
}

/**
 * Requires the Pixel Data length to match rows × columns × frames × BitsAllocated, allowing the
 * single pad byte that keeps DICOM values at an even length.
 */
function checkPixelDataLength(pixelData: NativePixelData, format: PixelFormat, context: string): void {
  const bits = format.rows * format.columns * format.numberOfFrames * format.bitsAllocated;
  const expected = Math.ceil(bits / 8);
  const actual = pixelData.bytes.length;
  const padded = expected + (expected % 2);
  if (actual !== expected && actual !== padded) {
    throw new Nqo1Error(
      'ERR_DICOM_MALFORMED',
      `${context}: Pixel Data has ${actual} bytes, but ${format.rows} rows × ${format.columns} columns × ` +
        `${format.numberOfFrames} frames × ${format.bitsAllocated} bits need ${expected}. ` +
        'The header and the pixel data disagree; export the image again.',
      { details: { pixelDataBytes: actual, expectedBytes: expected } },
    );
  }
}

function swapBytePairs(bytes: Uint8Array): Uint8Array {
  const swapped = new Uint8Array(bytes.length);
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    swapped[i] = bytes[i + 1]!;
    swapped[i + 1] = bytes[i]!;
  }
  return swapped;
}
