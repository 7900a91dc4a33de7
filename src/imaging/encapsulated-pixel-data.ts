/**
 * Encapsulated Pixel Data: the item sequence that holds compressed frames, and the split of its
 * fragments into frames.
 *
 * The value of an encapsulated Pixel Data (7FE0,0010) has undefined length. It is a sequence of
 * items (FFFE,E000) ended by a Sequence Delimitation Item (FFFE,E0DD). The first item is the Basic
 * Offset Table: zero or more 32-bit offsets, one per frame, each counted from the first byte of the
 * first fragment item's tag. The other items are fragments. A frame is one or more whole fragments.
 * When a file carries an Extended Offset Table (7FE0,0001), its 64-bit offsets replace the Basic
 * Offset Table, which is then empty.
 *
 * @see DICOM PS3.5 section A.4 (transfer syntaxes for encapsulation of encoded pixel data) and
 *   PS3.3 section C.7.6.3.1.8 (Extended Offset Table).
 */

import { Nqo1Error } from '../errors.js';

/** The fragments of an encapsulated Pixel Data value and the tables that locate its frames. */
export interface EncapsulatedPixelData {
  readonly encapsulated: true;
  /** The transfer syntax whose codec decodes the frames. */
  readonly transferSyntaxUid: string;
  /** Fragment values in file order, without their item headers. */
  readonly fragments: readonly Uint8Array[];
  /** Offset of each fragment's item tag, counted from the tag of the first fragment item. */
  readonly fragmentOffsets: readonly number[];
  /** Basic Offset Table entries; empty when the table is empty. */
  readonly basicOffsetTable: readonly number[];
  /** Extended Offset Table (7FE0,0001) entries, or null when the file has none. */
  readonly extendedOffsetTable: readonly number[] | null;
}

const ITEM_TAG = 0xfffee000;
const SEQUENCE_DELIMITER_TAG = 0xfffee0dd;

/**
 * Reads the items of an encapsulated Pixel Data value from the bytes that follow the element header
 * (tag, VR, reserved bytes and the undefined length FFFFFFFFH), in little endian byte order as every
 * encapsulated transfer syntax requires.
 *
 * @param value - the file bytes from the first item tag on; bytes after the delimiter are ignored
 * @throws Nqo1Error ERR_DICOM_MALFORMED for a missing Basic Offset Table item, an item that runs past
 *   the end of the file, an unexpected tag, or a missing Sequence Delimitation Item.
 */
export function parseEncapsulatedItems(
  value: Uint8Array,
  transferSyntaxUid: string,
  extendedOffsetTable: readonly number[] | null,
  context: string,
): EncapsulatedPixelData {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const items: { offset: number; bytes: Uint8Array }[] = [];
  let offset = 0;
  let delimited = false;

  while (offset + 8 <= value.length) {
    const tag = ((view.getUint16(offset, true) << 16) | view.getUint16(offset + 2, true)) >>> 0;
    const length = view.getUint32(offset + 4, true);
    if (tag === SEQUENCE_DELIMITER_TAG) {
      delimited = true;
      break;
    }
    if (tag !== ITEM_TAG) {
      throw malformed(
        `found tag ${tagText(tag)} at byte ${offset} of the encapsulated Pixel Data where an item (FFFE,E000) must be`,
        context,
      );
    }
    if (length === 0xffffffff || offset + 8 + length > value.length) {
      throw malformed(
        `the item at byte ${offset} of the encapsulated Pixel Data declares ${length} bytes, but only ` +
          `${value.length - offset - 8} remain in the file, so the file is truncated`,
        context,
      );
    }
    items.push({ offset, bytes: value.subarray(offset + 8, offset + 8 + length) });
    offset += 8 + length;
  }

  if (!delimited) {
    throw malformed(
      'the encapsulated Pixel Data has no Sequence Delimitation Item (FFFE,E0DD), so the file is truncated',
      context,
    );
  }
  const table = items.shift();
  if (table === undefined) {
    throw malformed('the encapsulated Pixel Data lacks the Basic Offset Table item', context);
  }
  if (table.bytes.length % 4 !== 0) {
    throw malformed(`the Basic Offset Table has ${table.bytes.length} bytes, not a multiple of 4`, context);
  }

  const tableView = new DataView(table.bytes.buffer, table.bytes.byteOffset, table.bytes.byteLength);
  const basicOffsetTable = Array.from({ length: table.bytes.length / 4 }, (_, i) =>
    tableView.getUint32(4 * i, true),
  );
  const firstFragmentOffset = items[0]?.offset ?? 0;
  return {
    encapsulated: true,
    transferSyntaxUid,
    fragments: items.map((item) => item.bytes),
    fragmentOffsets: items.map((item) => item.offset - firstFragmentOffset),
    basicOffsetTable,
    extendedOffsetTable,
  };
}

