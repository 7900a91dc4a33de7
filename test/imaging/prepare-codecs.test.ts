/**
 * prepareCodecs starts the JPEG Extended codec when, and only when, a file needs it. This file runs
 * in its own module state, so no other test has started the codec before.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { readDicomFile } from '../../src/imaging/dicom-dataset.js';
import { decodeFrameStoredValues, readPixelFormat } from '../../src/imaging/pixel-data.js';
import { prepareCodecs } from '../../src/imaging/prepare-codecs.js';
import { SHARED_DATA_DIR } from '../support/shared-data.js';

const JPEG_EXTENDED = join(SHARED_DATA_DIR, 'dicom/pydicom/JPGExtended.dcm');
const UNCOMPRESSED = join(SHARED_DATA_DIR, 'dicom/pydicom/CT_small.dcm');

function decodeSum(bytes: Uint8Array): number {
  const file = readDicomFile(bytes.slice().buffer, 'JPGExtended.dcm');
  let sum = 0;
  for (const value of decodeFrameStoredValues(file, readPixelFormat(file.dataset), 0, 'JPGExtended.dcm'))
    sum += value;
  return sum;
}

describe('prepareCodecs', () => {
  it('starts the JPEG Extended codec only for files that need it', async () => {
    const jpeg = new Uint8Array(readFileSync(JPEG_EXTENDED));

    await prepareCodecs([new Uint8Array(readFileSync(UNCOMPRESSED))]);
    let code = 'none';
    try {
      decodeSum(jpeg);
    } catch (error) {
      code = isNqo1Error(error) ? error.code : String(error);
    }
    expect(code).toBe('ERR_DICOM_UNSUPPORTED');

    await prepareCodecs([jpeg]);
    // The sum of stored values after DCMTK 3.6.7 dcmdjpeg, as in codecs-jpeg-extended.test.ts.
    expect(decodeSum(jpeg)).toBe(3_767_007);
  });
});
