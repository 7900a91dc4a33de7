/**
 * A decoder for the PNGs resvg writes (8-bit RGBA, non-interlaced), enough to check the size and
 * the pixels of a rendered chart. It reads IHDR, inflates the joined IDAT chunks with node:zlib and
 * reverses the per-row filters of the PNG specification, section 9.
 */

import { inflateSync } from 'node:zlib';

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export interface DecodedPng {
  readonly width: number;
  readonly height: number;
  /** RGBA, row by row from the top. */
  readonly rgba: Uint8Array;
}

/** Reads width and height from the IHDR chunk, which must follow the signature. */
export function readPngSize(png: Uint8Array): {
  width: number;
  height: number;
  bitDepth: number;
  colourType: number;
} {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const type = String.fromCharCode(...png.subarray(12, 16));
  if (type !== 'IHDR') throw new Error(`expected IHDR after the signature, found ${type}`);
  return { width: view.getUint32(16), height: view.getUint32(20), bitDepth: png[24]!, colourType: png[25]! };
}

/** Decodes an 8-bit RGBA non-interlaced PNG. */
export function decodePng(png: Uint8Array): DecodedPng {
  const { width, height, bitDepth, colourType } = readPngSize(png);
  if (bitDepth !== 8 || colourType !== 6 || png[28] !== 0) {
    throw new Error(
      `only 8-bit RGBA non-interlaced PNG is decoded, found depth ${bitDepth}, colour type ${colourType}`,
    );
  }

  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const idat: Uint8Array[] = [];
  for (let offset = 8; offset < png.length;) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...png.subarray(offset + 4, offset + 8));
    if (type === 'IDAT') idat.push(png.subarray(offset + 8, offset + 8 + length));
    offset += 12 + length;
  }
  const filtered = inflateSync(Buffer.concat(idat));

  const bytesPerPixel = 4;
  const stride = width * bytesPerPixel;
  const rgba = new Uint8Array(stride * height);
  for (let row = 0; row < height; row++) {
    const filter = filtered[row * (stride + 1)]!;
    const source = row * (stride + 1) + 1;
    const target = row * stride;
    for (let i = 0; i < stride; i++) {
      const raw = filtered[source + i]!;
      const left = i >= bytesPerPixel ? rgba[target + i - bytesPerPixel]! : 0;
      const up = row > 0 ? rgba[target - stride + i]! : 0;
      const upLeft = row > 0 && i >= bytesPerPixel ? rgba[target - stride + i - bytesPerPixel]! : 0;
      let predicted: number;
      if (filter === 0) predicted = 0;
      else if (filter === 1) predicted = left;
      else if (filter === 2) predicted = up;
      else if (filter === 3) predicted = (left + up) >> 1;
      else if (filter === 4) predicted = paeth(left, up, upLeft);
      else throw new Error(`unknown PNG filter type ${filter} on row ${row}`);
      rgba[target + i] = (raw + predicted) & 0xff;
    }
  }
  return { width, height, rgba };
}

function paeth(left: number, up: number, upLeft: number): number {
  const estimate = left + up - upLeft;
  const toLeft = Math.abs(estimate - left);
  const toUp = Math.abs(estimate - up);
  const toUpLeft = Math.abs(estimate - upLeft);
  if (toLeft <= toUp && toLeft <= toUpLeft) return left;
  return toUp <= toUpLeft ? up : upLeft;
}

/** Counts the pixels whose colour is not pure white. */
export function countNonWhitePixels(
  image: DecodedPng,
  region?: { left: number; top: number; right: number; bottom: number },
): number {
  const { left = 0, top = 0, right = image.width, bottom = image.height } = region ?? {};
  let count = 0;
  for (let y = top; y < bottom; y++) {
    for (let x = left; x < right; x++) {
      const offset = (y * image.width + x) * 4;
      if (image.rgba[offset] !== 255 || image.rgba[offset + 1] !== 255 || image.rgba[offset + 2] !== 255)
        count++;
    }
  }
  return count;
}
