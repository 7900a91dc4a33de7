/**
 * DICOM SEG variants on their CT images: FRACTIONAL (thresholded), Label Map, several and
 * overlapping segments, frames omitted or lying beyond the CT volume, cropped 510 × 510 frames,
 * and the geometry tolerance setting.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { readCtSeries, readCtSeriesFromFolder } from '../../src/imaging/ct-series.js';
import { readNrrd } from '../../src/imaging/nrrd.js';
import { readSegMask } from '../../src/imaging/seg.js';
import { countLabel, voxelIndex } from '../../src/imaging/volume.js';
import { SHARED_DATA_DIR, readArrayBuffer } from '../support/shared-data.js';

import { requireElement, walkRawDicom } from './raw-dicom.js';

import type { CtSeries } from '../../src/imaging/ct-series.js';

const DICOM = join(SHARED_DATA_DIR, 'dicom');
const SEGMENTATIONS = join(DICOM, 'dcmqi/segmentations');
const HIGHDICOM = join(DICOM, 'highdicom');
const CT2 = join(DICOM, 'pydicom/dicomdirtests/77654033/CT2');

function errorOf(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error('expected an error, but the call succeeded');
}

async function seriesOf(paths: readonly string[]): Promise<CtSeries> {
  return readCtSeries(await Promise.all(paths.map((path) => readArrayBuffer(path))));
}

/** Replaces every occurrence of `from` by `to` (same length) in `bytes`; returns the count. */
function replaceAscii(bytes: Uint8Array, from: string, to: string): number {
  const a = new TextEncoder().encode(from);
  const b = new TextEncoder().encode(to);
  let count = 0;
  for (let offset = 0; offset + a.length <= bytes.length; offset++) {
    if (!a.every((value, index) => bytes[offset + index] === value)) continue;
    bytes.set(b, offset);
    count++;
  }
  return count;
}

/** Counts the set bits of the Pixel Data value, read straight from the file bytes. */
function setBitsOf(file: ArrayBuffer): number {
  const raw = walkRawDicom(new Uint8Array(file));
  const pixelData = requireElement(raw, 0x7fe00010);
  let count = 0;
  for (let offset = 0; offset < pixelData.length; offset++) {
    let byte = raw.bytes[pixelData.valueOffset + offset]!;
    while (byte !== 0) {
      count += byte & 1;
      byte >>= 1;
    }
  }
  return count;
}