/**
 * Returns the compressed bytes of one frame.
 *
 * The frame boundaries come from, in this order: the Extended Offset Table; the Basic Offset Table;
 * for a single frame, all fragments joined; one fragment per frame when the fragment count equals
 * NumberOfFrames; and otherwise the fragments that start a JPEG (SOI FFD8H) or JPEG 2000 (SOC
 * FF4FH) codestream, where each such fragment opens a new frame.
 *
 * @throws Nqo1Error ERR_DICOM_MALFORMED when the offsets do not fall on fragment boundaries or the
 *   fragments cannot be split into `numberOfFrames` frames.
 */
export function encapsulatedFrame(
  pixelData: EncapsulatedPixelData,
  frameIndex: number,
  numberOfFrames: number,
  context: string,
): Uint8Array {
  const fragmentIndices = frameFragmentRanges(pixelData, numberOfFrames, context)[frameIndex];
  if (fragmentIndices === undefined) {
    throw new RangeError(`frame index ${frameIndex} is outside 0..${numberOfFrames - 1}`);
  }
  const [first, end] = fragmentIndices;
  const parts = pixelData.fragments.slice(first, end);
  if (parts.length === 1) return parts[0]!;

  const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let position = 0;
  for (const part of parts) {
    joined.set(part, position);
    position += part.length;
  }
  return joined;
}

/** Splits the fragments into `numberOfFrames` half-open ranges [first, end) of fragment indices. */
function frameFragmentRanges(
  pixelData: EncapsulatedPixelData,
  numberOfFrames: number,
  context: string,
): [number, number][] {
  const fragmentCount = pixelData.fragments.length;
  if (fragmentCount === 0) throw malformed('the encapsulated Pixel Data contains no fragment', context);

  const offsets = pixelData.extendedOffsetTable ?? pixelData.basicOffsetTable;
  if (offsets.length > 0) {
    const tableName = pixelData.extendedOffsetTable === null ? 'Basic Offset Table' : 'Extended Offset Table';
    if (offsets.length !== numberOfFrames) {
      throw malformed(
        `the ${tableName} lists ${offsets.length} frames, but NumberOfFrames is ${numberOfFrames}`,
        context,
      );
    }
    const starts = offsets.map((offset) => {
      const index = pixelData.fragmentOffsets.indexOf(offset);
      if (index < 0) {
        throw malformed(`the ${tableName} offset ${offset} does not point at a fragment item`, context);
      }
      return index;
    });
    return rangesFromStarts(starts, fragmentCount, context);
  }

  if (numberOfFrames === 1) return [[0, fragmentCount]];
  if (fragmentCount === numberOfFrames) return starts(fragmentCount).map((i) => [i, i + 1]);

  const codestreamStarts = starts(fragmentCount).filter((i) => startsCodestream(pixelData.fragments[i]!));
  if (codestreamStarts.length === numberOfFrames && codestreamStarts[0] === 0) {
    return rangesFromStarts(codestreamStarts, fragmentCount, context);
  }
  throw malformed(
    `the encapsulated Pixel Data contains ${fragmentCount} fragments for ${numberOfFrames} frames with an empty ` +
      'Basic Offset Table, so the frame boundaries are unknown',
    context,
  );
}

function starts(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

function rangesFromStarts(
  frameStarts: readonly number[],
  fragmentCount: number,
  context: string,
): [number, number][] {
  return frameStarts.map((start, frame) => {
    const end = frameStarts[frame + 1] ?? fragmentCount;
    if (end <= start) throw malformed('the offset table does not increase from frame to frame', context);
    return [start, end];
  });
}

/** True when the fragment starts a JPEG or JPEG-LS (SOI) or a JPEG 2000 (SOC) codestream. */
function startsCodestream(fragment: Uint8Array): boolean {
  if (fragment[0] !== 0xff) return false;
  return fragment[1] === 0xd8 || fragment[1] === 0x4f;
}

function tagText(tag: number): string {
  const hex = tag.toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

function malformed(problem: string, context: string): Nqo1Error {
  return new Nqo1Error(
    'ERR_DICOM_MALFORMED',
    `${context}: ${problem}. Retrieve the file again from the PACS, or export it again.`,
  );
}
