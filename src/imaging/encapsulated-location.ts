/**
 * Finds the encapsulated Pixel Data of a Part 10 file in its raw bytes and reads its Extended Offset
 * Table. dcmjs 0.51.1 joins or splits fragments itself and drops the Basic Offset Table, so the
 * fragments are read here from the file as stored.
 *
 * @see DICOM PS3.5 sections 7.1.2 (explicit VR data element) and A.4 (encapsulation).
 */

import { Nqo1Error } from '../errors.js';

import { parseEncapsulatedItems } from './encapsulated-pixel-data.js';

import type { EncapsulatedPixelData } from './encapsulated-pixel-data.js';

/** Pixel Data (7FE0,0010) in explicit VR little endian, with VR OB or OW and undefined length. */
const HEADER_OB = [0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff];
const HEADER_OW = [0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x57, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff];

/**
 * Reads the encapsulated Pixel Data of a file, or returns null when the dataset has none.
 *
 * The element is the last undefined-length Pixel Data header in the file. An earlier one can only
 * belong to an icon image inside a sequence, because (7FE0,0010) is the last standard element of the
 * top-level dataset. The fragments are cross-checked against what dcmjs read, so a match inside
 * compressed bytes would be detected.
 *
 * @throws Nqo1Error ERR_DICOM_MALFORMED when Pixel Data is not encapsulated or its items are damaged.
 */
export function readEncapsulatedPixelData(
  file: Uint8Array,
  dict: unknown,
  transferSyntaxUid: string,
  context: string,
): EncapsulatedPixelData | null {
  if (!isRecord(dict) || dict['7FE00010'] === undefined) return null;

  const headerOffset = Math.max(lastIndexOf(file, HEADER_OB), lastIndexOf(file, HEADER_OW));
  if (headerOffset < 0) {
    throw new Nqo1Error(
      'ERR_DICOM_MALFORMED',
      `${context}: the transfer syntax ${transferSyntaxUid} requires encapsulated Pixel Data of undefined length, ` +
        'but the Pixel Data element has a defined length. Convert the file again.',
    );
  }

  const pixelData = parseEncapsulatedItems(
    file.subarray(headerOffset + HEADER_OB.length),
    transferSyntaxUid,
    readExtendedOffsetTable(dict, context),
    context,
  );
  checkAgainstDcmjs(pixelData, dict['7FE00010'], context);
  return pixelData;
}

/** Reads Extended Offset Table (7FE0,0001), 64-bit little endian offsets, or null when absent. */
function readExtendedOffsetTable(dict: Readonly<Record<string, unknown>>, context: string): number[] | null {
  const element = dict['7FE00001'];
  if (element === undefined) return null;
  const value = isRecord(element) && Array.isArray(element.Value) ? (element.Value[0] as unknown) : undefined;
  if (!(value instanceof ArrayBuffer) || value.byteLength % 8 !== 0) {
    throw new Nqo1Error(
      'ERR_DICOM_MALFORMED',
      `${context}: Extended Offset Table (7FE0,0001) must hold 64-bit offsets. Export the file again.`,
    );
  }
  const view = new DataView(value);
  return Array.from({ length: value.byteLength / 8 }, (_, i) => Number(view.getBigUint64(8 * i, true)));
}

/** Requires the fragment bytes to add up to what dcmjs read for the same element. */
function checkAgainstDcmjs(pixelData: EncapsulatedPixelData, element: unknown, context: string): void {
  if (!isRecord(element) || !Array.isArray(element.Value)) return;
  const values: unknown[] = element.Value;
  const dcmjsBytes = values.reduce<number>(
    (sum, value) => sum + (value instanceof ArrayBuffer ? value.byteLength : 0),
    0,
  );
  const ownBytes = pixelData.fragments.reduce((sum, fragment) => sum + fragment.length, 0);
  if (dcmjsBytes !== ownBytes) {
    throw new Nqo1Error(
      'ERR_DICOM_MALFORMED',
      `${context}: the encapsulated Pixel Data could not be located unambiguously (${ownBytes} fragment bytes ` +
        `found, dcmjs read ${dcmjsBytes}). Convert the file again.`,
    );
  }
}

function lastIndexOf(haystack: Uint8Array, needle: readonly number[]): number {
  const first = needle[0];
  for (let offset = haystack.length - needle.length; offset >= 0; offset--) {
    if (haystack[offset] !== first) continue;
    let match = true;
    for (let i = 1; i < needle.length && match; i++) match = haystack[offset + i] === needle[i];
    if (match) return offset;
  }
  return -1;
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
