/**
 * A check that every element of a Part 10 file fits in the file, made before dcmjs parses it.
 *
 * dcmjs 0.51.1 copies a value whose declared length runs past the end of its buffer into a new,
 * zero-filled buffer of the declared length, up to 4 GiB. A 5 kB file whose explicit VR was damaged
 * to UN (4-byte length) then makes dcmjs allocate gigabytes, and decoding that buffer as text stops
 * Node with a fatal V8 error ("v8::ToLocalChecked Empty MaybeLocal") that no catch can intercept.
 * Rejecting such a length first bounds every allocation of the parser by the file size.
 *
 * The walk follows PS3.5 sections 7.1 (element headers), 7.5 (sequences and items) and A.4
 * (encapsulated pixel data). It enters explicit VR sequences, items and every element of undefined
 * length. In implicit VR it enters a value of defined length only when the value starts with an
 * Item tag, the mark of a sequence, because its VR is not in the file. An explicit VR the standard
 * does not define is read with a 4-byte length, as dcmjs reads it (as UN).
 */

import { inflateRawSync } from 'node:zlib';

import { Nqo1Error } from '../errors.js';

import { DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN } from './deflated-dataset.js';
import { FILE_META_OFFSET, fileMetaString } from './file-meta.js';

const ITEM = 0xfffee000;
const SEQUENCE_DELIMITATION = 0xfffee0dd;
const PIXEL_DATA = 0x7fe00010;
const UNDEFINED_LENGTH = 0xffffffff;
const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';

/** VRs with a 2-byte length in explicit VR encoding (PS3.5 table 7.1-2); all others have 4 bytes. */
const SHORT_LENGTH_VRS: ReadonlySet<string> = new Set([
  'AE',
  'AS',
  'AT',
  'CS',
  'DA',
  'DS',
  'DT',
  'FD',
  'FL',
  'IS',
  'LO',
  'LT',
  'PN',
  'SH',
  'SL',
  'SS',
  'ST',
  'TM',
  'UI',
  'UL',
  'US',
]);

interface Encoding {
  readonly explicit: boolean;
  readonly littleEndian: boolean;
}

/**
 * Checks that no element, item or fragment of `file` declares more bytes than follow it. The
 * dataset of a deflated file is inflated and checked in the same way, up to `maxInflatedBytes`.
 *
 * @throws Nqo1Error ERR_DICOM_MALFORMED naming the element, its offset, its declared length and
 *   the bytes that remain
 */
export function checkElementLengths(file: Uint8Array, context: string, maxInflatedBytes: number): void {
  const metaEnd = walk(file, FILE_META_OFFSET, { explicit: true, littleEndian: true }, context, true);
  const transferSyntaxUid = fileMetaString(file, 0x0010);
  if (transferSyntaxUid === DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN) {
    let inflated: Uint8Array;
    try {
      inflated = inflateRawSync(file.subarray(metaEnd), { maxOutputLength: maxInflatedBytes });
    } catch {
      // checkDeflatedDatasetSize reports a dataset that does not inflate.
      return;
    }
    walk(inflated, 0, { explicit: true, littleEndian: true }, `${context} (inflated dataset)`, false);
    return;
  }
  walk(
    file,
    metaEnd,
    {
      explicit: transferSyntaxUid !== IMPLICIT_VR_LITTLE_ENDIAN,
      littleEndian: transferSyntaxUid !== EXPLICIT_VR_BIG_ENDIAN,
    },
    context,
    false,
  );
}

/**
 * Walks headers from `start` to the end of `bytes`, or for file meta information to the first tag
 * outside group 0002, and returns the offset where it stopped.
 */