// The CT2 series has slices at z = −99.48, 103.02, 104.27 and 105.52 mm, so readCtSeries refuses it
// as a whole. The highdicom SEGs are read on the three regular slices 17136, 17166 and 17196.
// Pixel values per frame (counted from the file bytes with a separate script):
//   true_fractional:   frame 1 {0: 107, 64: 22, 128: 127}, frame 2 {128: 256}, frame 3 {64: 1, 128: 255}
//   binary_fractional: frame 1 {0: 129, 255: 127}, frame 2 {255: 256}, frame 3 {0: 1, 255: 255}
describe('FRACTIONAL SEGs on three CT2 slices', () => {
  let series: CtSeries;

  beforeAll(async () => {
    series = await seriesOf(['17136', '17166', '17196'].map((name) => join(CT2, name)));
  });

  it('keeps values ≥ 0.5 × MaximumFractionalValue by default', async () => {
    const seg = await readArrayBuffer(join(HIGHDICOM, 'seg_image_ct_true_fractional.dcm'));
    // 128 ≥ 127.5 but 64 is not: 127 + 256 + 255.
    expect(countLabel(readSegMask(seg, series))).toBe(638);
    // 64 ≥ 63.75 too: 638 + 22 + 1.
    expect(countLabel(readSegMask(seg, series, { fractionalThreshold: 0.25 }))).toBe(661);
    // The threshold is inclusive: 128 / 255 counts at exactly that fraction.
    expect(countLabel(readSegMask(seg, series, { fractionalThreshold: 128 / 255 }))).toBe(638);

    const empty = errorOf(() => readSegMask(seg, series, { fractionalThreshold: 0.6 }));
    expect(isNqo1Error(empty, 'ERR_MASK_EMPTY')).toBe(true);
    expect(empty.message).toContain(
      'segment 1 "first segment" has no pixel in its 3 frames at fractionalThreshold 0.6',
    );

    const invalid = errorOf(() => readSegMask(seg, series, { fractionalThreshold: 0 }));
    expect(isNqo1Error(invalid, 'ERR_SETTINGS_INVALID')).toBe(true);
  });

  it('reads a fractional SEG of 0 and 255 like the BINARY SEG of the same segment', async () => {
    const fractional = await readArrayBuffer(join(HIGHDICOM, 'seg_image_ct_binary_fractional.dcm'));
    const binary = await readArrayBuffer(join(HIGHDICOM, 'seg_image_ct_binary.dcm'));
    const fromBinary = readSegMask(binary, series);
    expect(countLabel(fromBinary)).toBe(638);
    for (const fractionalThreshold of [0.5, 1]) {
      const mask = readSegMask(fractional, series, { fractionalThreshold });
      expect(Buffer.from(mask.voxels).equals(Buffer.from(fromBinary.voxels))).toBe(true);
    }
  });

  it('refuses overlapping segments whose frames reach beyond the volume', async () => {
    // 2 segments × 4 frames; the frames at z = −99.48 mm lie outside these three slices.
    const seg = await readArrayBuffer(join(HIGHDICOM, 'seg_image_ct_binary_overlap.dcm'));
    const unchosen = errorOf(() => readSegMask(seg, series));
    expect(isNqo1Error(unchosen, 'ERR_SEGMENT_SELECTION')).toBe(true);
    expect(unchosen.message).toContain('1 "first segment", 2 "second segment"');

    const first = errorOf(() => readSegMask(seg, series, { segmentNumber: 1 }));
    const second = errorOf(() => readSegMask(seg, series, { segmentLabel: 'second segment' }));
    expect(isNqo1Error(first, 'ERR_MASK_GEOMETRY')).toBe(true);
    expect(first.message).toContain('has 16 of its 64 voxels outside the image');
    expect(isNqo1Error(second, 'ERR_MASK_GEOMETRY')).toBe(true);
    expect(second.message).toContain('has 4 of its 16 voxels outside the image');
  });

  it('refuses the overlap SEG on the lone slice at z = −99.48 mm', async () => {
    const lone = await seriesOf([join(CT2, '17106')]);
    const seg = await readArrayBuffer(join(HIGHDICOM, 'seg_image_ct_binary_overlap.dcm'));
    const error = errorOf(() => readSegMask(seg, lone, { segmentNumber: 1 }));
    expect(isNqo1Error(error, 'ERR_MASK_GEOMETRY')).toBe(true);
    expect(error.message).toContain('has 48 of its 64 voxels outside the image');
  });

  it('refuses a SEG whose frames all lie beyond the volume', async () => {
    const lone = await seriesOf([join(CT2, '17106')]);
    const seg = await readArrayBuffer(join(HIGHDICOM, 'seg_image_ct_binary.dcm'));
    const error = errorOf(() => readSegMask(seg, lone));
    expect(isNqo1Error(error, 'ERR_MASK_GEOMETRY')).toBe(true);
    expect(error.message).toContain('has 638 voxels in');
    expect(error.message).toContain('none lies inside the image');
  });
});

