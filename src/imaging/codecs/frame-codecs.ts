/**
 * Decoding of one compressed frame into integer sample values, per encapsulated transfer syntax.
 *
 * Codecs, all from npm: JPEG Baseline 8-bit with @cornerstonejs/codec-libjpeg-turbo-8bit; JPEG
 * Extended 12-bit with dcmjs-codecs (`jpeg-extended.ts`, started asynchronously beforehand); JPEG
 * Lossless (process 14 and its SV1 subset) with jpeg-lossless-decoder-js; JPEG-LS with
 * @cornerstonejs/codec-charls; JPEG 2000 with @cornerstonejs/codec-openjpeg; HTJ2K with
 * @cornerstonejs/codec-openjph. RLE is decoded by `rle.ts` and Deflated Image Frame Compression by
 * node:zlib. The WASM codecs start on first use (`wasm-module.ts`).
 *
 * The values returned are the samples as the codestream defines them (signed when the codestream
 * declares signed samples). `encapsulated-decode.ts` then applies BitsStored and PixelRepresentation.
 *
 * @see DICOM PS3.5 sections 8.2 (native and encapsulated formats) and A.4.
 */

import { inflateRawSync } from 'node:zlib';

import { Decoder as JpegLosslessDecoder } from 'jpeg-lossless-decoder-js';

import { Nqo1Error } from '../../errors.js';

import { decodeJpegExtended } from './jpeg-extended.js';
import { jpeg2000ImageSize } from './jpeg2000-header.js';
import { jpegStructureProblem } from './jpeg-markers.js';
import { decodeRleSegments } from './rle.js';
import { loadWasmCodec } from './wasm-module.js';

import type { EmscriptenModule } from './wasm-module.js';

/** The geometry a decoded frame must have, from the Image Pixel module. */
export interface FrameShape {
  readonly rows: number;
  readonly columns: number;
  readonly bitsAllocated: number;
}

/** Sample values of one decoded single-sample frame, row by row, column index fastest. */
export type DecodedSamples = Int32Array;

/** A WASM decoder object as the cornerstone codecs expose it through Embind. */
interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): {
    width: number;
    height: number;
    bitsPerSample: number;
    componentCount: number;
    isSigned?: boolean;
  };
  delete(): void;
}

const WASM_CODECS = {
  jpegBaseline: [
    '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs',
    '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasm',
    'JPEGDecoder',
  ],
  jpegLs: [
    '@cornerstonejs/codec-charls/decodewasmjs',
    '@cornerstonejs/codec-charls/decodewasm',
    'JpegLSDecoder',
  ],
  jpeg2000: [
    '@cornerstonejs/codec-openjpeg/decodewasmjs',
    '@cornerstonejs/codec-openjpeg/decodewasm',
    'J2KDecoder',
  ],
  htj2k: ['@cornerstonejs/codec-openjph/wasmjs', '@cornerstonejs/codec-openjph/wasm', 'HTJ2KDecoder'],
} as const;

type WasmCodecName = keyof typeof WASM_CODECS;

/** The codec of each encapsulated transfer syntax. */
const CODEC_OF_SYNTAX: ReadonlyMap<
  string,
  WasmCodecName | 'jpegExtended' | 'jpegLossless' | 'rle' | 'deflate'
> = new Map([
  ['1.2.840.10008.1.2.4.50', 'jpegBaseline'],
  ['1.2.840.10008.1.2.4.51', 'jpegExtended'],
  ['1.2.840.10008.1.2.4.57', 'jpegLossless'],
  ['1.2.840.10008.1.2.4.70', 'jpegLossless'],
  ['1.2.840.10008.1.2.4.80', 'jpegLs'],
  ['1.2.840.10008.1.2.4.81', 'jpegLs'],
  ['1.2.840.10008.1.2.4.90', 'jpeg2000'],
  ['1.2.840.10008.1.2.4.91', 'jpeg2000'],
  ['1.2.840.10008.1.2.4.201', 'htj2k'],
  ['1.2.840.10008.1.2.4.202', 'htj2k'],
  ['1.2.840.10008.1.2.4.203', 'htj2k'],
  ['1.2.840.10008.1.2.5', 'rle'],
  ['1.2.840.10008.1.2.8.1', 'deflate'],
] as const);

/** JPEG (ITU-T T.81) transfer syntaxes: Baseline, Extended and the two Lossless ones. */
const JPEG_DCT_AND_LOSSLESS: ReadonlySet<string> = new Set([
  '1.2.840.10008.1.2.4.50',
  '1.2.840.10008.1.2.4.51',
  '1.2.840.10008.1.2.4.57',
  '1.2.840.10008.1.2.4.70',
]);

/**
 * Decodes one compressed frame of a single-sample image. For BitsAllocated 1, the result contains one
 * value per pixel: the decoded sample (JPEG 2000, JPEG-LS) or the unpacked bit (RLE, deflate).
 *
 * @throws Nqo1Error ERR_DICOM_MALFORMED when the codestream is damaged or decodes to a size other than
 *   Rows × Columns with one sample per pixel; ERR_DICOM_UNSUPPORTED for a syntax without a codec.
 */
