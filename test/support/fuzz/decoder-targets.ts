/**
 * The real files that fuzzing mutates, and the product entry point each mutated file goes through.
 *
 * - `series`: `readCtSeries` with the mutated slice and the unmutated other slices of its series,
 *   which covers the Part 10 parser, the CT header checks, the stack geometry and the pixel
 *   decoders (native and compressed) of `ct-slice.ts`, `enhanced-ct.ts` and `pixel-data.ts`.
 * - `pixels`: `readDicomFile`, `readPixelFormat` and the frame decoders of `pixel-data.ts` on
 *   images of any modality, to reach the RLE, JPEG, JPEG-LS and JPEG 2000 codecs with files that
 *   the CT reader would reject for their modality before decoding.
 * - `seg` and `rtstruct`: `readSegMask` and `readRtStructMask` of the mutated object on the
 *   unmutated CT series it was drawn on.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Nqo1Error } from '../../../src/errors.js';
import { readCtSeries, type CtSeries } from '../../../src/imaging/ct-series.js';
import { readDicomFile } from '../../../src/imaging/dicom-dataset.js';
import {
  decodeFrameStoredValues,
  decodeSegmentationFrame,
  readPixelFormat,
} from '../../../src/imaging/pixel-data.js';
import { prepareCodecs } from '../../../src/imaging/prepare-codecs.js';
import { readRtStructMask } from '../../../src/imaging/rtstruct.js';
import { readSegMask } from '../../../src/imaging/seg.js';
import { SHARED_DATA_DIR } from '../shared-data.js';

export type FuzzTarget = 'series' | 'pixels' | 'seg' | 'rtstruct' | 'pool-check';

/** One real file to mutate and how to read it. Paths are relative to the shared `dicom` folder. */
export interface FuzzSeed {
  readonly name: string;
  readonly target: FuzzTarget;
  readonly file: string;
  /** Other slices of the series, read unmutated together with the mutated one (`series`). */
  readonly companions?: readonly string[];
  /** The CT series a segmentation or structure set lies on (`seg`, `rtstruct`). */
  readonly series?: readonly string[];
  /** The segment or ROI number to read when the object has several. */
  readonly segmentNumber?: number;
  /** The Nqo1Error code of the unmutated file when it is rejected as it is; absent when it is read. */
  readonly unmutatedCode?: string;
}

const SLICES_24 = ['IMG0001.dcm', 'IMG0002.dcm', 'IMG0003.dcm'].map(
  (name) => `dcmqi/segmentations/24x38x3/image/${name}`,
);
const SLICES_23 = ['IMG0001.dcm', 'IMG0002.dcm', 'IMG0003.dcm'].map(
  (name) => `dcmqi/segmentations/23x38x3/image/${name}`,
);
// The first slice of CT2 lies 200 mm from the others, so the regular run is the last three.
const SLICES_CT2 = ['17136', '17166', '17196'].map((name) => `pydicom/dicomdirtests/77654033/CT2/${name}`);
const SLICES_3SLICE = ['01.dcm', '02.dcm', '03.dcm'].map((name) => `dcmqi/segmentations/ct-3slice/${name}`);
const SLICES_RT_UTILS = ['rt-utils/mock_data/ct_1.dcm', 'rt-utils/mock_data/ct_2.dcm'];