describe('Label Map SEGs on 24x38x3', () => {
  let series: CtSeries;

  beforeAll(async () => {
    series = await readCtSeriesFromFolder(join(SEGMENTATIONS, '24x38x3/image'));
  });

  it.each([
    ['sparse-labelmap-noppv.dcm', 'sparse_labelmap_noppv_seg.nrrd'],
    ['sparse-labelmap-ppv5.dcm', 'sparse_labelmap_ppv5_seg.nrrd'],
  ])('%s equals %s voxel for voxel, with nothing on the middle slice', async (segName, nrrdName) => {
    const seg = await readArrayBuffer(join(SEGMENTATIONS, segName));
    const nrrd = readNrrd(new Uint8Array(readFileSync(join(SEGMENTATIONS, nrrdName))));
    const mask = readSegMask(seg, series);
    expect(nrrd.grid.dimensions).toEqual([24, 38, 3]);

    let differences = 0;
    for (let index = 0; index < mask.voxels.length; index++) {
      if (mask.voxels[index] !== (nrrd.voxels[index] === 1 ? 1 : 0)) differences++;
    }
    expect(differences).toBe(0);
    expect(countLabel(mask)).toBe(2 * 315);
    const middle = mask.voxels.subarray(24 * 38, 2 * 24 * 38);
    expect(middle.includes(1)).toBe(false);
    expect(readSegMask(seg, series, { segmentLabel: 'liver' }).voxels).toEqual(mask.voxels);
  });

  it('does not offer the background as a segment', async () => {
    const seg = await readArrayBuffer(join(SEGMENTATIONS, 'sparse-labelmap-noppv.dcm'));
    const error = errorOf(() => readSegMask(seg, series, { segmentNumber: 0 }));
    expect(isNqo1Error(error, 'ERR_SEGMENT_SELECTION')).toBe(true);
    expect(error.message).toContain('segments 1 "Liver"');
  });

  it('refuses a tiled microscopy label map, naming the reason', async () => {
    const seg = await readArrayBuffer(join(HIGHDICOM, 'seg_image_sm_control_labelmap.dcm'));
    const error = errorOf(() => readSegMask(seg, series));
    expect(isNqo1Error(error, 'ERR_DICOM_UNSUPPORTED')).toBe(true);
    expect(error.message).toContain('TILED_SPARSE');
    expect(error.message).toContain('slide microscopy');
  });
});