export function decodeCompressedFrame(
  transferSyntaxUid: string,
  codestream: Uint8Array,
  shape: FrameShape,
  context: string,
): DecodedSamples {
  const codec = CODEC_OF_SYNTAX.get(transferSyntaxUid);
  if (codec === undefined) {
    throw new Nqo1Error(
      'ERR_DICOM_UNSUPPORTED',
      `${context}: no codec decodes transfer syntax ${transferSyntaxUid}. Convert the file to an uncompressed transfer syntax.`,
    );
  }
  if (JPEG_DCT_AND_LOSSLESS.has(transferSyntaxUid)) {
    // The JPEG decoders turn damaged entropy-coded data into wrong pixels without an error; a
    // broken marker structure is the sign of such damage that can be checked.
    const problem = jpegStructureProblem(codestream);
    if (problem !== null) throw damaged(codec, problem, context);
  }
  if (codec === 'jpegLs') checkJpegLsEnds(codestream, context);
  if (codec === 'jpeg2000' || codec === 'htj2k') checkJpeg2000Size(codestream, shape, context);
  if (codec === 'rle') return decodeRleFrame(codestream, shape, context);
  if (codec === 'deflate') return decodeDeflatedFrame(codestream, shape, context);
  if (codec === 'jpegLossless') return decodeJpegLossless(codestream, shape, context);
  if (codec === 'jpegExtended') return decodeJpegExtended(codestream, shape, context);
  return decodeWithWasm(codec, codestream, shape, context);
}

function decodeWithWasm(
  codec: WasmCodecName,
  codestream: Uint8Array,
  shape: FrameShape,
  context: string,
): DecodedSamples {
  const [factory, wasm, className] = WASM_CODECS[codec];
  const module: EmscriptenModule = loadWasmCodec(factory, wasm, className);
  const DecoderClass = module[className] as new () => WasmDecoder;
  const decoder = new DecoderClass();
  try {
    decoder.getEncodedBuffer(codestream.length).set(codestream);
    decoder.decode();
    const info = decoder.getFrameInfo();
    if (info.width === 0 || info.height === 0) throw damaged(codec, 'no image was decoded', context);
    checkShape(info.width, info.height, info.componentCount, shape, context);
    const decoded = decoder.getDecodedBuffer();
    return samplesFromBytes(decoded, info.bitsPerSample, info.isSigned === true, shape, context);
  } catch (error) {
    if (error instanceof Nqo1Error) throw error;
    throw damaged(codec, error, context);
  } finally {
    decoder.delete();
  }
}

/**
 * Requires a JPEG-LS codestream (ITU-T T.87, which keeps the T.81 markers) to start with SOI (FFD8)
 * and end with EOI (FFD9). CharLS 2 in @cornerstonejs/codec-charls 1.2.7 spends seconds on a
 * truncated codestream before it fails: 15 s for a 512 × 512 near-lossless frame cut to 17 kB
 * of its 49 kB, measured on one core of an AMD EPYC.
 */
function checkJpegLsEnds(codestream: Uint8Array, context: string): void {
  if (codestream[0] !== 0xff || codestream[1] !== 0xd8) {
    throw damaged('jpegLs', 'the codestream does not start with SOI (FFD8)', context);
  }
  if (!endsWithEndOfImage(codestream)) {
    throw damaged('jpegLs', 'the codestream lacks its end of image marker (FFD9)', context);
  }
}

/** Requires the size in the SIZ marker segment to match the header before the codec allocates for it. */
function checkJpeg2000Size(codestream: Uint8Array, shape: FrameShape, context: string): void {
  const size = jpeg2000ImageSize(codestream);
  if (size === null) return;
  if (size.width === shape.columns && size.height === shape.rows && size.components === 1) return;
  throw new Nqo1Error(
    'ERR_DICOM_MALFORMED',
    `${context}: the JPEG 2000 header (SIZ) of a frame declares ${size.width} × ${size.height} pixels with ` +
      `${size.components} components, but the DICOM header declares ${shape.columns} × ${shape.rows} with 1 sample. ` +
      'The header and the compressed pixel data disagree; export the image again.',
    {
      details: {
        declaredColumns: size.width,
        declaredRows: size.height,
        declaredComponents: size.components,
      },
    },
  );
}

function decodeJpegLossless(codestream: Uint8Array, shape: FrameShape, context: string): DecodedSamples {
  // jpeg-lossless-decoder-js 2.1.2 decodes a truncated codestream without an error, so the end of
  // image marker (FFD9H) must be among the last bytes (a fragment may end with padding).
  if (!endsWithEndOfImage(codestream)) {
    throw damaged('jpegLossless', 'the codestream lacks its end of image marker (FFD9)', context);
  }
  const decoder = new JpegLosslessDecoder();
  const bytesPerSample = shape.bitsAllocated > 8 ? 2 : 1;
  let decoded: Uint8Array | Uint16Array;
  try {
    decoded = decoder.decode(codestream.buffer, codestream.byteOffset, codestream.byteLength, bytesPerSample);
  } catch (error) {
    throw damaged('jpegLossless', error, context);
  }
  checkShape(decoder.frame.dimX, decoder.frame.dimY, decoder.frame.numComp, shape, context);
  return Int32Array.from(decoded);
}

