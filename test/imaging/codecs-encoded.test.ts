/**
 * Codecs that no shared sample file covers (JPEG Baseline 8-bit, HTJ2K, JPEG-LS near-lossless with a
 * known NEAR) decode a synthetic frame encoded by the same npm packages. The frame split of
 * encapsulated Pixel Data is tested on synthetic item sequences.
 */

import { describe, expect, it } from 'vitest';

import { encapsulate, encodeFrame } from '../../bench/frame-encoders.js';
import { isNqo1Error } from '../../src/errors.js';
import { decodeEncapsulatedStoredValues } from '../../src/imaging/encapsulated-decode.js';
import { encapsulatedFrame, parseEncapsulatedItems } from '../../src/imaging/encapsulated-pixel-data.js';

import type { EncoderChoice } from '../../bench/frame-encoders.js';
import type { PixelFormat } from '../../src/imaging/pixel-data.js';

const WIDTH = 64;
const HEIGHT = 48;

/** A smooth signed CT-like frame with fine texture, in HU-like stored values. */
function syntheticFrame(): Int16Array {
  const values = new Int16Array(WIDTH * HEIGHT);
  for (let p = 0; p < values.length; p++) values[p] = Math.round(800 * Math.sin(p / 37)) - 200 + (p % 7);
  return values;
}

const SIGNED_16: PixelFormat = {
  rows: HEIGHT,
  columns: WIDTH,
  numberOfFrames: 1,
  bitsAllocated: 16,
  bitsStored: 16,
  highBit: 15,
  pixelRepresentation: 1,
};

function maxAbsoluteError(decoded: Int32Array, original: ArrayLike<number>): number {
  let max = 0;
  for (let p = 0; p < original.length; p++) max = Math.max(max, Math.abs(decoded[p]! - original[p]!));
  return max;
}

describe('round trip through the npm encoders', () => {
  const frame = syntheticFrame();
  const bytes = new Uint8Array(frame.buffer);
  const info = { width: WIDTH, height: HEIGHT, bitsPerSample: 16, isSigned: true } as const;

  it.each<[string, EncoderChoice, number]>([
    ['1.2.840.10008.1.2.4.80', { codec: 'jpegLs', near: 0 }, 0],
    ['1.2.840.10008.1.2.4.81', { codec: 'jpegLs', near: 3 }, 3],
    ['1.2.840.10008.1.2.4.90', { codec: 'jpeg2000' }, 0],
    ['1.2.840.10008.1.2.4.201', { codec: 'htj2k' }, 0],
    ['1.2.840.10008.1.2.4.202', { codec: 'htj2k' }, 0],
    ['1.2.840.10008.1.2.5', { codec: 'rle' }, 0],
    ['1.2.840.10008.1.2.8.1', { codec: 'deflate' }, 0],
  ])('decodes %s within its error bound', (syntax, choice, bound) => {
    const encoded = encodeFrame(choice, bytes, info);
    const decoded = decodeEncapsulatedStoredValues(encapsulate(syntax, [encoded]), SIGNED_16, 0, syntax);
    expect(decoded).toHaveLength(WIDTH * HEIGHT);
    expect(maxAbsoluteError(decoded, frame)).toBeLessThanOrEqual(bound);
  });

  it('decodes JPEG Baseline 8-bit within 8 gray levels at quality 95', () => {
    const gray = new Uint8Array(WIDTH * HEIGHT);
    for (let p = 0; p < gray.length; p++) gray[p] = 128 + Math.round(100 * Math.sin(p / 53));
    const encoded = encodeFrame({ codec: 'jpegBaseline', quality: 95 }, gray, {
      width: WIDTH,
      height: HEIGHT,
      bitsPerSample: 8,
      isSigned: false,
    });
    const format: PixelFormat = {
      ...SIGNED_16,
      bitsAllocated: 8,
      bitsStored: 8,
      highBit: 7,
      pixelRepresentation: 0,
    };
    const decoded = decodeEncapsulatedStoredValues(
      encapsulate('1.2.840.10008.1.2.4.50', [encoded]),
      format,
      0,
      'baseline',
    );
    // libjpeg-turbo 8-bit in @cornerstonejs/codec-libjpeg-turbo-8bit 1.2.8 gives 7 on this frame.
    expect(maxAbsoluteError(decoded, gray)).toBeLessThanOrEqual(8);
    expect(maxAbsoluteError(decoded, gray)).toBeGreaterThan(0);
  });
});

