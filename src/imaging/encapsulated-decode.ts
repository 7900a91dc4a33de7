/**
 * Stored values of one frame of encapsulated (compressed) pixel data.
 *
 * The codec returns the samples as its codestream defines them. The header then decides their
 * meaning, as PS3.5 section 8.2 requires of the Image Pixel module: each sample is masked to its low
 * BitsStored bits and, for PixelRepresentation 1, sign-extended from bit BitsStored − 1. This one
 * rule covers both known kinds of disagreement. A JPEG 2000 codestream that declares more precision
 * than BitsStored (for example 16 against 14) keeps its values when they fit, and an unsigned
 * codestream under PixelRepresentation 1 (the encoder stored two's complement patterns as
 * unsigned) is reinterpreted as signed at BitsStored.
 */

import { decodeCompressedFrame } from './codecs/frame-codecs.js';
import { encapsulatedFrame } from './encapsulated-pixel-data.js';

import type { EncapsulatedPixelData } from './encapsulated-pixel-data.js';
import type { PixelFormat } from './pixel-data.js';

/**
 * Decodes frame `frameIndex` (from 0) and applies BitsStored and PixelRepresentation.
 *
 * @returns rows × columns stored values, column index fastest
 */
export function decodeEncapsulatedStoredValues(
  pixelData: EncapsulatedPixelData,
  format: PixelFormat,
  frameIndex: number,
  context: string,
): Int32Array {
  const codestream = encapsulatedFrame(pixelData, frameIndex, format.numberOfFrames, context);
  const samples = decodeCompressedFrame(pixelData.transferSyntaxUid, codestream, format, context);

  const mask = format.bitsStored >= 32 ? -1 : (1 << format.bitsStored) - 1;
  const signBit = 1 << (format.bitsStored - 1);
  const signed = format.pixelRepresentation === 1;
  for (let p = 0; p < samples.length; p++) {
    const stored = samples[p]! & mask;
    samples[p] = signed && (stored & signBit) !== 0 ? stored - (mask + 1) : stored;
  }
  return samples;
}