function walk(
  bytes: Uint8Array,
  start: number,
  encoding: Encoding,
  context: string,
  fileMeta: boolean,
): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { littleEndian } = encoding;
  // Each open element of undefined length: true for encapsulated Pixel Data, false for a sequence or item.
  const open: boolean[] = [];
  let offset = start;

  while (offset + 8 <= bytes.length) {
    const tag =
      ((view.getUint16(offset, littleEndian) << 16) | view.getUint16(offset + 2, littleEndian)) >>> 0;
    if (fileMeta && tag >>> 16 !== 0x0002) break;

    if (tag >>> 16 === 0xfffe) {
      const length = view.getUint32(offset + 4, littleEndian);
      const valueOffset = offset + 8;
      if (tag !== ITEM) {
        // Item or sequence delimitation: closes the innermost open element.
        if (tag === SEQUENCE_DELIMITATION || open[open.length - 1] === false) open.pop();
        offset = valueOffset;
        continue;
      }
      const inPixelData = open[open.length - 1] === true;
      if (length === UNDEFINED_LENGTH) {
        // A fragment must have a defined length (PS3.5 A.4), while an item of a sequence need not.
        if (inPixelData) throw lengthError(bytes, tag, offset, length, context);
        open.push(false);
        offset = valueOffset;
        continue;
      }
      if (length > bytes.length - valueOffset) throw lengthError(bytes, tag, offset, length, context);
      offset = inPixelData ? valueOffset + length : valueOffset;
      continue;
    }

    const header = readHeader(bytes, view, offset, encoding);
    if (header === null) break;
    const { vr, valueOffset, length } = header;
    if (length === UNDEFINED_LENGTH) {
      // NOTE: an explicit UN of undefined length contains implicit VR data (PS3.5 section 6.2.2), which
      // dcmjs does not read in a way this walk can follow, so the check ends there.
      if (vr === 'UN') break;
      open.push(tag === PIXEL_DATA);
      offset = valueOffset;
      continue;
    }
    if (length > bytes.length - valueOffset) throw lengthError(bytes, tag, offset, length, context);
    const isSequence =
      vr === 'SQ' || (vr === null && length >= 8 && readItemTag(view, valueOffset, littleEndian) === ITEM);
    offset = isSequence ? valueOffset : valueOffset + length;
  }
  return offset;
}

function readItemTag(view: DataView, offset: number, littleEndian: boolean): number {
  return ((view.getUint16(offset, littleEndian) << 16) | view.getUint16(offset + 2, littleEndian)) >>> 0;
}

interface Header {
  /** The explicit VR, or null in implicit VR encoding. */
  readonly vr: string | null;
  readonly valueOffset: number;
  readonly length: number;
}

function readHeader(bytes: Uint8Array, view: DataView, offset: number, encoding: Encoding): Header | null {
  if (!encoding.explicit) {
    return { vr: null, valueOffset: offset + 8, length: view.getUint32(offset + 4, encoding.littleEndian) };
  }
  const vr = String.fromCharCode(bytes[offset + 4]!, bytes[offset + 5]!);
  if (SHORT_LENGTH_VRS.has(vr)) {
    return { vr, valueOffset: offset + 8, length: view.getUint16(offset + 6, encoding.littleEndian) };
  }
  if (offset + 12 > bytes.length) return null;
  return { vr, valueOffset: offset + 12, length: view.getUint32(offset + 8, encoding.littleEndian) };
}

function lengthError(
  bytes: Uint8Array,
  tag: number,
  offset: number,
  length: number,
  context: string,
): Nqo1Error {
  const hex = tag.toString(16).toUpperCase().padStart(8, '0');
  const name = `(${hex.slice(0, 4)},${hex.slice(4)})`;
  const remaining = Math.max(0, bytes.length - offset);
  return new Nqo1Error(
    'ERR_DICOM_MALFORMED',
    `${context}: the file is truncated or corrupt: element ${name} at byte ${offset} declares a value of ` +
      `${length === UNDEFINED_LENGTH ? 'undefined length' : `${length} bytes`}, but only ${remaining} bytes ` +
      'remain from its header on. Retrieve the file again from the PACS.',
    { details: { tag: name, offset, declaredBytes: length, remainingBytes: remaining } },
  );
}