function endsWithEndOfImage(codestream: Uint8Array): boolean {
  for (let i = codestream.length - 2; i >= Math.max(0, codestream.length - 16); i--) {
    if (codestream[i] === 0xff && codestream[i + 1] === 0xd9) return true;
  }
  return false;
}

function decodeRleFrame(codestream: Uint8Array, shape: FrameShape, context: string): DecodedSamples {
  const pixels = shape.rows * shape.columns;
  if (shape.bitsAllocated === 1) {
    const [bits] = decodeRleSegments(codestream, 1, Math.ceil(pixels / 8), context);
    return unpackBits(bits!, pixels);
  }

  const bytesPerSample = shape.bitsAllocated / 8;
  const segments = decodeRleSegments(codestream, bytesPerSample, pixels, context);
  const values = new Int32Array(pixels);
  for (const segment of segments) {
    for (let p = 0; p < pixels; p++) values[p] = (values[p]! << 8) | segment[p]!;
  }
  return values;
}

/** Deflated Image Frame Compression: each frame is the native frame, raw deflate coded (RFC 1951). */
function decodeDeflatedFrame(codestream: Uint8Array, shape: FrameShape, context: string): DecodedSamples {
  const pixels = shape.rows * shape.columns;
  let inflated: Uint8Array;
  try {
    inflated = inflateRawSync(codestream);
  } catch (error) {
    throw damaged('deflate', error, context);
  }
  if (shape.bitsAllocated === 1) {
    if (inflated.length < Math.ceil(pixels / 8)) throw wrongLength(inflated.length, shape, context);
    return unpackBits(inflated, pixels);
  }
  const bytesPerSample = shape.bitsAllocated / 8;
  if (inflated.length < pixels * bytesPerSample) throw wrongLength(inflated.length, shape, context);
  return samplesFromBytes(inflated, shape.bitsAllocated, false, shape, context);
}

/** Reads little endian samples of 8 or 16 bits (as the decoders output them) into integers. */
function samplesFromBytes(
  bytes: Uint8Array,
  bitsPerSample: number,
  signed: boolean,
  shape: FrameShape,
  context: string,
): DecodedSamples {
  const pixels = shape.rows * shape.columns;
  const bytesPerSample = bitsPerSample > 8 ? 2 : 1;
  if (bytes.length < pixels * bytesPerSample) throw wrongLength(bytes.length, shape, context);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Int32Array(pixels);
  if (bytesPerSample === 2) {
    for (let p = 0; p < pixels; p++)
      values[p] = signed ? view.getInt16(2 * p, true) : view.getUint16(2 * p, true);
  } else {
    for (let p = 0; p < pixels; p++) values[p] = signed ? view.getInt8(p) : view.getUint8(p);
  }
  return values;
}

/** Unpacks bits least significant first, as 1-bit native pixel data is packed (PS3.5 section 8.1.1). */
function unpackBits(bytes: Uint8Array, pixels: number): DecodedSamples {
  const values = new Int32Array(pixels);
  for (let p = 0; p < pixels; p++) values[p] = (bytes[p >>> 3]! >>> (p & 7)) & 1;
  return values;
}

function checkShape(
  width: number,
  height: number,
  components: number,
  shape: FrameShape,
  context: string,
): void {
  if (width === shape.columns && height === shape.rows && components === 1) return;
  throw new Nqo1Error(
    'ERR_DICOM_MALFORMED',
    `${context}: a frame decodes to ${width} × ${height} pixels with ${components} samples, but the header ` +
      `declares ${shape.columns} × ${shape.rows} with 1 sample. The header and the compressed pixel data ` +
      'disagree; export the image again.',
    { details: { decodedColumns: width, decodedRows: height, decodedSamples: components } },
  );
}

function wrongLength(length: number, shape: FrameShape, context: string): Nqo1Error {
  return new Nqo1Error(
    'ERR_DICOM_MALFORMED',
    `${context}: a frame decodes to ${length} bytes, too few for ${shape.rows} rows × ${shape.columns} columns × ` +
      `${shape.bitsAllocated} bits. The header and the compressed pixel data disagree; export the image again.`,
    { details: { decodedBytes: length } },
  );
}

function damaged(codec: string, error: unknown, context: string): Nqo1Error {
  // Emscripten reports a C++ exception as a bare number (a pointer), which names nothing useful.
  const reason =
    error instanceof Error
      ? error.message
      : typeof error === 'number'
        ? 'the codec raised an error'
        : String(error);
  return new Nqo1Error(
    'ERR_DICOM_MALFORMED',
    `${context}: the ${codec} codec could not decode a frame (${reason.slice(0, 200)}). The compressed pixel ` +
      'data is damaged or truncated; retrieve the file again from the PACS.',
    { cause: error },
  );
}