/** Builds the item sequence of an encapsulated Pixel Data value, ended by the delimiter. */
function itemSequence(table: readonly number[], fragments: readonly Uint8Array[]): Uint8Array {
  const items = [Uint8Array.from(table.flatMap((offset) => [...uint32(offset)])), ...fragments];
  const length = items.reduce((total, item) => total + 8 + item.length, 0) + 8;
  const bytes = new Uint8Array(length);
  let position = 0;
  for (const item of [...items, null]) {
    bytes.set([0xfe, 0xff, item === null ? 0xdd : 0x00, 0xe0], position);
    bytes.set(uint32(item?.length ?? 0), position + 4);
    if (item !== null) bytes.set(item, position + 8);
    position += 8 + (item?.length ?? 0);
  }
  return bytes;
}

function uint32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return bytes;
}

describe('frame split of encapsulated Pixel Data', () => {
  const a = Uint8Array.from([1, 2, 3, 4]);
  const b = Uint8Array.from([5, 6]);
  const c = Uint8Array.from([7, 8, 9, 10]);

  it('joins all fragments of a single frame', () => {
    const pixelData = parseEncapsulatedItems(
      itemSequence([], [a, b, c]),
      '1.2.840.10008.1.2.5',
      null,
      'test',
    );
    expect([...encapsulatedFrame(pixelData, 0, 1, 'test')]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('splits frames at Basic Offset Table entries', () => {
    // Frame 1 is fragments a and b (12 + 10 bytes with headers), frame 2 is fragment c.
    const pixelData = parseEncapsulatedItems(
      itemSequence([0, 22], [a, b, c]),
      '1.2.840.10008.1.2.5',
      null,
      'test',
    );
    expect(pixelData.basicOffsetTable).toEqual([0, 22]);
    expect([...encapsulatedFrame(pixelData, 0, 2, 'test')]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...encapsulatedFrame(pixelData, 1, 2, 'test')]).toEqual([7, 8, 9, 10]);
  });

  it('prefers the Extended Offset Table', () => {
    const pixelData = parseEncapsulatedItems(
      itemSequence([], [a, b, c]),
      '1.2.840.10008.1.2.5',
      [0, 12],
      'test',
    );
    expect([...encapsulatedFrame(pixelData, 0, 2, 'test')]).toEqual([1, 2, 3, 4]);
    expect([...encapsulatedFrame(pixelData, 1, 2, 'test')]).toEqual([5, 6, 7, 8, 9, 10]);
  });

  it('takes one fragment per frame without a table', () => {
    const pixelData = parseEncapsulatedItems(
      itemSequence([], [a, b, c]),
      '1.2.840.10008.1.2.5',
      null,
      'test',
    );
    expect([...encapsulatedFrame(pixelData, 2, 3, 'test')]).toEqual([7, 8, 9, 10]);
  });

  it('splits JPEG frames at SOI markers without a table', () => {
    const first = Uint8Array.from([0xff, 0xd8, 1, 2]);
    const second = Uint8Array.from([0xff, 0xd8, 3, 4]);
    const pixelData = parseEncapsulatedItems(
      itemSequence([], [first, b, second]),
      '1.2.840.10008.1.2.4.70',
      null,
      't',
    );
    expect([...encapsulatedFrame(pixelData, 0, 2, 't')]).toEqual([0xff, 0xd8, 1, 2, 5, 6]);
    expect([...encapsulatedFrame(pixelData, 1, 2, 't')]).toEqual([0xff, 0xd8, 3, 4]);
  });

  it('rejects an offset that misses a fragment', () => {
    const pixelData = parseEncapsulatedItems(
      itemSequence([0, 20], [a, b, c]),
      '1.2.840.10008.1.2.5',
      null,
      'test',
    );
    let error: unknown;
    try {
      encapsulatedFrame(pixelData, 1, 2, 'test');
    } catch (caught) {
      error = caught;
    }
    expect(isNqo1Error(error, 'ERR_DICOM_MALFORMED')).toBe(true);
    expect((error as Error).message).toContain('offset 20 does not point at a fragment item');
  });

  it('rejects an item that runs past the end', () => {
    const bytes = itemSequence([], [a, b]).subarray(0, 20);
    let error: unknown;
    try {
      parseEncapsulatedItems(bytes, '1.2.840.10008.1.2.5', null, 'test');
    } catch (caught) {
      error = caught;
    }
    expect(isNqo1Error(error, 'ERR_DICOM_MALFORMED')).toBe(true);
    expect((error as Error).message).toContain('truncated');
  });
});
