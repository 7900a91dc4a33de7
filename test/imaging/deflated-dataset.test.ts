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

import { part10 } from './build-dicom.js';

const DEFLATED = '1.2.840.10008.1.2.1.99';

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