describe('BINARY SEG frames of other sizes', () => {
  it('places the 510 × 510 frames of liver_nonbyte_aligned on the 512 × 512 CT', async () => {
    const series = await readCtSeriesFromFolder(join(SEGMENTATIONS, 'ct-3slice'));
    const seg = await readArrayBuffer(join(DICOM, 'pydicom-data/liver_nonbyte_aligned.dcm'));
    const setBits = setBitsOf(seg);
    const mask = readSegMask(seg, series);
    expect(countLabel(mask)).toBe(setBits);
    expect(setBits).toBe(107_098);
    // The same liver as the byte-aligned 512 × 512 SEG of dcmqi.
    const liver = readSegMask(await readArrayBuffer(join(SEGMENTATIONS, 'liver.dcm')), series);
    expect(Buffer.from(mask.voxels).equals(Buffer.from(liver.voxels))).toBe(true);
    // The frames start at the CT origin, so columns and rows 510 and 511 stay empty.
    for (let k = 0; k < 3; k++) {
      for (let j = 0; j < 512; j++) {
        expect(
          mask.voxels[voxelIndex(mask.grid, 510, j, k)]! + mask.voxels[voxelIndex(mask.grid, 511, j, k)]!,
        ).toBe(0);
      }
    }
  });

  it('places cropped frames moved by 0.8 mm one column further', async () => {
    const series = await readCtSeriesFromFolder(join(SEGMENTATIONS, 'ct-3slice'));
    const bytes = new Uint8Array(
      await readArrayBuffer(join(DICOM, 'pydicom-data/liver_nonbyte_aligned.dcm')),
    );
    const liver = readSegMask(bytes.slice().buffer, series);
    // x of every frame from −235.2 to −234.4 mm: CT column i takes frame column
    // round(i − 0.8 / 0.810547) = i − 1.
    expect(replaceAscii(bytes, '-2.352000e+02', '-2.344000e+02')).toBe(3);
    const moved = readSegMask(bytes.buffer, series);
    expect(countLabel(moved)).toBe(107_098);
    let matched = 0;
    for (let index = 0; index < liver.voxels.length; index++) {
      if (liver.voxels[index] === 1 && moved.voxels[index + 1] === 1) matched++;
    }
    expect(matched).toBe(107_098);
  });

  it('resamples frames of 1.25 times the CT pixel spacing by nearest neighbour', async () => {
    const series = await readCtSeriesFromFolder(join(SEGMENTATIONS, 'ct-3slice'));
    const bytes = new Uint8Array(
      await readArrayBuffer(join(DICOM, 'pydicom-data/liver_nonbyte_aligned.dcm')),
    );
    const liver = readSegMask(bytes.slice().buffer, series);
    expect(replaceAscii(bytes, '8.105470e-01', '1.013184e+00')).toBe(2);
    const coarse = readSegMask(bytes.buffer, series);

    // CT voxel (i, j) lies at frame index (i·s, j·s) with s = 0.810547 / 1.013184 ≈ 0.8; halves round
    // up, and no product lies near a half. The frame content is the liver mask (frame pixel (c, r) =
    // CT voxel (c, r) of the unaltered SEG, for c, r < 510). The liver reaches column 350 and row 366,
    // so stretched by 1.25 it still ends inside the 512 × 512 CT.
    const ratio = 0.810547 / 1.013184;
    const grid = liver.grid;
    let expected = 0;
    let differences = 0;
    for (let k = 0; k < 3; k++) {
      for (let j = 0; j < 512; j++) {
        for (let i = 0; i < 512; i++) {
          const c = Math.floor(i * ratio + 0.5);
          const r = Math.floor(j * ratio + 0.5);
          const value = c < 510 && r < 510 ? liver.voxels[voxelIndex(grid, c, r, k)]! : 0;
          expected += value;
          if (coarse.voxels[voxelIndex(grid, i, j, k)] !== value) differences++;
        }
      }
    }
    expect(differences).toBe(0);
    expect(countLabel(coarse)).toBe(expected);
    expect(expected).toBeGreaterThan(1.5 * countLabel(liver));
  });

  it('refuses frames that reach past the CT, rather than clipping them', async () => {
    const series = await readCtSeriesFromFolder(join(SEGMENTATIONS, 'ct-3slice'));
    const bytes = new Uint8Array(
      await readArrayBuffer(join(DICOM, 'pydicom-data/liver_nonbyte_aligned.dcm')),
    );
    const liver = readSegMask(bytes.slice().buffer, series);
    expect(replaceAscii(bytes, '8.105470e-01', '1.621094e+00')).toBe(2);

    // At twice the spacing, frame pixel (c, r) lies at CT index (2c, 2r): outside when 2c or 2r
    // passes 511.5, that is c > 255 or r > 255.
    let outside = 0;
    for (let k = 0; k < 3; k++) {
      for (let r = 0; r < 510; r++) {
        for (let c = 0; c < 510; c++) {
          if (liver.voxels[voxelIndex(liver.grid, c, r, k)] === 1 && (c > 255 || r > 255)) outside++;
        }
      }
    }
    const error = errorOf(() => readSegMask(bytes.buffer, series));
    expect(isNqo1Error(error, 'ERR_MASK_GEOMETRY')).toBe(true);
    expect(error.message).toContain(`has ${outside} of its ${countLabel(liver)} voxels outside the image`);
    expect(outside).toBeGreaterThan(0);
  });

  it('reads the one-frame SEG of the highdicom CT image', async () => {
    const series = await seriesOf([join(HIGHDICOM, 'ct_image.dcm')]);
    const seg = await readArrayBuffer(join(HIGHDICOM, 'seg_image_ct_binary_single_frame.dcm'));
    expect(setBitsOf(seg)).toBe(1832);
    expect(countLabel(readSegMask(seg, series))).toBe(1832);
  });
});

describe('toleranceMm', () => {
  it('decides whether a frame 0.05 mm off the CT slice plane lies on it', async () => {
    const series = await readCtSeriesFromFolder(join(SEGMENTATIONS, 'ct-3slice'));
    const seg = await readArrayBuffer(join(SEGMENTATIONS, 'liver.dcm'));
    const grid = series.volume.grid;
    const moved: CtSeries = {
      ...series,
      volume: {
        ...series.volume,
        grid: { ...grid, originMm: [grid.originMm[0], grid.originMm[1], grid.originMm[2] + 0.05] },
      },
    };
    // Default tolerance along the normal: max(0.01 mm, 1 % of the 1 mm step) = 0.01 mm.
    const error = errorOf(() => readSegMask(seg, moved));
    expect(isNqo1Error(error, 'ERR_MASK_GEOMETRY')).toBe(true);
    expect(error.message).toContain('tolerance 0.0100 mm');
    expect(countLabel(readSegMask(seg, moved, { toleranceMm: 0.1 }))).toBe(107_098);
  });
});
