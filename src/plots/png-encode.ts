/**
 * A PNG encoder for 8-bit RGBA images (PNG specification, third edition: colour type 6, bit depth 8,
 * no interlace). Every row uses filter type 0 (None) and the pixel data is one zlib stream in one
 * IDAT chunk. Enough for the small overlay pictures the service renders; charts go through resvg.
 *
 * Layout: signature, IHDR (width, height, bit depth, colour type, compression, filter, interlace),
 * IDAT, IEND. Each chunk is length (4 bytes, big-endian), type, data, and the CRC-32 of type + data.
 *
 * @see https://www.w3.org/TR/png-3/#5DataRep
 */

import { crc32, deflateSync } from 'node:zlib';

import { Nqo1Error } from '../errors.js';

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** Maximum width or height in pixels. It is far above any overlay and keeps row sizes small. */
const MAX_SIDE_PX = 8192;

/**
 * Encodes `rgba` (4 bytes per pixel, rows from the top) as a PNG file.
 *
 * @throws Nqo1Error ERR_INTERNAL when the size is not a positive integer up to 8192 or `rgba` has
 *   another length than width × height × 4.
 */
export function encodeRgbaPng(widthPx: number, heightPx: number, rgba: Uint8Array): Uint8Array {
  const validSide = (side: number): boolean => Number.isInteger(side) && side > 0 && side <= MAX_SIDE_PX;
  if (!validSide(widthPx) || !validSide(heightPx) || rgba.length !== widthPx * heightPx * 4) {
    throw new Nqo1Error(
      'ERR_INTERNAL',
      `A PNG of ${widthPx} × ${heightPx} pixels needs ${widthPx * heightPx * 4} RGBA bytes and sides of 1 to ${MAX_SIDE_PX}; got ${rgba.length} bytes.`,
    );
  }

  const header = new Uint8Array(13);
  const headerView = new DataView(header.buffer);
  headerView.setUint32(0, widthPx);
  headerView.setUint32(4, heightPx);
  header[8] = 8; // bit depth
  header[9] = 6; // colour type: truecolour with alpha

  // Each row is preceded by its filter type byte, 0 (None).
  const rowBytes = widthPx * 4;
  const filtered = new Uint8Array(heightPx * (rowBytes + 1));
  for (let row = 0; row < heightPx; row++) {
    filtered.set(rgba.subarray(row * rowBytes, (row + 1) * rowBytes), row * (rowBytes + 1) + 1);
  }

  return concat([
    SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(filtered)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** Builds one chunk: length, type, data, and the CRC-32 of type and data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const typeAndData = new Uint8Array(4 + data.length);
  for (let index = 0; index < 4; index++) typeAndData[index] = type.charCodeAt(index);
  typeAndData.set(data, 4);

  const out = new Uint8Array(8 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(typeAndData, 4);
  view.setUint32(8 + data.length, crc32(typeAndData));
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
