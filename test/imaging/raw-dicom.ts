/**
 * A minimal DICOM Part 10 walker for tests, written independently of dcmjs so that tests can
 * check the product's decoding against values read straight from the bytes.
 *
 * It lists the top-level elements of little endian datasets (implicit or explicit VR) and steps
 * over sequences of defined or undefined length. It does not inflate deflated datasets or read big
 * endian files.
 */

import { LONG_LENGTH_VRS } from '../../src/imaging/file-meta.js';

/** One top-level element: where its value starts in the file and how long it is. */
export interface RawElement {
  readonly vr: string | null;
  readonly valueOffset: number;
  readonly length: number;
}

export interface RawDataset {
  readonly bytes: Uint8Array;
  readonly transferSyntaxUid: string;
  /** Keyed by (group << 16 | element), e.g. 0x7fe00010 for Pixel Data. */
  readonly elements: ReadonlyMap<number, RawElement>;
}

const UNDEFINED_LENGTH = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_DELIMITATION = 0xfffee00d;
const SEQUENCE_DELIMITATION = 0xfffee0dd;

/** Walks a Part 10 file with a little endian dataset. */
export function walkRawDicom(bytes: Uint8Array): RawDataset {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (String.fromCharCode(...bytes.subarray(128, 132)) !== 'DICM') throw new Error('no DICM prefix');

  const meta = walk(bytes, view, 132, true, (tag) => tag >>> 16 !== 0x0002);
  const syntaxElement = meta.elements.get(0x00020010);
  if (syntaxElement === undefined) throw new Error('no TransferSyntaxUID');
  const transferSyntaxUid = rawString(bytes, syntaxElement);
  if (transferSyntaxUid === '1.2.840.10008.1.2.2' || transferSyntaxUid === '1.2.840.10008.1.2.1.99') {
    throw new Error(`raw walker does not read ${transferSyntaxUid}`);
  }
  const explicit = transferSyntaxUid !== '1.2.840.10008.1.2';
  const dataset = walk(bytes, view, meta.end, explicit, () => false);
  return { bytes, transferSyntaxUid, elements: new Map([...meta.elements, ...dataset.elements]) };
}

/** Walks an explicit VR little endian dataset that starts at byte 0 (e.g. an inflated one). */
export function walkExplicitLittleEndianDataset(bytes: Uint8Array): ReadonlyMap<number, RawElement> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return walk(bytes, view, 0, true, () => false).elements;
}

function walk(
  bytes: Uint8Array,
  view: DataView,
  start: number,
  explicit: boolean,
  stopAt: (tag: number) => boolean,
): { elements: Map<number, RawElement>; end: number } {
  const elements = new Map<number, RawElement>();
  let offset = start;
  while (offset + 8 <= bytes.length) {
    const tag = readTag(view, offset);
    if (stopAt(tag)) break;
    const header = readHeader(bytes, view, offset, explicit);
    elements.set(tag, { vr: header.vr, valueOffset: header.valueOffset, length: header.length });
    offset =
      header.length === UNDEFINED_LENGTH
        ? skipUndefinedLength(bytes, view, header.valueOffset, explicit)
        : header.valueOffset + header.length;
  }
  return { elements, end: offset };
}

function readTag(view: DataView, offset: number): number {
  return ((view.getUint16(offset, true) << 16) | view.getUint16(offset + 2, true)) >>> 0;
}

function readHeader(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  explicit: boolean,
): { vr: string | null; valueOffset: number; length: number } {
  const tag = readTag(view, offset);
  if (!explicit || tag >>> 16 === 0xfffe) {
    return { vr: null, valueOffset: offset + 8, length: view.getUint32(offset + 4, true) };
  }
  const vr = String.fromCharCode(bytes[offset + 4]!, bytes[offset + 5]!);
  if (LONG_LENGTH_VRS.has(vr)) {
    return { vr, valueOffset: offset + 12, length: view.getUint32(offset + 8, true) };
  }
  return { vr, valueOffset: offset + 8, length: view.getUint16(offset + 6, true) };
}

/** Returns the offset just after an undefined-length sequence (or encapsulated pixel data). */
function skipUndefinedLength(bytes: Uint8Array, view: DataView, start: number, explicit: boolean): number {
  let offset = start;
  for (;;) {
    const tag = readTag(view, offset);
    const length = view.getUint32(offset + 4, true);
    if (tag === SEQUENCE_DELIMITATION) return offset + 8;
    if (tag !== ITEM) throw new Error(`unexpected tag ${tag.toString(16)} inside a sequence`);
    if (length !== UNDEFINED_LENGTH) {
      offset += 8 + length;
      continue;
    }
    offset += 8;
    while (readTag(view, offset) !== ITEM_DELIMITATION) {
      const header = readHeader(bytes, view, offset, explicit);
      offset =
        header.length === UNDEFINED_LENGTH
          ? skipUndefinedLength(bytes, view, header.valueOffset, explicit)
          : header.valueOffset + header.length;
    }
    offset += 8;
  }
}

/** Reads a text value, without trailing padding. */
export function rawString(bytes: Uint8Array, element: RawElement): string {
  const text = String.fromCharCode(
    ...bytes.subarray(element.valueOffset, element.valueOffset + element.length),
  );
  return text.replace(/[\0 ]+$/, '').trim();
}

/** Reads a backslash-separated DS or IS value as numbers. */
export function rawDecimals(bytes: Uint8Array, element: RawElement): number[] {
  return rawString(bytes, element).split('\\').map(Number);
}

/** Reads a US value (little endian). */
export function rawUint16(bytes: Uint8Array, element: RawElement): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(element.valueOffset, true);
}

/** Returns an element or fails the test with its tag. */
export function requireElement(
  dataset: { readonly elements: ReadonlyMap<number, RawElement> },
  tag: number,
): RawElement {
  const element = dataset.elements.get(tag);
  if (element === undefined) throw new Error(`element ${tag.toString(16).padStart(8, '0')} not found`);
  return element;
}
