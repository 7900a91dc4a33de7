/**
 * CT series reader on real public series, checked against values read from the file bytes by the
 * independent walker in raw-dicom.ts.
 */

import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { readCtSeries, readCtSeriesFromFolder } from '../../src/imaging/ct-series.js';
import { voxelIndex } from '../../src/imaging/volume.js';
import { CT_3SLICE_FILES, SHARED_DATA_DIR, readArrayBuffer } from '../support/shared-data.js';

import { shortElement } from './build-dicom.js';
import { rawDecimals, rawUint16, requireElement, walkRawDicom } from './raw-dicom.js';

import type { ErrorCode } from '../../src/errors.js';

const CT_3SLICE_DIR = join(SHARED_DATA_DIR, 'dicom/dcmqi/segmentations/ct-3slice');
const CT_3SLICE_NAMES = ['01.dcm', '02.dcm', '03.dcm'];
const CT5N_DIR = join(SHARED_DATA_DIR, 'dicom/pydicom/dicomdirtests/98892001/CT5N');
const CT5N_NAMES = ['2062', '2392', '2693', '3023', '3353'];

const TAG = {
  ImagePositionPatient: 0x00200032,
  PixelSpacing: 0x00280030,
  SliceThickness: 0x00180050,
  InstanceNumber: 0x00200013,
  SOPInstanceUID: 0x00080018,
  Rows: 0x00280010,
  Columns: 0x00280011,
  BitsStored: 0x00280101,
  PixelRepresentation: 0x00280103,
  RescaleSlope: 0x00281053,
  RescaleIntercept: 0x00281052,
  PixelData: 0x7fe00010,
} as const;

async function readFiles(dir: string, names: readonly string[]): Promise<ArrayBuffer[]> {
  return Promise.all(names.map((name) => readArrayBuffer(join(dir, name))));
}

/** Runs `action` and returns the Nqo1Error code it throws; fails on success or any other error. */
function errorCodeOf(action: () => unknown): ErrorCode {
  try {
    action();
  } catch (error) {
    if (isNqo1Error(error)) return error.code;
    throw error;
  }
  throw new Error('expected an Nqo1Error, but the call succeeded');
}

function errorOf(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error('expected an error, but the call succeeded');
}

