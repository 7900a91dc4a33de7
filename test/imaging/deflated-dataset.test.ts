/**
 * Size check of Deflated Explicit VR Little Endian datasets, on files built in the test and on the
 * deflated pydicom sample.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { readDicomFile } from '../../src/imaging/dicom-dataset.js';
import { SHARED_DATA_DIR } from '../support/shared-data.js';

const DEFLATED = '1.2.840.10008.1.2.1.99';

/** Builds a Part 10 file: preamble, "DICM", (0002,0000), (0002,0010) and the given dataset bytes. */
function part10(transferSyntaxUid: string, datasetBytes: Uint8Array): ArrayBuffer {
  const uid = new TextEncoder().encode(
    transferSyntaxUid.length % 2 === 0 ? transferSyntaxUid : `${transferSyntaxUid}\0`,
  );
  const syntaxElement = new Uint8Array(8 + uid.length);
  const syntaxView = new DataView(syntaxElement.buffer);
  syntaxView.setUint16(0, 0x0002, true);
  syntaxView.setUint16(2, 0x0010, true);
  syntaxElement.set(new TextEncoder().encode('UI'), 4);
  syntaxView.setUint16(6, uid.length, true);
  syntaxElement.set(uid, 8);

  const groupLength = new Uint8Array(12);
  const groupView = new DataView(groupLength.buffer);
  groupView.setUint16(0, 0x0002, true);
  groupView.setUint16(2, 0x0000, true);
  groupLength.set(new TextEncoder().encode('UL'), 4);
  groupView.setUint16(6, 4, true);
  groupView.setUint32(8, syntaxElement.length, true);

  const file = new Uint8Array(132 + groupLength.length + syntaxElement.length + datasetBytes.length);
  file.set(new TextEncoder().encode('DICM'), 128);
  file.set(groupLength, 132);
  file.set(syntaxElement, 144);
  file.set(datasetBytes, 144 + syntaxElement.length);
  return file.buffer;
}

function errorOf(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error('expected an error, but the call succeeded');
}

describe('readDicomFile deflated size limit', () => {
  it('rejects a dataset inflating past the limit', () => {
    // 1 MiB of zeros deflate to about 1 KiB.
    const bomb = part10(DEFLATED, deflateRawSync(new Uint8Array(1024 * 1024)));
    const error = errorOf(() => readDicomFile(bomb, 'bomb.dcm', { maxInflatedBytes: 65_536 }));
    expect(isNqo1Error(error, 'ERR_DICOM_UNSUPPORTED')).toBe(true);
    expect(error.message).toContain('more than 65536 bytes');
    expect(error.message).toContain(DEFLATED);
  });

  it('applies the limit to the exact inflated size', () => {
    const bytes = new Uint8Array(readFileSync(join(SHARED_DATA_DIR, 'dicom/pydicom/image_dfl.dcm')));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const datasetOffset = 144 + view.getUint32(140, true);
    const inflatedBytes = inflateRawSync(bytes.subarray(datasetOffset)).length;
    const buffer = bytes.slice().buffer;

    const file = readDicomFile(buffer, 'image_dfl.dcm', { maxInflatedBytes: inflatedBytes });
    expect(file.transferSyntax.uid).toBe(DEFLATED);
    const error = errorOf(() =>
      readDicomFile(buffer, 'image_dfl.dcm', { maxInflatedBytes: inflatedBytes - 1 }),
    );
    expect(isNqo1Error(error, 'ERR_DICOM_UNSUPPORTED')).toBe(true);
  });

  it('rejects a corrupt deflate stream', () => {
    const corrupt = part10(DEFLATED, new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    const error = errorOf(() => readDicomFile(corrupt, 'corrupt.dcm'));
    expect(isNqo1Error(error, 'ERR_DICOM_MALFORMED')).toBe(true);
    expect(error.message).toContain('the deflated dataset could not be inflated');
  });

  it('leaves other transfer syntaxes to dcmjs', () => {
    // Zeros are no valid deflate stream, so only a file read as deflated would fail the inflate.
    const explicit = part10('1.2.840.10008.1.2.1', new Uint8Array(16));
    const error = errorOf(() => readDicomFile(explicit, 'explicit.dcm', { maxInflatedBytes: 1 }));
    expect(error.message).not.toContain('inflate');
  });
});
