/**
 * The transfer syntaxes that NQO1 CDS reads, and the error for those it rejects.
 *
 * @see DICOM PS3.5 section 10 and annex A (transfer syntax specifications) and PS3.6 annex A
 *   (registry of UIDs).
 */

import { Nqo1Error } from '../errors.js';

import { truncateInput } from './input-text.js';

/** A transfer syntax that the reader accepts. */
export interface TransferSyntax {
  readonly uid: string;
  readonly name: string;
  /** Byte order of the dataset and of native pixel data; every encapsulated syntax is little endian. */
  readonly littleEndian: boolean;
  /** True when Pixel Data is an item sequence of compressed fragments (PS3.5 section A.4). */
  readonly encapsulated: boolean;
}

/** A native transfer syntax: pixel data stored uncompressed, in one byte order. */
export type NativeTransferSyntax = TransferSyntax;

function syntax(uid: string, name: string, littleEndian: boolean, encapsulated: boolean): TransferSyntax {
  return { uid, name, littleEndian, encapsulated };
}

/**
 * The native transfer syntaxes. dcmjs inflates the deflated syntax itself, after
 * `deflated-dataset.ts` has checked the inflated size, so its dataset reaches us as explicit VR
 * little endian.
 */
export const NATIVE_TRANSFER_SYNTAXES: ReadonlyMap<string, TransferSyntax> = new Map(
  [
    syntax('1.2.840.10008.1.2', 'Implicit VR Little Endian', true, false),
    syntax('1.2.840.10008.1.2.1', 'Explicit VR Little Endian', true, false),
    syntax('1.2.840.10008.1.2.1.99', 'Deflated Explicit VR Little Endian', true, false),
    syntax('1.2.840.10008.1.2.2', 'Explicit VR Big Endian', false, false),
  ].map((entry) => [entry.uid, entry]),
);

/** The encapsulated transfer syntaxes whose frames `codecs/frame-codecs.ts` decodes. */
export const ENCAPSULATED_TRANSFER_SYNTAXES: ReadonlyMap<string, TransferSyntax> = new Map(
  [
    syntax('1.2.840.10008.1.2.4.50', 'JPEG Baseline (Process 1)', true, true),
    syntax('1.2.840.10008.1.2.4.51', 'JPEG Extended (Process 2 & 4)', true, true),
    syntax('1.2.840.10008.1.2.4.57', 'JPEG Lossless, Non-Hierarchical (Process 14)', true, true),
    syntax('1.2.840.10008.1.2.4.70', 'JPEG Lossless, First-Order Prediction (Process 14, SV1)', true, true),
    syntax('1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless', true, true),
    syntax('1.2.840.10008.1.2.4.81', 'JPEG-LS Near-Lossless', true, true),
    syntax('1.2.840.10008.1.2.4.90', 'JPEG 2000 Lossless', true, true),
    syntax('1.2.840.10008.1.2.4.91', 'JPEG 2000', true, true),
    syntax('1.2.840.10008.1.2.4.201', 'HTJ2K Lossless', true, true),
    syntax('1.2.840.10008.1.2.4.202', 'HTJ2K Lossless RPCL', true, true),
    syntax('1.2.840.10008.1.2.4.203', 'HTJ2K', true, true),
    syntax('1.2.840.10008.1.2.5', 'RLE Lossless', true, true),
    syntax('1.2.840.10008.1.2.8.1', 'Deflated Image Frame Compression', true, true),
  ].map((entry) => [entry.uid, entry]),
);

/** Names of the compressed transfer syntaxes that are rejected, used to make the message readable. */
const REJECTED_TRANSFER_SYNTAX_NAMES: ReadonlyMap<string, string> = new Map([
  ['1.2.840.10008.1.2.4.100', 'MPEG2 Main Profile / Main Level'],
  ['1.2.840.10008.1.2.4.102', 'MPEG-4 AVC/H.264 High Profile / Level 4.1'],
  ['1.2.840.10008.1.2.4.110', 'JPEG XL Lossless'],
  ['1.2.840.10008.1.2.4.112', 'JPEG XL'],
]);

/** Returns the accepted transfer syntax with this UID, or undefined. */
export function findTransferSyntax(uid: string): TransferSyntax | undefined {
  return NATIVE_TRANSFER_SYNTAXES.get(uid) ?? ENCAPSULATED_TRANSFER_SYNTAXES.get(uid);
}

/** Returns the ERR_DICOM_UNSUPPORTED error for a transfer syntax that no reader here accepts. */
export function unsupportedTransferSyntax(uid: string, context: string): Nqo1Error {
  const name = REJECTED_TRANSFER_SYNTAX_NAMES.get(uid);
  const shownUid = truncateInput(uid);
  return new Nqo1Error(
    'ERR_DICOM_UNSUPPORTED',
    `${context}: transfer syntax ${shownUid} (${name ?? 'an unknown transfer syntax'}) is not supported. This ` +
      'release reads the native syntaxes and JPEG Baseline, JPEG Extended, JPEG Lossless, JPEG-LS, JPEG 2000, ' +
      'HTJ2K, RLE and Deflated Image Frame Compression. Ask the PACS for one of these, or convert the file, e.g. ' +
      'with gdcmconv --raw.',
    { details: { transferSyntaxUid: shownUid } },
  );
}
