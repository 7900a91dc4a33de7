/**
 * An index of every element header in a DICOM Part 10 file, nested ones included, for the
 * mutator: where each tag, VR, length field and value sits. Written without dcmjs so that the
 * mutator does not share the parser it attacks.
 *
 * The scan is tolerant: it stops at the first header that runs past the end of the file and
 * returns what it found. It enters sequences of explicit VR SQ and every element of undefined
 * length, but steps over an implicit VR sequence of defined length, whose VR it cannot know
 * without a data dictionary. A deflated dataset is not inflated, so only its file meta
 * information is indexed.
 *
 * @see DICOM PS3.5 sections 7.1 (data elements), 7.5 (nesting of data sets) and A.4 (encapsulated
 *   pixel data).
 */

import { LONG_LENGTH_VRS } from '../../../src/imaging/file-meta.js';

export { LONG_LENGTH_VRS };

/** Item (FFFE,E000), Item Delimitation (FFFE,E00D) and Sequence Delimitation (FFFE,E0DD) tags. */
export const ITEM_TAG = 0xfffee000;
export const ITEM_DELIMITATION_TAG = 0xfffee00d;
export const SEQUENCE_DELIMITATION_TAG = 0xfffee0dd;
export const PIXEL_DATA_TAG = 0x7fe00010;
export const UNDEFINED_LENGTH = 0xffffffff;

/** Offset of the "DICM" magic, after the 128-byte preamble. */
export const PART10_PREFIX_BYTES = 132;

const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';
const DEFLATED_SYNTAXES = new Set(['1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.4.95']);

/** What an indexed header is. */
export type ElementKind = 'element' | 'sequence' | 'item' | 'fragment' | 'delimiter';

/** One header found in the file. Offsets are byte offsets from the start of the file. */
export interface ElementRecord {
  readonly kind: ElementKind;
  /** (group << 16 | element), e.g. 0x00280010 for Rows. */
  readonly tag: number;
  readonly offset: number;
  /** Explicit VR as two characters; null for implicit VR, items, fragments and delimiters. */
  readonly vr: string | null;
  readonly lengthOffset: number;
  readonly lengthBytes: 2 | 4;
  readonly valueOffset: number;
  /** The stored length, 0xFFFFFFFF when undefined. */
  readonly valueLength: number;
  /** Offset just past the element, its value or its delimiter included; null when unknown. */
  end: number | null;
  /** True for file meta information (group 0002), which is always explicit VR little endian. */
  readonly inFileMeta: boolean;
  readonly littleEndian: boolean;
  /** Depth of sequence nesting: 0 for top-level elements. */
  readonly depth: number;
}

/** The headers of one file and the encoding of its dataset. */
export interface DicomIndex {
  readonly transferSyntaxUid: string | null;
  readonly explicitVr: boolean;
  readonly littleEndian: boolean;
  readonly deflated: boolean;
  readonly records: readonly ElementRecord[];
}

/** Indexes the headers of a Part 10 file; returns no records when the "DICM" prefix is missing. */
export function indexDicomElements(bytes: Uint8Array): DicomIndex {
  const empty: DicomIndex = {
    transferSyntaxUid: null,
    explicitVr: true,
    littleEndian: true,
    deflated: false,
    records: [],
  };
  if (bytes.length < PART10_PREFIX_BYTES || !hasDicmMagic(bytes)) return empty;

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: ElementRecord[] = [];
  const metaEnd = scan(
    bytes,
    view,
    PART10_PREFIX_BYTES,
    { explicit: true, littleEndian: true, meta: true },
    records,
  );
  const syntaxRecord = records.find((record) => record.tag === 0x00020010);
  const transferSyntaxUid =
    syntaxRecord === undefined ? null : asciiValue(bytes, syntaxRecord.valueOffset, syntaxRecord.valueLength);

  const explicitVr = transferSyntaxUid !== IMPLICIT_VR_LITTLE_ENDIAN;
  const littleEndian = transferSyntaxUid !== EXPLICIT_VR_BIG_ENDIAN;
  const deflated = transferSyntaxUid !== null && DEFLATED_SYNTAXES.has(transferSyntaxUid);
  if (!deflated) scan(bytes, view, metaEnd, { explicit: explicitVr, littleEndian, meta: false }, records);
  return { transferSyntaxUid, explicitVr, littleEndian, deflated, records };
}

