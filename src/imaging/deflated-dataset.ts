/**
 * Size check of a Deflated Explicit VR Little Endian dataset before dcmjs inflates it.
 *
 * In this transfer syntax the file meta information stays uncompressed and everything after it is
 * one raw deflate stream (RFC 1951). dcmjs 0.51.1 inflates that stream whole with no output limit,
 * so a file of a few megabytes can expand to gigabytes before any attribute is read. This module
 * finds where the file meta group ends, as dcmjs does, from FileMetaInformationGroupLength
 * (0002,0000), and inflates the rest with zlib's `maxOutputLength` to reject oversized datasets first.
 *
 * @see DICOM PS3.5 section A.5 (Deflated Explicit VR Little Endian) and PS3.10 section 7.1 (file
 *   meta information).
 */

import { inflateRawSync } from 'node:zlib';

import { Nqo1Error } from '../errors.js';
import { asciiAt, FILE_META_OFFSET, fileMetaString } from './file-meta.js';

export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';

/**
 * Maximum inflated size of a deflated dataset, in bytes (256 MiB). It is far above a single CT
 * slice (about 0.5 MiB) or a BINARY SEG of 2000 frames of 512 × 512 pixels (64 MiB), and it bounds
 * the memory of the check to about this size.
 */
export const MAX_INFLATED_DATASET_BYTES = 256 * 1024 ** 2;

/** Length of the (0002,0000) element in explicit VR: tag 4, VR 2, length 2, UL value 4. */
const GROUP_LENGTH_ELEMENT_BYTES = 12;

/**
 * Inflates the dataset of a deflated Part 10 file up to `maxBytes` and raises when it is larger.
 * Files in any other transfer syntax, and files without (0002,0000), return at once, because dcmjs
 * rejects the latter itself before it inflates anything.
 *
 * @param file - the whole Part 10 file, already checked for the "DICM" prefix
 * @param context - names the file in error messages
 * @param maxBytes - the largest inflated dataset accepted, in bytes
 * @throws Nqo1Error ERR_DICOM_UNSUPPORTED naming the limit when the dataset inflates to more than
 *   `maxBytes`; ERR_DICOM_MALFORMED when the deflate stream is corrupt.
 */
export function checkDeflatedDatasetSize(file: Uint8Array, context: string, maxBytes: number): void {
  const datasetOffset = fileMetaEnd(file);
  if (datasetOffset === null) return;
  if (fileMetaString(file, 0x0010) !== DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN) return;

  try {
    inflateRawSync(file.subarray(datasetOffset), { maxOutputLength: maxBytes });
  } catch (error) {
    if (error instanceof RangeError && 'code' in error && error.code === 'ERR_BUFFER_TOO_LARGE') {
      throw new Nqo1Error(
        'ERR_DICOM_UNSUPPORTED',
        `${context}: the deflated dataset (transfer syntax ${DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN}) inflates to ` +
          `more than ${maxBytes} bytes, the limit this release reads. The file is either not an image of one ` +
          'slice or built to exhaust memory; ask the PACS for the series in Explicit VR Little Endian.',
        { cause: error, details: { transferSyntaxUid: DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, maxBytes } },
      );
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new Nqo1Error(
      'ERR_DICOM_MALFORMED',
      `${context}: the deflated dataset could not be inflated (${reason}). The file is ` +
        'truncated or corrupt; retrieve it again from the PACS.',
      { cause: error },
    );
  }
}

/**
 * Returns the offset where the dataset starts: after (0002,0000) and the number of bytes it states.
 * Null when the first file meta element is not (0002,0000) with VR UL.
 */
function fileMetaEnd(file: Uint8Array): number | null {
  const start = FILE_META_OFFSET;
  if (file.length < start + GROUP_LENGTH_ELEMENT_BYTES) return null;
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const isGroupLength = view.getUint16(start, true) === 0x0002 && view.getUint16(start + 2, true) === 0x0000;
  if (!isGroupLength || asciiAt(file, start + 4, 2) !== 'UL') return null;
  return start + GROUP_LENGTH_ELEMENT_BYTES + view.getUint32(start + 8, true);
}