/** The seeds, chosen small (most under 100 kB) so that 1,000 inputs decode within a CI minute. */
export const FUZZ_SEEDS: readonly FuzzSeed[] = [
  // CT series: implicit and explicit VR, single- and multi-frame, native and compressed.
  { name: 'ct-24x38-first', target: 'series', file: SLICES_24[0]!, companions: SLICES_24.slice(1) },
  {
    name: 'ct-24x38-middle',
    target: 'series',
    file: SLICES_24[1]!,
    companions: [SLICES_24[0]!, SLICES_24[2]!],
  },
  {
    name: 'ct-ct2-middle',
    target: 'series',
    file: SLICES_CT2[1]!,
    companions: [SLICES_CT2[0]!, SLICES_CT2[2]!],
  },
  { name: 'ct-legacy-enhanced-23', target: 'series', file: 'dcmqi/segmentations/23x38x3/multiframe/mf.dcm' },
  { name: 'ct-legacy-enhanced-24', target: 'series', file: 'dcmqi/segmentations/24x38x3/multiframe/mf.dcm' },
  { name: 'ct-small', target: 'series', file: 'pydicom/CT_small.dcm' },
  { name: 'ct-highdicom', target: 'series', file: 'highdicom/ct_image.dcm' },
  { name: 'ct-23x38-last', target: 'series', file: SLICES_23[2]!, companions: SLICES_23.slice(0, 2) },
  { name: 'ct-j2k-lossy', target: 'series', file: 'pydicom/693_J2KI.dcm' },
  {
    name: 'ct-j2k-lossy-orthanc',
    target: 'series',
    file: 'orthanc-tests/TransferSyntaxes/1.2.840.10008.1.2.4.91.dcm',
  },
  {
    name: 'ct-jpeg-ls-near',
    target: 'series',
    file: 'orthanc-tests/TransferSyntaxes/1.2.840.10008.1.2.4.81.dcm',
  },
  {
    name: 'ct-jpeg-lossless',
    target: 'series',
    file: 'orthanc-tests/TransferSyntaxes/1.2.840.10008.1.2.4.70.dcm',
  },
  {
    name: 'ct-deflated',
    target: 'series',
    file: 'orthanc-tests/TransferSyntaxes/1.2.840.10008.1.2.1.99.dcm',
  },

  // Pixel decoders on images of other modalities.
  { name: 'px-mr-rle', target: 'pixels', file: 'pydicom/MR_small_RLE.dcm' },
  { name: 'px-mr-j2k', target: 'pixels', file: 'pydicom/MR_small_jp2klossless.dcm' },
  { name: 'px-mr-jpeg-ls', target: 'pixels', file: 'pydicom/MR_small_jpeg_ls_lossless.dcm' },
  { name: 'px-mr-big-endian', target: 'pixels', file: 'pydicom/MR_small_bigendian.dcm' },
  { name: 'px-mr-implicit', target: 'pixels', file: 'pydicom/MR_small_implicit.dcm' },
  { name: 'px-jpeg-ls-8', target: 'pixels', file: 'pydicom-data/JLSL_08_07_0_1F.dcm' },
  { name: 'px-jpeg-ls-16-signed', target: 'pixels', file: 'pydicom-data/JLSL_16_15_1_1F.dcm' },
  { name: 'px-jpeg-ls-near-16', target: 'pixels', file: 'pydicom/JPEGLSNearLossless_16.dcm' },
  { name: 'px-jpeg-extended', target: 'pixels', file: 'pydicom/JPEG-lossy.dcm' },
  { name: 'px-emri-rle', target: 'pixels', file: 'pydicom-data/emri_small_RLE.dcm' },
  { name: 'px-seg-rle', target: 'pixels', file: 'pydicom-data/liver_rle.dcm' },
  { name: 'px-seg-j2k', target: 'pixels', file: 'pydicom-data/liver_nonbyte_aligned_j2k.dcm' },

  // Segmentations on their CT series.
  { name: 'seg-24x38', target: 'seg', file: 'dcmqi/segmentations/24x38x3/seg/label.seg', series: SLICES_24 },
  {
    name: 'seg-23x38-unaligned',
    target: 'seg',
    file: 'dcmqi/segmentations/23x38x3/seg/label.seg',
    series: SLICES_23,
  },
  {
    name: 'seg-labelmap-noppv',
    target: 'seg',
    file: 'dcmqi/segmentations/sparse-labelmap-noppv.dcm',
    series: SLICES_24,
    segmentNumber: 1,
  },
  {
    name: 'seg-labelmap-ppv5',
    target: 'seg',
    file: 'dcmqi/segmentations/sparse-labelmap-ppv5.dcm',
    series: SLICES_24,
    segmentNumber: 1,
  },
  {
    name: 'seg-highdicom-binary',
    target: 'seg',
    file: 'highdicom/seg_image_ct_binary.dcm',
    series: SLICES_CT2,
  },
  {
    name: 'seg-highdicom-fractional',
    target: 'seg',
    file: 'highdicom/seg_image_ct_true_fractional.dcm',
    series: SLICES_CT2,
  },
  {
    name: 'seg-highdicom-overlap',
    target: 'seg',
    file: 'highdicom/seg_image_ct_binary_overlap.dcm',
    series: SLICES_CT2,
    segmentNumber: 1,
    // Frames of the segment lie on the CT2 slice 200 mm away, which is not in the series read.
    unmutatedCode: 'ERR_MASK_GEOMETRY',
  },
  {
    name: 'seg-highdicom-single',
    target: 'seg',
    file: 'highdicom/seg_image_ct_binary_single_frame.dcm',
    series: ['highdicom/ct_image.dcm'],
  },
  { name: 'seg-liver-deflate', target: 'seg', file: 'pydicom-data/liver_deflate.dcm', series: SLICES_3SLICE },
  { name: 'seg-liver-j2k', target: 'seg', file: 'pydicom-data/liver_j2k.dcm', series: SLICES_3SLICE },
  { name: 'seg-liver-rle', target: 'seg', file: 'pydicom-data/liver_rle.dcm', series: SLICES_3SLICE },

  // RT Structure Sets on their CT series.
  { name: 'rt-square-ring', target: 'rtstruct', file: 'rt-utils/mock_data/rt.dcm', series: SLICES_RT_UTILS },
  {
    name: 'rt-dangling-reference',
    target: 'rtstruct',
    file: 'rt-utils/mock_data/invalid_reference_rt.dcm',
    series: SLICES_RT_UTILS,
    segmentNumber: 1,
    unmutatedCode: 'ERR_RTSTRUCT_MALFORMED',
  },
];

