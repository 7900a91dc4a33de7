/**
 * Real files with one unusual trait each. Some must be read: a deflated CT, a header stored as VR
 * UN, 7-bit JPEG-LS and label maps with gaps between labels. The others must be rejected with a
 * specific code: padded pixel data, inconsistent single-frame SEGs, a SEG of another study and a
 * dangling RTSTRUCT reference.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync, gunzipSync } from 'node:zlib';

import { beforeAll, describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { readCtSeries, readCtSeriesFromFolder, type CtSeries } from '../../src/imaging/ct-series.js';
import { readDicomFile } from '../../src/imaging/dicom-dataset.js';
import { fileMetaEnd } from '../../src/imaging/file-meta.js';
import { maskFromNrrdOnGrid } from '../../src/imaging/nrrd-mask.js';
import { readNrrd } from '../../src/imaging/nrrd.js';
import { decodeFrameStoredValues, readPixelFormat } from '../../src/imaging/pixel-data.js';
import { readRtStructMask } from '../../src/imaging/rtstruct.js';
import { readSegMask } from '../../src/imaging/seg.js';
import { countLabel } from '../../src/imaging/volume.js';
import { SHARED_DATA_DIR } from '../support/shared-data.js';

import { part10 } from './build-dicom.js';
import { requireElement, walkRawDicom } from './raw-dicom.js';

const DICOM = join(SHARED_DATA_DIR, 'dicom');
const SEGMENTATIONS = join(DICOM, 'dcmqi/segmentations');

function bytesOf(relativePath: string): Uint8Array {
  return new Uint8Array(readFileSync(join(DICOM, relativePath)));
}

function bufferOf(relativePath: string): ArrayBuffer {
  return bytesOf(relativePath).slice().buffer;
}

/** Returns the code of the Nqo1Error that `action` throws, or a description of what happened. */
function codeOf(action: () => unknown): string {
  try {
    action();
    return 'no error';
  } catch (error) {
    return isNqo1Error(error) ? error.code : `not an Nqo1Error: ${String(error)}`;
  }
}

/** Decodes frame 0 of a file to stored values. */
function storedValues(relativePath: string): Int32Array {
  const file = readDicomFile(bufferOf(relativePath), relativePath);
  return decodeFrameStoredValues(file, readPixelFormat(file.dataset), 0, relativePath);
}

describe('real files with one unusual trait', () => {
  it('decodes the deflated CT as its inflated twin', () => {
    // The twin: the same dataset inflated with zlib and stored as Explicit VR Little Endian, whose
    // pixel bytes the raw walker then reads without the product's parser.
    const deflated = bytesOf('orthanc-tests/TransferSyntaxes/1.2.840.10008.1.2.1.99.dcm');
    const dataset = inflateRawSync(deflated.subarray(fileMetaEnd(deflated)));
    const twin = new Uint8Array(part10('1.2.840.10008.1.2.1', dataset));
    const pixelData = requireElement(walkRawDicom(twin), 0x7fe00010);
    const view = new DataView(twin.buffer, twin.byteOffset + pixelData.valueOffset, pixelData.length);

    const values = storedValues('orthanc-tests/TransferSyntaxes/1.2.840.10008.1.2.1.99.dcm');

    expect(values.length).toBe(358 * 512);
    let differences = 0;
    for (let p = 0; p < values.length; p++) {
      // BitsStored 12, unsigned: the low 12 bits of each word.
      if (values[p] !== (view.getUint16(2 * p, true) & 0x0fff)) differences++;
    }
    expect(differences).toBe(0);
  });

  it('reads a JPEG 2000 CT whose header elements are stored as VR UN', () => {
    const path = 'pydicom-data/explicit_VR-UN.dcm';
    const file = readDicomFile(bufferOf(path), path);
    const format = readPixelFormat(file.dataset);
    const slope = file.dataset.number('RescaleSlope') ?? 1;
    const intercept = file.dataset.number('RescaleIntercept') ?? 0;
    const hu = Array.from(
      decodeFrameStoredValues(file, format, 0, path),
      (stored) => stored * slope + intercept,
    );

    expect([format.rows, format.columns, format.pixelRepresentation]).toEqual([512, 512, 1]);
    expect(file.dataset.string('Modality')).toBe('CT');
    // In an abdominal slice, air outside the body and soft tissue inside both cover a share of the
    // image. A header misread from UN (sign, rescale, bit depth) would move them by thousands of HU.
    const share = (low: number, high: number): number =>
      hu.filter((value) => value >= low && value <= high).length / hu.length;
    expect(share(-1100, -900)).toBeGreaterThan(0.05);
    expect(share(0, 100)).toBeGreaterThan(0.05);
  });

  it('decodes a JPEG-LS image of 7 stored bits within 0..127', () => {
    const values = storedValues('pydicom-data/JLSL_08_07_0_1F.dcm');

    expect(values.length).toBe(128 * 128);
    expect(Math.max(...values)).toBeLessThanOrEqual(127);
    expect(Math.max(...values)).toBeGreaterThan(0);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
  });

  it('rejects pixel data longer than the header states', () => {
    // MR_small_padded carries 8320 bytes of Pixel Data for 64 × 64 16-bit pixels (8192 bytes). The
    // extra 128 bytes could be padding or a 65th row, so the file is rejected, not cut.
    const path = 'pydicom/MR_small_padded.dcm';
    expect(codeOf(() => storedValues(path))).toBe('ERR_DICOM_MALFORMED');
  });

  it.each([
    ['orthanc-tests/TransferSyntaxes/1.2.840.10008.1.2.dcm', 'ERR_DICOM_MALFORMED'],
    ['pydicom/empty_charset_LEI.dcm', 'ERR_DICOM_MALFORMED'],
  ])('rejects %s, which is not a readable image', (relativePath, code) => {
    // The first has no Part 10 header, the second no Rows: neither is a CT slice.
    expect(codeOf(() => readCtSeries([bufferOf(relativePath)]))).toBe(code);
  });
});

