/**
 * Pixel data: the Image Pixel module attributes and the decoding of stored values from Pixel Data
 * (7FE0,0010), native here and encapsulated through `encapsulated-decode.ts`.
 * {@link decodeFrameStoredValues} and {@link decodeSegmentationFrame} are the entry points for
 * both kinds.
 *
 * @see DICOM PS3.3 section C.7.6.3 (Image Pixel module) and PS3.5 sections 8.1.1 (pixel data
 *   encoding, including 1-bit packing) and A.4 (encapsulation).
 */

import { Nqo1Error } from '../errors.js';

import { isEncapsulated } from './dicom-dataset.js';
import { decodeEncapsulatedStoredValues } from './encapsulated-decode.js';

import type { DicomFile, DicomItem, NativePixelData, PixelData } from './dicom-dataset.js';

export { preloadJpegExtendedCodec } from './codecs/jpeg-extended.js';

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
 * Decodes the stored values of one frame of an 8- or 16-bit image, native or compressed, before
 * the Modality LUT (rescale) is applied.
 *
 * @param frameIndex - the frame, from 0
 * @returns rows × columns stored values, column index fastest
 * @throws Nqo1Error ERR_DICOM_MALFORMED when the file has no Pixel Data, or the pixel data is short,
 *   damaged or decodes to another size; ERR_DICOM_UNSUPPORTED from the codecs.
 */
export function decodeFrameStoredValues(
  file: DicomFile,
  format: PixelFormat,
  frameIndex: number,
  context: string,
): Int32Array {
  const pixelData = requirePixelData(file, context);
  if (format.bitsAllocated === 1) {
    throw new TypeError(
      'decodeFrameStoredValues reads 8- and 16-bit data; use decodeSegmentationFrame for 1-bit data',
    );
  }
  return decodeStoredValues(pixelData, format, file.transferSyntax.littleEndian, frameIndex, context);
}

/**
 * Decodes one frame of a segmentation: 0 or 1 per pixel for BitsAllocated 1 (BINARY), the stored
 * 8-bit value for BitsAllocated 8 (FRACTIONAL, LABELMAP). Compressed 1-bit segmentations decode to
 * 8-bit samples, of which the low bit is the stored value (BitsStored 1).
 *
 * @returns rows × columns values, column index fastest
 */
export function decodeSegmentationFrame(
  file: DicomFile,
  format: PixelFormat,
  frameIndex: number,
  context: string,
): Uint8Array {
  const pixelData = requirePixelData(file, context);
  if (format.bitsAllocated !== 1 && format.bitsAllocated !== 8) {
    throw new Nqo1Error(
      'ERR_DICOM_UNSUPPORTED',
      `${context}: a segmentation with BitsAllocated ${format.bitsAllocated} is not read; it must be 1 or 8.`,
    );
  }
  checkFrameIndex(format, frameIndex);

  const pixels = format.rows * format.columns;
  if (isEncapsulated(pixelData)) {
    return Uint8Array.from(decodeEncapsulatedStoredValues(pixelData, format, frameIndex, context));
  }
  if (format.bitsAllocated === 1) {
    const all = unpackBinaryFrames(pixelData, format, file.transferSyntax.littleEndian, context);
    return all.slice(frameIndex * pixels, (frameIndex + 1) * pixels);
  }
  checkPixelDataLength(pixelData, format, context);
  return pixelData.bytes.slice(frameIndex * pixels, (frameIndex + 1) * pixels);
}

function requirePixelData(file: DicomFile, context: string): PixelData {
  if (file.pixelData !== null) return file.pixelData;
  throw new Nqo1Error(
    'ERR_DICOM_MALFORMED',
    `${context}: the file has no Pixel Data (7FE0,0010), so it is truncated or not an image. Retrieve the file again.`,
  );
}

function checkFrameIndex(format: PixelFormat, frameIndex: number): void {
  if (!Number.isInteger(frameIndex) || frameIndex < 0 || frameIndex >= format.numberOfFrames) {
    throw new RangeError(`frame index ${frameIndex} is outside 0..${format.numberOfFrames - 1}`);
  }
}

/**
 * Decodes the stored values of one frame of 8- or 16-bit pixel data. Encapsulated pixel data is
 * decoded by its codec (see `encapsulated-decode.ts`); native data is read as follows.
 *
 * Each sample is read in the file's byte order, masked to its low `BitsStored` bits, and, for
 * PixelRepresentation 1, sign-extended from bit `BitsStored − 1`. Bits above `HighBit` may carry
 * overlay or garbage data and are discarded.
 *
 * @returns the stored values in row-major order (column index fastest)
 */
export function decodeStoredValues(
  pixelData: PixelData,
  format: PixelFormat,
  littleEndian: boolean,
  frameIndex: number,
  context: string,
): Int32Array {
  if (format.bitsAllocated === 1) {
    throw new TypeError('decodeStoredValues reads 8- and 16-bit data; use unpackBinaryFrames for 1-bit data');
  }
  checkFrameIndex(format, frameIndex);
  if (isEncapsulated(pixelData))
    return decodeEncapsulatedStoredValues(pixelData, format, frameIndex, context);
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
 * Unpacks 1-bit pixel data into one byte (0 or 1) per pixel for all frames. Encapsulated data is
 * decoded frame by frame with {@link decodeSegmentationFrame}'s rule (low bit of each sample).
 *
 * Bits are packed least significant bit first, with no padding between frames (PS3.5 section
 * 8.1.1 and annex D). So pixel `p` of the whole object is bit `p mod 8` of byte `⌊p / 8⌋`, even
 * when rows × columns is not a multiple of 8 and a frame starts inside a byte. In a big endian file
 * whose Pixel Data is OW, the bytes of each 16-bit word are swapped first.
 *
 * @returns numberOfFrames × rows × columns values, frame by frame, column index fastest
 */
export function unpackBinaryFrames(
  pixelData: PixelData,
  format: PixelFormat,
  littleEndian: boolean,
  context: string,
): Uint8Array {
  if (format.bitsAllocated !== 1) {
    throw new TypeError('unpackBinaryFrames reads 1-bit data only');
  }
  if (isEncapsulated(pixelData)) {
    const pixels = format.rows * format.columns;
    const frames = new Uint8Array(format.numberOfFrames * pixels);
    for (let f = 0; f < format.numberOfFrames; f++) {
      const values = decodeEncapsulatedStoredValues(pixelData, format, f, context);
      frames.set(values, f * pixels);
    }
    return frames;
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