describe('readCtSeries on dcmqi ct-3slice', () => {
  let files: ArrayBuffer[];
  let raw: ReturnType<typeof walkRawDicom>[];

  beforeAll(async () => {
    files = await readFiles(CT_3SLICE_DIR, CT_3SLICE_NAMES);
    raw = files.map((bytes) => walkRawDicom(new Uint8Array(bytes)));
  });

  it('builds a 512×512×3 grid from the headers', () => {
    const { grid } = readCtSeries(files).volume;
    const first = raw[0]!;
    const pixelSpacing = rawDecimals(first.bytes, requireElement(first, TAG.PixelSpacing));
    const z = raw.map((file) => rawDecimals(file.bytes, requireElement(file, TAG.ImagePositionPatient))[2]!);
    const zSorted = [...z].sort((a, b) => a - b);

    expect(grid.dimensions).toEqual([512, 512, 3]);
    // Header values (dcmdump): PixelSpacing 0.810547\0.810547, z = -126.690002, -127.690002, -128.690002.
    expect(pixelSpacing).toEqual([0.810547, 0.810547]);
    expect(grid.spacingMm[0]).toBe(pixelSpacing[1]);
    expect(grid.spacingMm[1]).toBe(pixelSpacing[0]);
    expect(grid.spacingMm[2]).toBeCloseTo((zSorted[2]! - zSorted[0]!) / 2, 12);
    expect(grid.spacingMm[2]).toBeCloseTo(1.0, 9);
    expect(grid.originMm).toEqual(
      rawDecimals(raw[2]!.bytes, requireElement(raw[2]!, TAG.ImagePositionPatient)),
    );
    expect(grid.axes).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
  });

  it('takes the slice step from positions, not SliceThickness', () => {
    const { grid } = readCtSeries(files).volume;
    for (const file of raw) {
      expect(rawDecimals(file.bytes, requireElement(file, TAG.SliceThickness))).toEqual([1.25]);
    }
    expect(Math.abs(grid.spacingMm[2] - 1.25)).toBeGreaterThan(0.2);
  });

  it('orders slices by position along the normal, not InstanceNumber', () => {
    const series = readCtSeries(files);
    const byPosition = raw
      .map((file) => ({
        z: rawDecimals(file.bytes, requireElement(file, TAG.ImagePositionPatient))[2]!,
        uid: String.fromCharCode(
          ...file.bytes.subarray(
            requireElement(file, TAG.SOPInstanceUID).valueOffset,
            requireElement(file, TAG.SOPInstanceUID).valueOffset +
              requireElement(file, TAG.SOPInstanceUID).length,
          ),
        ).replace(/\0+$/, ''),
        instanceNumber: rawDecimals(file.bytes, requireElement(file, TAG.InstanceNumber))[0]!,
      }))
      .sort((a, b) => a.z - b.z);

    expect(series.sopInstanceUids).toEqual(byPosition.map((slice) => slice.uid));
    expect(series.sopInstanceUids[0]).toBe('1.2.392.200103.20080913.113635.2.2009.6.22.21.43.10.23433.1');
    expect(byPosition.map((slice) => slice.instanceNumber)).toEqual([3, 2, 1]);
  });

  it('converts stored values to HU with slope and intercept', () => {
    const series = readCtSeries(files);
    const grid = series.volume.grid;
    let compared = 0;
    for (const file of raw) {
      const view = new DataView(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength);
      const rows = rawUint16(file.bytes, requireElement(file, TAG.Rows));
      const columns = rawUint16(file.bytes, requireElement(file, TAG.Columns));
      expect(rawUint16(file.bytes, requireElement(file, TAG.PixelRepresentation))).toBe(1);
      expect(rawUint16(file.bytes, requireElement(file, TAG.BitsStored))).toBe(16);
      const slope = rawDecimals(file.bytes, requireElement(file, TAG.RescaleSlope))[0]!;
      const intercept = rawDecimals(file.bytes, requireElement(file, TAG.RescaleIntercept))[0]!;
      const pixelOffset = requireElement(file, TAG.PixelData).valueOffset;
      const z = rawDecimals(file.bytes, requireElement(file, TAG.ImagePositionPatient))[2]!;
      const k = Math.round((z - grid.originMm[2]) / grid.spacingMm[2]);

      for (let row = 0; row < rows; row++) {
        for (let column = 0; column < columns; column++) {
          const stored = view.getInt16(pixelOffset + 2 * (row * columns + column), true);
          const hu = series.volume.voxels[voxelIndex(grid, column, row, k)];
          if (hu !== stored * slope + intercept) {
            expect({ row, column, k, hu }).toEqual({ row, column, k, hu: stored * slope + intercept });
          }
          compared++;
        }
      }
    }
    expect(compared).toBe(512 * 512 * 3);

    // One voxel spelled out: the centre of the middle slice (02.dcm).
    const middle = raw[1]!;
    const stored = new DataView(middle.bytes.buffer, middle.bytes.byteOffset).getInt16(
      requireElement(middle, TAG.PixelData).valueOffset + 2 * (256 * 512 + 256),
      true,
    );
    expect(series.volume.voxels[voxelIndex(grid, 256, 256, 1)]).toBe(stored * 1 - 1024);
  });

  it('gives the same volume for any file order', () => {
    const reference = readCtSeries(files);
    for (const order of [
      [2, 0, 1],
      [1, 2, 0],
      [2, 1, 0],
    ]) {
      const shuffled = readCtSeries(order.map((index) => files[index]!));
      expect(shuffled.sopInstanceUids).toEqual(reference.sopInstanceUids);
      expect(shuffled.volume.grid).toEqual(reference.volume.grid);
      expect(
        Buffer.from(shuffled.volume.voxels.buffer).equals(Buffer.from(reference.volume.voxels.buffer)),
      ).toBe(true);
    }
  });

  it('reports identity of the series', () => {
    const series = readCtSeries(files);
    expect(series.studyInstanceUid).toBe('1.2.392.200103.20080913.113635.0.2009.6.22.21.43.10.22941.1');
    expect(series.seriesInstanceUid).toBe('1.2.392.200103.20080913.113635.1.2009.6.22.21.43.10.23430.1');
    expect(series.frameOfReferenceUid).toBe('1.2.392.200103.20080913.113635.3.2009.6.22.21.44.34.23882.1');
    expect(series.modality).toBe('CT');
    expect(series.seriesDescription).toBeNull();
  });

  it('drops a slice sent twice', () => {
    const series = readCtSeries([files[0]!, files[1]!, files[0]!]);
    expect(series.volume.grid.dimensions).toEqual([512, 512, 2]);
    expect(series.excluded).toHaveLength(1);
    expect(series.excluded[0]!.context).toBe('Image file 3 of 3');
    expect(series.excluded[0]!.reason).toContain('duplicate of Image file 1 of 3');
    expect(series.warnings).toHaveLength(1);
  });

  it('rejects files of two series', async () => {
    const other = await readArrayBuffer(join(CT5N_DIR, CT5N_NAMES[0]!));
    const error = errorOf(() => readCtSeries([...files, other]));
    expect(isNqo1Error(error, 'ERR_SERIES_MIXED')).toBe(true);
    expect(error.message).toContain('1.2.392.200103.20080913.113635.1.2009.6.22.21.43.10.23430.1 (3 files)');
  });

  it('rejects bytes cut anywhere with a typed error', () => {
    const whole = new Uint8Array(files[0]!);
    for (const length of [
      0,
      100,
      131,
      132,
      140,
      600,
      1500,
      100_000,
      whole.length - 2_000,
      whole.length - 1,
    ]) {
      const cut = whole.slice(0, length).buffer;
      expect({ length, code: errorCodeOf(() => readCtSeries([cut])) }).toEqual({
        length,
        code: 'ERR_DICOM_MALFORMED',
      });
    }
  });
});

