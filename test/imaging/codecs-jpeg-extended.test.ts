/**
 * JPEG Extended (12-bit lossy JPEG) after the asynchronous start of its codec, against values read
 * after decompressing the same files with DCMTK 3.6.7 dcmdjpeg, whose IJG-based decoder is a
 * separate build from the one in dcmjs-codecs.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { readDicomFile } from '../../src/imaging/dicom-dataset.js';
import {
  decodeFrameStoredValues,
  preloadJpegExtendedCodec,
  readPixelFormat,
} from '../../src/imaging/pixel-data.js';
import { SHARED_DATA_DIR } from '../support/shared-data.js';

function storedValues(path: string): { values: Int32Array; rows: number; columns: number } {
  const file = readDicomFile(new Uint8Array(readFileSync(join(SHARED_DATA_DIR, 'dicom', path))).buffer, path);
  const format = readPixelFormat(file.dataset);
  return {
    values: decodeFrameStoredValues(file, format, 0, path),
    rows: format.rows,
    columns: format.columns,
  };
}

describe('JPEG Extended after preload', () => {
  beforeAll(async () => {
    await preloadJpegExtendedCodec();
  });

  // [file, rows, columns, sum of stored values, centre value, value at (row 10, column 20)], from DCMTK.
  it.each([
    ['pydicom/JPGExtended.dcm', 1024, 256, 3_767_007, 14, 1],
    ['orthanc-tests/TransferSyntaxes/1.2.840.10008.1.2.4.51.dcm', 512, 512, 126_221_970, 555, 52],
  ])('decodes %s as DCMTK does', (path, rows, columns, total, centre, corner) => {
    const decoded = storedValues(path);
    expect([decoded.rows, decoded.columns]).toEqual([rows, columns]);
    let sum = 0;
    for (const value of decoded.values) sum += value;
    expect(sum).toBe(total);
    expect(decoded.values[(rows >> 1) * columns + (columns >> 1)]).toBe(centre);
    expect(decoded.values[10 * columns + 20]).toBe(corner);
  });

  it('starts the codec only once', async () => {
    const first = preloadJpegExtendedCodec();
    expect(preloadJpegExtendedCodec()).toBe(first);
    await first;
  });
});