describe('masks from real files on the dcmqi ct-3slice CT', () => {
  let series: CtSeries;

  beforeAll(async () => {
    series = await readCtSeriesFromFolder(join(SEGMENTATIONS, 'ct-3slice'));
  });

  it.each(['pydicom/liver_1frame.dcm', 'pydicom/liver_expb_1frame.dcm'])(
    'rejects %s, whose one frame has three per-frame items',
    (relativePath) => {
      // NumberOfFrames was set to 1 while PerFrameFunctionalGroupsSequence kept its 3 items, so which
      // item describes the frame is unknown.
      expect(codeOf(() => readSegMask(bufferOf(relativePath), series))).toBe('ERR_SEG_MALFORMED');
    },
  );

  it('rejects the TCGA-GBM SEG, drawn on an MR series of another study', () => {
    expect(
      codeOf(() => readSegMask(bufferOf('orthanc-tests/DicomSeg.dcm'), series, { segmentNumber: 1 })),
    ).toBe('ERR_MASK_GEOMETRY');
  });

  it.each([
    ['liver_spine_gapped_seg.nrrd', 5],
    ['liver_spine_gapped_seg.nrrd', 1],
    ['heart_seg.nrrd', 3],
  ])('reads label %s = %i as the raw samples count it', (name, label) => {
    const path = join(SEGMENTATIONS, name);
    const nrrd = readNrrd(new Uint8Array(readFileSync(path)));
    // Independent count: the gzip payload after the blank line that ends the header, as int16.
    const file = readFileSync(path);
    const headerEnd = file.indexOf('\n\n') + 2;
    const samples = new Int16Array(new Uint8Array(gunzipSync(file.subarray(headerEnd))).buffer);
    const expected = samples.filter((value) => value === label).length;

    const mask = maskFromNrrdOnGrid(nrrd, series.volume.grid, label);

    expect(expected).toBeGreaterThan(1);
    expect(countLabel(mask)).toBe(expected);
  });
});

describe('RTSTRUCT with a dangling reference', () => {
  it('rejects rt-utils empty/dummy_rt.dcm naming the missing image', () => {
    const folder = join(DICOM, 'rt-utils/mock_data');
    const series = readCtSeries([
      new Uint8Array(readFileSync(join(folder, 'ct_1.dcm'))).slice().buffer,
      new Uint8Array(readFileSync(join(folder, 'ct_2.dcm'))).slice().buffer,
    ]);
    let message = '';
    try {
      readRtStructMask(bufferOf('rt-utils/empty/dummy_rt.dcm'), series, { roiNumber: 1 });
    } catch (error) {
      message = isNqo1Error(error, 'ERR_RTSTRUCT_MALFORMED') ? error.message : String(error);
    }

    expect(message).toContain('1 of them is not in the CT series');
  });
});

describe('lossy compression', () => {
  it('warns about the lossy JPEG 2000 slice and not about its lossless twin', () => {
    const lossy = readCtSeries([bufferOf('pydicom/693_J2KI.dcm')]);
    const lossless = readCtSeries([bufferOf('pydicom-data/693_J2KR.dcm')]);

    expect(
      lossy.warnings.some((warning) => warning.startsWith('1 slice of 1 has been through lossy compression')),
    ).toBe(true);
    expect(lossless.warnings).toEqual([]);
  });
});
