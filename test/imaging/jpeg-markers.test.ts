/** The JPEG marker structure check that catches damaged codestreams the decoders accept. */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { jpegStructureProblem } from '../../src/imaging/codecs/jpeg-markers.js';
import { readDicomFile } from '../../src/imaging/dicom-dataset.js';
import { decodeFrameStoredValues, readPixelFormat } from '../../src/imaging/pixel-data.js';
import { SHARED_DATA_DIR } from '../support/shared-data.js';

/** SOI, one SOS segment with a 4-byte header, the given entropy-coded bytes, EOI. */
function stream(...scan: number[]): Uint8Array {
  return Uint8Array.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x04, 0x01, 0x02, ...scan, 0xff, 0xd9]);
}

describe('jpegStructureProblem', () => {
  it('accepts stuffed bytes, restart markers and fill bytes in a scan', () => {
    expect(
      jpegStructureProblem(stream(0x12, 0xff, 0x00, 0x34, 0xff, 0xd3, 0x56, 0xff, 0xff, 0x00)),
    ).toBeNull();
  });

  it('names a byte pair that no marker can be', () => {
    expect(jpegStructureProblem(stream(0x12, 0xff, 0x77, 0x34))).toContain('byte pair FF77 at offset 9');
  });

  it('rejects a stream cut before EOI', () => {
    expect(jpegStructureProblem(stream(0x12, 0x34).subarray(0, 9))).toBe('it ends before EOI (FFD9)');
  });

  it('rejects a segment longer than the stream', () => {
    expect(jpegStructureProblem(Uint8Array.from([0xff, 0xd8, 0xff, 0xc4, 0x10, 0x00, 0x00]))).toContain(
      'declares 4096 bytes, beyond the stream',
    );
  });
});

describe('damaged JPEG Lossless pixel data', () => {
  it('is rejected rather than decoded to wrong pixels', () => {
    // The orthanc-tests SV1 sample with 2000 bytes in the middle of the file inverted by XOR 5A.
    const path = join(SHARED_DATA_DIR, 'dicom/orthanc-tests/TransferSyntaxes/1.2.840.10008.1.2.4.70.dcm');
    const bytes = new Uint8Array(readFileSync(path));
    const middle = bytes.length >> 1;
    for (let offset = middle; offset < middle + 2000; offset++) bytes[offset] = bytes[offset]! ^ 0x5a;
    const file = readDicomFile(bytes.buffer, 'damaged');

    let code = 'no error';
    try {
      decodeFrameStoredValues(file, readPixelFormat(file.dataset), 0, 'damaged');
    } catch (error) {
      code = isNqo1Error(error) ? error.code : String(error);
    }

    expect(code).toBe('ERR_DICOM_MALFORMED');
  });
});
