/**
 * JPEG Extended (process 2 and 4, 12-bit lossy JPEG, transfer syntax 1.2.840.10008.1.2.4.51) with
 * dcmjs-codecs 0.0.8, whose WASM contains a 12-bit IJG JPEG decoder. No cornerstone codec decodes
 * 12-bit JPEG: its libjpeg-turbo build is 8-bit only.
 *
 * dcmjs-codecs starts only asynchronously, while the readers are synchronous, so the codec must be
 * started with {@link preloadJpegExtendedCodec} before a 12-bit JPEG frame is decoded.
 */

import { createRequire } from 'node:module';

import { Nqo1Error } from '../../errors.js';

import type { FrameShape } from './frame-codecs.js';

const require = createRequire(import.meta.url);

/** The frame context of dcmjs-codecs: geometry in, decoded bytes out. */
interface CodecContext {
  getWidth(): number | undefined;
  getHeight(): number | undefined;
  getDecodedBuffer(): Uint8Array | undefined;
}

/** The slice of the dcmjs-codecs 0.0.8 API used here, from its index.d.ts. */
interface DcmjsCodecs {
  readonly log: { setLevel(level: 'silent'): void };
  readonly Context: new (attributes: Record<string, unknown>) => CodecContext;
  readonly NativeCodecs: {
    initializeAsync(): Promise<void>;
    decodeJpeg(context: CodecContext, parameters?: Record<string, unknown>): CodecContext;
  };
}

let started: DcmjsCodecs | null = null;
let starting: Promise<void> | null = null;

/**
 * Starts the 12-bit JPEG codec once; later calls return the same promise. Callers that read
 * files asynchronously (a series reader) await this before decoding JPEG Extended files.
 */
export function preloadJpegExtendedCodec(): Promise<void> {
  starting ??= (async () => {
    const codecs = require('dcmjs-codecs') as DcmjsCodecs;
    // Its codecs print decoder warnings through this logger; the imaging core does not log, and
    // a failed decode raises an error here instead.
    codecs.log.setLevel('silent');
    await codecs.NativeCodecs.initializeAsync();
    started = codecs;
  })();
  return starting;
}

/**
 * Decodes one 12-bit (or 8-bit) JPEG Extended frame into its samples.
 *
 * @throws Nqo1Error ERR_DICOM_UNSUPPORTED when the codec was not started;
 *   ERR_DICOM_MALFORMED when the codestream is damaged or decodes to another size.
 */
export function decodeJpegExtended(codestream: Uint8Array, shape: FrameShape, context: string): Int32Array {
  if (started === null) {
    // The synchronous readers cannot start dcmjs-codecs themselves: the async entry points call
    // prepareCodecs (prepare-codecs.ts) first, and a direct caller of readCtSeries must too.
    throw new Nqo1Error(
      'ERR_DICOM_UNSUPPORTED',
      `${context}: transfer syntax 1.2.840.10008.1.2.4.51 (JPEG Extended, 12-bit lossy JPEG) needs its codec ` +
        'started first (prepareCodecs or preloadJpegExtendedCodec), and the caller did not start it. Await ' +
        'prepareCodecs(files) before reading, or convert the file, e.g. with dcmdjpeg or gdcmconv --raw.',
      { details: { transferSyntaxUid: '1.2.840.10008.1.2.4.51' } },
    );
  }

  const pixels = shape.rows * shape.columns;
  let decoded: CodecContext;
  try {
    const frame = new started.Context({
      width: shape.columns,
      height: shape.rows,
      bitsAllocated: shape.bitsAllocated,
      bitsStored: shape.bitsAllocated === 8 ? 8 : 12,
      samplesPerPixel: 1,
      pixelRepresentation: 0,
      planarConfiguration: 0,
      photometricInterpretation: 'MONOCHROME2',
      encodedBuffer: codestream,
    });
    decoded = started.NativeCodecs.decodeJpeg(frame, {});
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Nqo1Error(
      'ERR_DICOM_MALFORMED',
      `${context}: the JPEG Extended codec could not decode a frame (${reason.slice(0, 200)}). The compressed ` +
        'pixel data is damaged or truncated; retrieve the file again from the PACS.',
      { cause: error },
    );
  }

  const bytes = decoded.getDecodedBuffer();
  const bytesPerSample = shape.bitsAllocated > 8 ? 2 : 1;
  if (bytes === undefined || bytes.length < pixels * bytesPerSample) {
    throw new Nqo1Error(
      'ERR_DICOM_MALFORMED',
      `${context}: a JPEG Extended frame decodes to ${bytes?.length ?? 0} bytes, too few for ${shape.rows} rows × ` +
        `${shape.columns} columns. The header and the compressed pixel data disagree; export the image again.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Int32Array(pixels);
  for (let p = 0; p < pixels; p++)
    values[p] = bytesPerSample === 2 ? view.getUint16(2 * p, true) : view.getUint8(p);
  return values;
}
