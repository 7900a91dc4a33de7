import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { DicomWebClient } from '../../src/dicomweb/client.js';
import { isNqo1Error } from '../../src/errors.js';
import { orthancSkipReason, startOrthanc, type OrthancHandle } from '../support/orthanc.js';
import { CT_3SLICE, CT_3SLICE_FILES, LIVER_SEG_FILE, readArrayBuffer } from '../support/shared-data.js';

const skipReason = orthancSkipReason('the DICOMweb client tests');

describe.skipIf(skipReason !== null)('DicomWebClient against Orthanc', () => {
  let orthanc: OrthancHandle | undefined;
  let pacs: DicomWebClient;

  beforeAll(async () => {
    const started = await startOrthanc();
    orthanc = started;
    pacs = new DicomWebClient({
      baseUrl: started.dicomWebUrl,
      allowlist: [started.dicomWebUrl],
      timeoutMs: 20_000,
    });
    const files = await Promise.all([...CT_3SLICE_FILES, LIVER_SEG_FILE].map(readArrayBuffer));
    await pacs.storeInstances(files);
  });

  afterAll(async () => {
    await orthanc?.stop();
  });

  test('QIDO-RS lists the CT and SEG series', async () => {
    const series = await pacs.searchSeries(CT_3SLICE.studyInstanceUid);
    const summary = series.map((s) => [
      s['00080060']?.Value?.[0],
      s['0020000E']?.Value?.[0],
      s['00201209']?.Value?.[0],
    ]);
    expect(summary).toContainEqual(['CT', CT_3SLICE.ctSeriesInstanceUid, 3]);
    expect(summary).toContainEqual(['SEG', CT_3SLICE.segSeriesInstanceUid, 1]);
  });

  test('WADO-RS retrieves the three CT slices as Part 10 files', async () => {
    const files = await pacs.retrieveSeriesInstances(
      CT_3SLICE.studyInstanceUid,
      CT_3SLICE.ctSeriesInstanceUid,
    );
    expect(files).toHaveLength(3);
    for (const file of files) {
      expect(new TextDecoder().decode(new Uint8Array(file, 128, 4))).toBe('DICM');
    }
  });

  test('reports the bytes of each response', async () => {
    const sizes: number[] = [];
    const counting = new DicomWebClient({
      baseUrl: orthanc?.dicomWebUrl ?? '',
      allowlist: [orthanc?.dicomWebUrl ?? ''],
      timeoutMs: 20_000,
      onResponseBytes: (bytes) => {
        sizes.push(bytes);
      },
    });

    const files = await counting.retrieveSeriesInstances(
      CT_3SLICE.studyInstanceUid,
      CT_3SLICE.ctSeriesInstanceUid,
    );

    // One multipart response carries the three Part 10 files with their part headers and boundaries.
    const fileBytes = files.reduce((sum, file) => sum + file.byteLength, 0);
    expect(sizes).toHaveLength(1);
    expect(sizes[0]).toBeGreaterThan(fileBytes);
    expect(sizes[0]).toBeLessThan(fileBytes + 4096);
  });

  test('WADO-RS metadata of the SEG carries its referenced series', async () => {
    const metadata = await pacs.retrieveSeriesMetadata(
      CT_3SLICE.studyInstanceUid,
      CT_3SLICE.segSeriesInstanceUid,
    );
    expect(metadata).toHaveLength(1);
    const referenced = metadata[0]?.['00081115']?.Value?.[0] as
      Record<string, { Value?: unknown[] }> | undefined;
    expect(referenced?.['0020000E']?.Value?.[0]).toBe(CT_3SLICE.ctSeriesInstanceUid);
  });

  test('unknown series fails with status and path', async () => {
    const error: unknown = await pacs
      .retrieveSeriesInstances(CT_3SLICE.studyInstanceUid, '1.2.3.4')
      .catch((e: unknown) => e);
    expect(isNqo1Error(error, 'ERR_DICOMWEB_FAILED')).toBe(true);
    expect((error as Error).message).toContain('/dicom-web/studies/');
    expect((error as Error).message).toMatch(/HTTP 404/);
  });
});
