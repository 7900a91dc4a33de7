/**
 * Encoders that turn 16-bit signed or 8-bit unsigned frames into encapsulated Pixel Data for the
 * decode benchmark and the codec round-trip tests. They use the encoders of the same npm codec
 * packages (CharLS, OpenJPEG, OpenJPH, libjpeg-turbo 8-bit); RLE is encoded here per PS3.5
 * annex G, and Deflated Image Frame Compression with node:zlib.
 */

import { deflateRawSync } from 'node:zlib';

import { loadWasmCodec } from '../src/imaging/codecs/wasm-module.js';

import type { EncapsulatedPixelData } from '../src/imaging/encapsulated-pixel-data.js';

/** Frame geometry and sample layout handed to the WASM encoders. */
export interface FrameInfo {
  readonly width: number;
  readonly height: number;
  readonly bitsPerSample: 8 | 16;
  readonly isSigned: boolean;
}

interface WasmEncoder {
  getDecodedBuffer(info: Record<string, unknown>): Uint8Array;
  getEncodedBuffer(): Uint8Array;
  encode(): void;
  delete(): void;
  setNearLossless?(near: number): void;
  setQuality?(quality: number): void;
}

const ENCODERS = {
  jpegLs: ['@cornerstonejs/codec-charls/wasmjs', '@cornerstonejs/codec-charls/wasm', 'JpegLSEncoder'],
  jpeg2000: ['@cornerstonejs/codec-openjpeg/wasmjs', '@cornerstonejs/codec-openjpeg/wasm', 'J2KEncoder'],
  htj2k: ['@cornerstonejs/codec-openjph/wasmjs', '@cornerstonejs/codec-openjph/wasm', 'HTJ2KEncoder'],
  jpegBaseline: [
    '@cornerstonejs/codec-libjpeg-turbo-8bit/wasmjs',
    '@cornerstonejs/codec-libjpeg-turbo-8bit/wasm',
    'JPEGEncoder',
  ],
} as const;

/** The codec that encodes a frame, with its setting. */
export type EncoderChoice =
  | { readonly codec: 'jpegLs'; readonly near: number }
  | { readonly codec: 'jpeg2000' }
  | { readonly codec: 'htj2k' }
  | { readonly codec: 'jpegBaseline'; readonly quality: number }
  | { readonly codec: 'rle' }
  | { readonly codec: 'deflate' };

/** Encodes one frame given as little endian sample bytes. */
export function encodeFrame(choice: EncoderChoice, samples: Uint8Array, info: FrameInfo): Uint8Array {
  if (choice.codec === 'rle') return encodeRle(samples, info);
  if (choice.codec === 'deflate') return deflateRawSync(samples);

  const [factory, wasm, className] = ENCODERS[choice.codec];
  const module = loadWasmCodec(factory, wasm, className);
  const EncoderClass = module[className] as new () => WasmEncoder;
  const encoder = new EncoderClass();
  try {
    const frameInfo = { ...info, componentCount: 1, isUsingColorTransform: false };
    encoder.getDecodedBuffer(frameInfo).set(samples);
    if (choice.codec === 'jpegLs') encoder.setNearLossless?.(choice.near);
    if (choice.codec === 'jpegBaseline') encoder.setQuality?.(choice.quality);
    encoder.encode();
    return encoder.getEncodedBuffer().slice();
  } finally {
    encoder.delete();
  }
}

/** Wraps encoded frames, one fragment per frame, with a Basic Offset Table. */
export function encapsulate(transferSyntaxUid: string, frames: readonly Uint8Array[]): EncapsulatedPixelData {
  const offsets: number[] = [];
  let offset = 0;
  for (const frame of frames) {
    offsets.push(offset);
    offset += 8 + frame.length;
  }
  return {
    encapsulated: true,
    transferSyntaxUid,
    fragments: frames,
    fragmentOffsets: offsets,
    basicOffsetTable: offsets,
    extendedOffsetTable: null,
  };
}

/**
 * RLE Lossless encoding of one frame: one PackBits segment per byte of the sample, most significant
 * byte first, each segment padded to an even length.
 */
export function encodeRle(samples: Uint8Array, info: FrameInfo): Uint8Array {
  const pixels = info.width * info.height;
  const bytesPerSample = info.bitsPerSample / 8;
  const segments: Uint8Array[] = [];
  for (let byte = bytesPerSample - 1; byte >= 0; byte--) {
    const plane = new Uint8Array(pixels);
    for (let p = 0; p < pixels; p++) plane[p] = samples[p * bytesPerSample + byte]!;
    segments.push(packBits(plane));
  }

  const length = 64 + segments.reduce((total, segment) => total + segment.length, 0);
  const frame = new Uint8Array(length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, segments.length, true);
  let position = 64;
  segments.forEach((segment, index) => {
    view.setUint32(4 + 4 * index, position, true);
    frame.set(segment, position);
    position += segment.length;
  });
  return frame;
}

function packBits(input: Uint8Array): Uint8Array {
  const output: number[] = [];
  let i = 0;
  while (i < input.length) {
    let run = 1;
    while (i + run < input.length && run < 128 && input[i + run] === input[i]) run++;
    if (run >= 2) {
      output.push(257 - run, input[i]!);
      i += run;
      continue;
    }
    let literal = 1;
    while (
      i + literal < input.length &&
      literal < 128 &&
      !(i + literal + 1 < input.length && input[i + literal] === input[i + literal + 1])
    ) {
      literal++;
    }
    output.push(literal - 1, ...input.subarray(i, i + literal));
    i += literal;
  }
  if (output.length % 2 === 1) output.push(0x80);
  return Uint8Array.from(output);
}
