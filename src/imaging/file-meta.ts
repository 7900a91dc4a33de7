/**
 * Reads single string elements of the DICOM file meta information (group 0002) straight from the
 * bytes, without dcmjs. The file meta group is always explicit VR little endian (PS3.10 section
 * 7.1), so it can be walked before the transfer syntax of the rest of the file is known.
 */

/** Offset of the first file meta element: 128-byte preamble plus "DICM". */
export const FILE_META_OFFSET = 132;

/** Explicit VRs whose header has 2 reserved bytes and a 4-byte length (PS3.5 section 7.1.2). */
export const LONG_LENGTH_VRS: ReadonlySet<string> = new Set([
  'OB',
  'OD',
  'OF',
  'OL',
  'OV',
  'OW',
  'SQ',
  'SV',
  'UC',
  'UN',
  'UR',
  'UT',
  'UV',
]);

/**
 * Returns the value of file meta element (0002,`element`) as text with trailing NUL and space
 * padding removed, or null when the element is absent or the group cannot be walked.
 */
export function fileMetaString(file: Uint8Array, element: number): string | null {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let offset = FILE_META_OFFSET;

  while (offset + 8 <= file.length && view.getUint16(offset, true) === 0x0002) {
    const vr = asciiAt(file, offset + 4, 2);
    const longLength = LONG_LENGTH_VRS.has(vr);
    if (longLength && offset + 12 > file.length) return null;
    const length = longLength ? view.getUint32(offset + 8, true) : view.getUint16(offset + 6, true);
    const valueOffset = offset + (longLength ? 12 : 8);
    if (valueOffset + length > file.length) return null;

    if (view.getUint16(offset + 2, true) === element) {
      return asciiAt(file, valueOffset, length).replace(/[\0 ]+$/, '');
    }
    offset = valueOffset + length;
  }
  return null;
}

/** Decodes `length` bytes at `offset` as Latin-1, the character repertoire of UIDs and VRs. */
export function asciiAt(file: Uint8Array, offset: number, length: number): string {
  return new TextDecoder('latin1').decode(file.subarray(offset, offset + length));
}

/** Returns the offset just past the file meta group: the first element of the dataset. */
export function fileMetaEnd(file: Uint8Array): number {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let offset = FILE_META_OFFSET;
  while (offset + 8 <= file.length && view.getUint16(offset, true) === 0x0002) {
    const longLength = LONG_LENGTH_VRS.has(asciiAt(file, offset + 4, 2));
    if (longLength && offset + 12 > file.length) return file.length;
    const length = longLength ? view.getUint32(offset + 8, true) : view.getUint16(offset + 6, true);
    offset += (longLength ? 12 : 8) + length;
  }
  return offset;
}