/** Reads a shared DICOM file into an ArrayBuffer of its own. */
export function readSeedFile(relativePath: string): Uint8Array {
  const bytes = readFileSync(join(SHARED_DATA_DIR, 'dicom', relativePath));
  return new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/**
 * A target for tests of the pool itself, not of the product: the first input byte selects the
 * outcome (see {@link POOL_CHECK_BEHAVIOURS}).
 */
export const POOL_CHECK_SEED: FuzzSeed = { name: 'pool-check', target: 'pool-check', file: '' };

/** What the `pool-check` target does for first byte 0, 1, ... of its input. */
export const POOL_CHECK_BEHAVIOURS = [
  'return',
  'typed error',
  'TypeError',
  'endless loop',
  'abort',
  'heap exhaustion',
] as const;

/** Finds a seed by name; throws for an unknown name. */
export function seedNamed(name: string): FuzzSeed {
  const seed = [...FUZZ_SEEDS, POOL_CHECK_SEED].find((candidate) => candidate.name === name);
  if (seed === undefined) throw new Error(`no fuzz seed named ${name}`);
  return seed;
}

/** Decoded reference series and unmutated companion files, kept for the life of a worker. */
export class TargetCache {
  readonly #series = new Map<string, CtSeries>();
  readonly #files = new Map<string, ArrayBuffer>();

  file(relativePath: string): ArrayBuffer {
    let buffer = this.#files.get(relativePath);
    if (buffer === undefined) {
      buffer = readSeedFile(relativePath).buffer as ArrayBuffer;
      this.#files.set(relativePath, buffer);
    }
    return buffer;
  }

  series(paths: readonly string[]): CtSeries {
    const key = paths.join('|');
    let series = this.#series.get(key);
    if (series === undefined) {
      series = readCtSeries(paths.map((path) => this.file(path)));
      this.#series.set(key, series);
    }
    return series;
  }
}

/** Most frames decoded per `pixels` input: the first and the last. */
const PIXEL_FRAMES_READ = 2;

/**
 * Runs the entry point of `seed.target` on `bytes`. Resolves when the product accepted the input
 * and rejects with whatever it threw.
 */
export async function runTarget(seed: FuzzSeed, bytes: ArrayBuffer, cache: TargetCache): Promise<void> {
  switch (seed.target) {
    case 'series': {
      const companions = (seed.companions ?? []).map((path) => cache.file(path));
      await prepareCodecs([bytes]);
      readCtSeries([bytes, ...companions]);
      return;
    }
    case 'pixels': {
      await prepareCodecs([bytes]);
      const file = readDicomFile(bytes, 'Fuzz input');
      const format = readPixelFormat(file.dataset);
      const frames = [0, format.numberOfFrames - 1].slice(
        0,
        Math.min(PIXEL_FRAMES_READ, format.numberOfFrames),
      );
      for (const frame of frames) {
        if (format.bitsAllocated === 1 || format.bitsAllocated === 8) {
          decodeSegmentationFrame(file, format, frame, 'Fuzz input');
        }
        if (format.bitsAllocated !== 1) decodeFrameStoredValues(file, format, frame, 'Fuzz input');
      }
      return;
    }
    case 'seg': {
      const series = cache.series(seed.series ?? []);
      await prepareCodecs([bytes]);
      readSegMask(
        bytes,
        series,
        seed.segmentNumber === undefined ? {} : { segmentNumber: seed.segmentNumber },
      );
      return;
    }
    case 'rtstruct': {
      const series = cache.series(seed.series ?? []);
      readRtStructMask(
        bytes,
        series,
        seed.segmentNumber === undefined ? {} : { roiNumber: seed.segmentNumber },
      );
      return;
    }
    case 'pool-check':
      runPoolCheck(new Uint8Array(bytes)[0] ?? 0);
      return;
  }
}

function runPoolCheck(behaviour: number): void {
  switch (POOL_CHECK_BEHAVIOURS[behaviour]) {
    case 'typed error':
      throw new Nqo1Error('ERR_DICOM_MALFORMED', 'pool check: a typed error');
    case 'TypeError':
      throw new TypeError('pool check: an untyped error');
    case 'endless loop':
      for (;;) {
        // Spins until the pool's timeout kills the process.
      }
    case 'abort':
      process.abort();
      break;
    case 'heap exhaustion': {
      const retained: number[][] = [];
      for (;;) retained.push(Array.from({ length: 1e5 }, (_, i) => i + retained.length));
    }
    case 'return':
    case undefined:
      return;
  }
}