function hasDicmMagic(bytes: Uint8Array): boolean {
  return bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

/** Reads a text value without trailing NUL and space padding. */
export function asciiValue(bytes: Uint8Array, offset: number, length: number): string {
  let text = '';
  const end = Math.min(bytes.length, offset + length);
  for (let i = offset; i < end; i++) text += String.fromCharCode(bytes[i]!);
  return text.replace(/[\0 ]+$/, '');
}

interface Encoding {
  readonly explicit: boolean;
  readonly littleEndian: boolean;
  readonly meta: boolean;
}

/**
 * Scans headers from `start` until the end of the file or, for file meta information, the first
 * tag outside group 0002. Returns the offset where the scan stopped.
 */
function scan(
  bytes: Uint8Array,
  view: DataView,
  start: number,
  encoding: Encoding,
  records: ElementRecord[],
): number {
  // Open containers of undefined length, closed by the next delimiter.
  const open: ElementRecord[] = [];
  let encapsulatedPixelData: ElementRecord | null = null;
  let offset = start;

  while (offset + 8 <= bytes.length) {
    const tag = readTag(view, offset, encoding.littleEndian);
    if (encoding.meta && tag >>> 16 !== 0x0002) break;
    const depth = open.length;

    if (tag >>> 16 === 0xfffe) {
      const length = view.getUint32(offset + 4, encoding.littleEndian);
      const isDelimiter = tag === ITEM_DELIMITATION_TAG || tag === SEQUENCE_DELIMITATION_TAG;
      const kind: ElementKind = isDelimiter
        ? 'delimiter'
        : encapsulatedPixelData === null
          ? 'item'
          : 'fragment';
      const record: ElementRecord = {
        kind,
        tag,
        offset,
        vr: null,
        lengthOffset: offset + 4,
        lengthBytes: 4,
        valueOffset: offset + 8,
        valueLength: length,
        end: length === UNDEFINED_LENGTH || isDelimiter ? null : offset + 8 + length,
        inFileMeta: encoding.meta,
        littleEndian: encoding.littleEndian,
        depth,
      };
      records.push(record);

      if (isDelimiter) {
        const closed = open.pop();
        if (closed !== undefined) closed.end = offset + 8;
        if (closed !== undefined && closed === encapsulatedPixelData) encapsulatedPixelData = null;
        offset += 8;
      } else if (kind === 'fragment') {
        if (length === UNDEFINED_LENGTH) break;
        offset += 8 + length;
      } else {
        if (length === UNDEFINED_LENGTH) open.push(record);
        offset += 8;
      }
      continue;
    }

    const header = readHeader(bytes, view, offset, encoding);
    if (header === null) break;
    const undefinedLength = header.length === UNDEFINED_LENGTH;
    const isSequence = header.vr === 'SQ' || (undefinedLength && tag !== PIXEL_DATA_TAG);
    const record: ElementRecord = {
      kind: isSequence ? 'sequence' : 'element',
      tag,
      offset,
      vr: header.vr,
      lengthOffset: header.lengthOffset,
      lengthBytes: header.lengthBytes,
      valueOffset: header.valueOffset,
      valueLength: header.length,
      end: undefinedLength ? null : header.valueOffset + header.length,
      inFileMeta: encoding.meta,
      littleEndian: encoding.littleEndian,
      depth,
    };
    records.push(record);

    if (undefinedLength) {
      open.push(record);
      if (tag === PIXEL_DATA_TAG) encapsulatedPixelData = record;
      offset = header.valueOffset;
    } else if (isSequence) {
      offset = header.valueOffset;
    } else {
      offset = header.valueOffset + header.length;
    }
  }
  return offset;
}

function readTag(view: DataView, offset: number, littleEndian: boolean): number {
  return ((view.getUint16(offset, littleEndian) << 16) | view.getUint16(offset + 2, littleEndian)) >>> 0;
}

interface Header {
  readonly vr: string | null;
  readonly lengthOffset: number;
  readonly lengthBytes: 2 | 4;
  readonly valueOffset: number;
  readonly length: number;
}

function readHeader(bytes: Uint8Array, view: DataView, offset: number, encoding: Encoding): Header | null {
  if (!encoding.explicit) {
    return {
      vr: null,
      lengthOffset: offset + 4,
      lengthBytes: 4,
      valueOffset: offset + 8,
      length: view.getUint32(offset + 4, encoding.littleEndian),
    };
  }
  const vr = String.fromCharCode(bytes[offset + 4]!, bytes[offset + 5]!);
  if (!LONG_LENGTH_VRS.has(vr)) {
    return {
      vr,
      lengthOffset: offset + 6,
      lengthBytes: 2,
      valueOffset: offset + 8,
      length: view.getUint16(offset + 6, encoding.littleEndian),
    };
  }
  if (offset + 12 > bytes.length) return null;
  return {
    vr,
    lengthOffset: offset + 8,
    lengthBytes: 4,
    valueOffset: offset + 12,
    length: view.getUint32(offset + 8, encoding.littleEndian),
  };
}