describe('readCtSeriesFromFolder', () => {
  let folder: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'nqo1-ct-folder-'));
  });

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('reads the same volume as readCtSeries', async () => {
    const fromFolder = await readCtSeriesFromFolder(CT_3SLICE_DIR);
    const fromFiles = readCtSeries(await readFiles(CT_3SLICE_DIR, CT_3SLICE_NAMES));
    expect(fromFolder.sopInstanceUids).toEqual(fromFiles.sopInstanceUids);
    expect(fromFolder.volume.grid).toEqual(fromFiles.volume.grid);
    expect(
      Buffer.from(fromFolder.volume.voxels.buffer).equals(Buffer.from(fromFiles.volume.voxels.buffer)),
    ).toBe(true);
  });

  it('skips files without the Part 10 prefix and DICOMDIR', async () => {
    for (const name of CT_3SLICE_NAMES) await copyFile(join(CT_3SLICE_DIR, name), join(folder, name));
    await writeFile(join(folder, 'README.txt'), 'exported by a PACS\n');
    await writeFile(join(folder, 'empty'), '');
    await copyFile(join(CT_3SLICE_DIR, '01.dcm'), join(folder, 'DICOMDIR'));
    await mkdir(join(folder, 'subfolder'));
    await copyFile(join(CT5N_DIR, CT5N_NAMES[0]!), join(folder, 'subfolder', 'other-series.dcm'));

    const series = await readCtSeriesFromFolder(folder);
    expect(series.volume.grid.dimensions).toEqual([512, 512, 3]);
  });

  it('skips a DICOMDIR under another name', async () => {
    for (const name of CT_3SLICE_NAMES) await copyFile(join(CT_3SLICE_DIR, name), join(folder, name));
    // File meta with Media Storage SOP Class UID (0002,0002) of a DICOMDIR, then an empty dataset.
    const meta = [
      shortElement(0x0002, 0x0002, 'UI', '1.2.840.10008.1.3.10'),
      shortElement(0x0002, 0x0010, 'UI', '1.2.840.10008.1.2.1'),
    ];
    const metaLength = meta.reduce((total, element) => total + element.length, 0);
    const groupLength = new Uint8Array(12);
    new DataView(groupLength.buffer).setUint16(0, 0x0002, true);
    groupLength.set(new TextEncoder().encode('UL'), 4);
    new DataView(groupLength.buffer).setUint16(6, 4, true);
    new DataView(groupLength.buffer).setUint32(8, metaLength, true);
    const file = Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), groupLength, ...meta]);
    await writeFile(join(folder, 'DICOMDIR.dcm'), file);

    const series = await readCtSeriesFromFolder(folder);
    expect(series.volume.grid.dimensions).toEqual([512, 512, 3]);
  });

  it('follows symbolic links to slice files', async () => {
    const linked = await mkdtemp(join(tmpdir(), 'nqo1-ct-links-'));
    for (const name of CT_3SLICE_NAMES) await symlink(join(CT_3SLICE_DIR, name), join(linked, name));
    const series = await readCtSeriesFromFolder(linked);
    expect(series.volume.grid.dimensions).toEqual([512, 512, 3]);
    await rm(linked, { recursive: true, force: true });
  });

  it('rejects a folder with no DICOM file', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'nqo1-no-dicom-'));
    await writeFile(join(empty, 'notes.txt'), 'nothing here\n');
    await expect(readCtSeriesFromFolder(empty)).rejects.toMatchObject({ code: 'ERR_SERIES_EMPTY' });
    await rm(empty, { recursive: true, force: true });
  });

  it('names the subfolder holding the slices', async () => {
    const study = await mkdtemp(join(tmpdir(), 'nqo1-study-'));
    await mkdir(join(study, 'series1'));
    for (const name of CT_3SLICE_NAMES)
      await symlink(join(CT_3SLICE_DIR, name), join(study, 'series1', name));
    await writeFile(join(study, 'README.txt'), 'exported by a PACS\n');

    const error = await readCtSeriesFromFolder(study).then(
      () => new Error('expected ERR_SERIES_EMPTY'),
      (rejection: unknown) => rejection,
    );
    expect(isNqo1Error(error, 'ERR_SERIES_EMPTY')).toBe(true);
    const message = error instanceof Error ? error.message : '';
    expect(message).toContain('Subfolders are not searched');
    expect(message).toContain(`Pass the series folder itself, such as ${join(study, 'series1')}`);
    expect(message).not.toContain('holds no');
    await rm(study, { recursive: true, force: true });
  });
});

