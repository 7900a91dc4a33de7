/**
 * Deterministic edits of a DICOM Part 10 file, addressed through the header index of
 * `dicom-elements.ts`. The random mutations are built from them, and regression tests call them
 * directly to rebuild an input that fuzzing found.
 */

import {
  UNDEFINED_LENGTH,
  indexDicomElements,
  type DicomIndex,
  type ElementRecord,
} from './dicom-elements.js';

/** A mutated file and what was changed. */
export interface Mutated {
  readonly bytes: Uint8Array;
  readonly description: string;
}

/** Formats a tag as (gggg,eeee). */
export function formatTag(tag: number): string {
  const hex = tag.toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

/** Returns the `occurrence`-th header with `tag` (0 = first), or throws when there is none. */
export function requireRecord(bytes: Uint8Array, tag: number, occurrence = 0): ElementRecord {
  const found = indexDicomElements(bytes).records.filter((record) => record.tag === tag)[occurrence];
  if (found === undefined) throw new Error(`no ${formatTag(tag)} occurrence ${occurrence} in the file`);
  return found;
}

/**
 * Replaces `count` bytes at `offset` by `insert`. Offsets past the end are clamped, because
 * an earlier mutation may have left a length that points beyond the file.
 */
export function spliceBytes(
  bytes: Uint8Array,
  offset: number,
  count: number,
  insert: Uint8Array,
): Uint8Array {
  const start = Math.max(0, Math.min(offset, bytes.length));
  const deleteCount = Math.max(0, Math.min(count, bytes.length - start));
  const result = new Uint8Array(bytes.length - deleteCount + insert.length);
  result.set(bytes.subarray(0, start), 0);
  result.set(insert, start);
  result.set(bytes.subarray(start + deleteCount), start + insert.length);
  return result;
}

/** Writes the length field of `record`, truncated to its 2 or 4 bytes. */
export function writeLength(bytes: Uint8Array, record: ElementRecord, length: number): Uint8Array {
  const result = bytes.slice();
  const view = new DataView(result.buffer);
  if (record.lengthBytes === 2) view.setUint16(record.lengthOffset, length & 0xffff, record.littleEndian);
  else view.setUint32(record.lengthOffset, length >>> 0, record.littleEndian);
  return result;
}

/** Writes the tag of the header of `record`. */
export function writeTag(bytes: Uint8Array, record: ElementRecord, tag: number): Uint8Array {
  const result = bytes.slice();
  const view = new DataView(result.buffer);
  view.setUint16(record.offset, tag >>> 16, record.littleEndian);
  view.setUint16(record.offset + 2, tag & 0xffff, record.littleEndian);
  return result;
}

/** Overwrites the two VR characters of an explicit VR header, keeping its length field as it is. */
export function writeVr(bytes: Uint8Array, record: ElementRecord, vr: string): Uint8Array {
  const result = bytes.slice();
  result[record.offset + 4] = vr.charCodeAt(0) & 0xff;
  result[record.offset + 5] = vr.charCodeAt(1) & 0xff;
  return result;
}

/**
 * Replaces the value of `record` by `value` and sets its length field to the new length. Lengths
 * of enclosing sequences and items are left as they were.
 */
export function replaceValue(bytes: Uint8Array, record: ElementRecord, value: Uint8Array): Uint8Array {
  const oldLength = record.valueLength === UNDEFINED_LENGTH ? 0 : record.valueLength;
  const available = Math.max(0, Math.min(oldLength, bytes.length - record.valueOffset));
  const spliced = spliceBytes(bytes, record.valueOffset, available, value);
  return writeLength(spliced, record, value.length);
}

/** Encodes text as bytes, padded with a space to an even length as DICOM requires of string values. */
export function paddedAscii(text: string): Uint8Array {
  const even = text.length % 2 === 0 ? text : `${text} `;
  const bytes = new Uint8Array(even.length);
  for (let i = 0; i < even.length; i++) bytes[i] = even.charCodeAt(i) & 0xff;
  return bytes;
}

/** Encodes unsigned integers as 16- or 32-bit words in the byte order of `record`. */
export function binaryWords(
  record: ElementRecord,
  words: readonly number[],
  bytesPerWord: 2 | 4,
): Uint8Array {
  const bytes = new Uint8Array(words.length * bytesPerWord);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < words.length; i++) {
    if (bytesPerWord === 2) view.setUint16(i * 2, words[i]! & 0xffff, record.littleEndian);
    else view.setUint32(i * 4, words[i]! >>> 0, record.littleEndian);
  }
  return bytes;
}

/**
 * Returns how many value bytes of `record` the file contains: its length, cut at the end of the
 * file, because an earlier mutation may have set a length of up to 4 GiB.
 */
export function presentLength(bytes: Uint8Array, record: ElementRecord): number {
  if (record.valueLength === UNDEFINED_LENGTH) return 0;
  return Math.max(0, Math.min(record.valueLength, bytes.length - record.valueOffset));
}

/** Dataset headers past the file meta information, or every header when there are none. */
export function datasetRecords(index: DicomIndex): readonly ElementRecord[] {
  const dataset = index.records.filter((record) => !record.inFileMeta);
  return dataset.length > 0 ? dataset : index.records;
}