describe('readCtSeries geometry and input checks', () => {
  it('reads the 5-slice CT5N series at 2.5 mm', async () => {
    const series = readCtSeries(await readFiles(CT5N_DIR, CT5N_NAMES));
    expect(series.volume.grid.dimensions).toEqual([16, 16, 5]);
    expect(series.volume.grid.spacingMm[2]).toBeCloseTo(2.5, 6);
  });

  it('rejects a series with a missing middle slice', async () => {
    const files = await readFiles(CT5N_DIR, CT5N_NAMES);
    const withoutMiddle = [files[0]!, files[1]!, files[3]!, files[4]!];
    const error = errorOf(() => readCtSeries(withoutMiddle));
    expect(isNqo1Error(error, 'ERR_SERIES_GEOMETRY')).toBe(true);
    expect(error.message).toMatch(
      /regular step of 2\.50 mm but a gap of 5\.00 mm between Image file 3 of 4 at 1\.26 mm and Image file 2 of 4 at 6\.26 mm/,
    );
    expect(error.message).toContain('(about 1 slice missing)');
  });

  it('rejects a gantry-tilted series', async () => {
    await expect(readCtSeriesFromFolder(join(SHARED_DATA_DIR, 'dicom/dcm_qa_ct/GE'))).rejects.toMatchObject({
      code: 'ERR_SERIES_GEOMETRY',
    });
  });

  it('names a non-CT image by its modality', async () => {
    const mr = await readArrayBuffer(join(SHARED_DATA_DIR, 'dicom/pydicom/MR_small.dcm'));
    const error = errorOf(() => readCtSeries([mr]));
    expect(isNqo1Error(error, 'ERR_DICOM_UNSUPPORTED')).toBe(true);
    expect(error.message).toMatch(/^Image file 1 of 1: Modality is MR, but NQO1 CDS reads CT only/);
    expect(error.message).not.toContain('CT file');
  });

  it('rejects a slice without RescaleIntercept rather than reading it as 0', async () => {
    // Retag (0028,1052) as (0028,10FF) in the middle slice, so only that slice lacks the intercept.
    const files = await Promise.all(CT_3SLICE_FILES.map(readArrayBuffer));
    const middle = new Uint8Array(files[1]!);
    let retagged = 0;
    for (let offset = 0; offset + 4 <= middle.length; offset++) {
      if (
        middle[offset] === 0x28 &&
        middle[offset + 1] === 0x00 &&
        middle[offset + 2] === 0x52 &&
        middle[offset + 3] === 0x10
      ) {
        middle[offset + 2] = 0xff;
        retagged++;
      }
    }
    expect(retagged).toBe(1);

    const error = errorOf(() => readCtSeries(files));

    expect(isNqo1Error(error, 'ERR_DICOM_MALFORMED')).toBe(true);
    expect(error.message).toContain('RescaleIntercept is missing or not a number');
  });

  it('rejects an empty file list', () => {
    expect(errorCodeOf(() => readCtSeries([]))).toBe('ERR_SERIES_EMPTY');
  });

  it('reads a JPEG 2000 slice as its uncompressed twin', async () => {
    const compressed = await readArrayBuffer(join(SHARED_DATA_DIR, 'dicom/pydicom-data/693_J2KR.dcm'));
    const native = await readArrayBuffer(join(SHARED_DATA_DIR, 'dicom/pydicom-data/693_UNCR.dcm'));
    const fromJ2k = readCtSeries([compressed]);
    const fromNative = readCtSeries([native]);
    expect(fromJ2k.volume.grid.dimensions).toEqual([512, 512, 1]);
    expect(fromJ2k.volume.voxels[256 * 512 + 256]).toBe(24);
    expect(
      Buffer.from(fromJ2k.volume.voxels.buffer).equals(Buffer.from(fromNative.volume.voxels.buffer)),
    ).toBe(true);
  });

  it('rejects a file truncated inside Pixel Data', async () => {
    const file = await readArrayBuffer(join(SHARED_DATA_DIR, 'dicom/pydicom/MR_truncated.dcm'));
    const error = errorOf(() => readCtSeries([file]));
    expect(isNqo1Error(error, 'ERR_DICOM_MALFORMED')).toBe(true);
    expect(error.message).toContain('truncated');
  });

  it('rejects a non-CT image without rescale values', async () => {
    const file = await readArrayBuffer(join(SHARED_DATA_DIR, 'dicom/pydicom/MR_small.dcm'));
    expect(errorCodeOf(() => readCtSeries([file]))).toBe('ERR_DICOM_UNSUPPORTED');
  });

  it('rejects a SEG passed as a CT slice', async () => {
    const file = await readArrayBuffer(join(SHARED_DATA_DIR, 'dicom/dcmqi/segmentations/liver.dcm'));
    expect(errorCodeOf(() => readCtSeries([file]))).toBe('ERR_DICOM_UNSUPPORTED');
  });

  it('reads a single 14-bit slice with SpacingBetweenSlices', async () => {
    const file = await readArrayBuffer(join(SHARED_DATA_DIR, 'dicom/pydicom-data/693_UNCR.dcm'));
    const raw = walkRawDicom(new Uint8Array(file));
    const series = readCtSeries([file]);
    const grid = series.volume.grid;

    // Header values (dcmdump): SliceThickness 5, SpacingBetweenSlices 20, BitsStored 14, signed.
    expect(grid.dimensions).toEqual([512, 512, 1]);
    expect(grid.spacingMm[2]).toBe(20);
    expect(rawUint16(raw.bytes, requireElement(raw, TAG.BitsStored))).toBe(14);

    const view = new DataView(raw.bytes.buffer, raw.bytes.byteOffset, raw.bytes.byteLength);
    const pixelOffset = requireElement(raw, TAG.PixelData).valueOffset;
    let negative = 0;
    for (let p = 0; p < 512 * 512; p++) {
      // Sign extension of the low 14 bits by shifting them to the top of a 32-bit integer and back.
      const stored = (view.getUint16(pixelOffset + 2 * p, true) << 18) >> 18;
      if (stored < 0) negative++;
      if (series.volume.voxels[p] !== stored - 1024) {
        expect({ p, hu: series.volume.voxels[p] }).toEqual({ p, hu: stored - 1024 });
      }
    }
    expect(negative).toBeGreaterThan(0);
  });
});
