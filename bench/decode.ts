/**
 * Decode throughput and memory per transfer syntax, through the product's entry point
 * `decodeFrameStoredValues`.
 *
 * A synthetic 512 × 512 int16 CT series (air, a soft tissue body with lungs and a spine, Gaussian
 * noise of σ 12 HU) is made in memory and encoded per transfer syntax with the npm codecs' own
 * encoders. JPEG Baseline is 8-bit only, so it gets the series windowed to 8 bits (W 400, L 40).
 * The decode loop reads every frame once; throughput counts decoded bytes (2 bytes per pixel, 1 for
 * JPEG Baseline) per second. Peak memory is the largest RSS and ArrayBuffer total seen after each
 * frame, minus the value before the loop. The series has `BENCH_DECODE_SLICES` slices (default
 * 300, about 70 s with encoding). Throughput per slice does not depend on the count, but the
 * encoding time does.
 */

import { encapsulate, encodeFrame } from './frame-encoders.js';
import { DicomItem } from '../src/imaging/dicom-dataset.js';
import { decodeFrameStoredValues } from '../src/imaging/pixel-data.js';
import { ENCAPSULATED_TRANSFER_SYNTAXES, NATIVE_TRANSFER_SYNTAXES } from '../src/imaging/transfer-syntax.js';

import type { EncoderChoice } from './frame-encoders.js';
import type { DicomFile } from '../src/imaging/dicom-dataset.js';
import type { PixelFormat } from '../src/imaging/pixel-data.js';

const SIZE = 512;
const MB = 1024 * 1024;

export interface DecodeBenchRow {
  readonly syntax: string;
  readonly slices: number;
  readonly compressionRatio: number;
  readonly decodeMbPerSecond: number;
  readonly msPerSlice: number;
  readonly peakRssMb: number;
  readonly peakArrayBuffersMb: number;
}

/** One slice of the synthetic CT, stored values with RescaleIntercept −1024. */
function syntheticSlice(k: number, random: () => number): Int16Array {
  const values = new Int16Array(SIZE * SIZE);
  const centre = SIZE / 2;
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const dx = (x - centre) / 220;
      const dy = (y - centre) / (160 + 10 * Math.sin(k / 9));
      let hu = -1000;
      if (dx * dx + dy * dy < 1) hu = 40;
      const lung = Math.hypot(Math.abs(x - centre) - 95, (y - centre + 20) * 1.3);
      if (lung < 70) hu = -820;
      if (Math.hypot(x - centre, y - centre - 110) < 28) hu = 700;
      const noise = Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random()) * 12;
      values[y * SIZE + x] = Math.round(hu + noise) + 1024;
    }
  }
  return values;
}

/** A fixed-seed generator, so every run encodes the same series. */
function mulberry32(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function windowTo8Bit(slice: Int16Array): Uint8Array {
  const gray = new Uint8Array(slice.length);
  for (let p = 0; p < slice.length; p++) {
    const hu = slice[p]! - 1024;
    gray[p] = Math.max(0, Math.min(255, Math.round(((hu - (40 - 200)) / 400) * 255)));
  }
  return gray;
}

function fileOf(syntaxUid: string, pixelData: DicomFile['pixelData']): DicomFile {
  const transferSyntax =
    ENCAPSULATED_TRANSFER_SYNTAXES.get(syntaxUid) ?? NATIVE_TRANSFER_SYNTAXES.get(syntaxUid);
  if (transferSyntax === undefined) throw new Error(`unknown syntax ${syntaxUid}`);
  return { transferSyntax, dataset: new DicomItem({}, 'bench'), pixelData };
}

function measure(
  syntax: string,
  file: DicomFile,
  format: PixelFormat,
  compressedBytes: number,
): DecodeBenchRow {
  const bytesPerSample = format.bitsAllocated / 8;
  const decodedBytes = format.numberOfFrames * SIZE * SIZE * bytesPerSample;
  decodeFrameStoredValues(file, format, 0, 'warm-up');
  globalThis.gc?.();

  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakArrayBuffers = before.arrayBuffers;
  const start = performance.now();
  for (let frame = 0; frame < format.numberOfFrames; frame++) {
    decodeFrameStoredValues(file, format, frame, 'bench');
    const usage = process.memoryUsage();
    peakRss = Math.max(peakRss, usage.rss);
    peakArrayBuffers = Math.max(peakArrayBuffers, usage.arrayBuffers);
  }
  const seconds = (performance.now() - start) / 1000;

  return {
    syntax,
    slices: format.numberOfFrames,
    compressionRatio: decodedBytes / compressedBytes,
    decodeMbPerSecond: decodedBytes / MB / seconds,
    msPerSlice: (seconds * 1000) / format.numberOfFrames,
    peakRssMb: (peakRss - before.rss) / MB,
    peakArrayBuffersMb: (peakArrayBuffers - before.arrayBuffers) / MB,
  };
}

/** Encodes the synthetic series per transfer syntax and measures decoding. */
export function benchDecode(slices = Number(process.env.BENCH_DECODE_SLICES ?? 300)): DecodeBenchRow[] {
  const random = mulberry32(42);
  const series = Array.from({ length: slices }, (_, k) => syntheticSlice(k, random));
  const format16: PixelFormat = {
    rows: SIZE,
    columns: SIZE,
    numberOfFrames: slices,
    bitsAllocated: 16,
    bitsStored: 16,
    highBit: 15,
    pixelRepresentation: 1,
  };
  const rows: DecodeBenchRow[] = [];

  const native = new Uint8Array(slices * SIZE * SIZE * 2);
  series.forEach((slice, k) => {
    native.set(new Uint8Array(slice.buffer), k * SIZE * SIZE * 2);
  });
  rows.push(
    measure(
      'Explicit VR Little Endian (native)',
      fileOf('1.2.840.10008.1.2.1', { bytes: native, vr: 'OW' }),
      format16,
      native.length,
    ),
  );

  const info16 = { width: SIZE, height: SIZE, bitsPerSample: 16, isSigned: true } as const;
  const choices: [string, EncoderChoice][] = [
    ['1.2.840.10008.1.2.5', { codec: 'rle' }],
    ['1.2.840.10008.1.2.4.80', { codec: 'jpegLs', near: 0 }],
    ['1.2.840.10008.1.2.4.81', { codec: 'jpegLs', near: 2 }],
    ['1.2.840.10008.1.2.4.90', { codec: 'jpeg2000' }],
    ['1.2.840.10008.1.2.4.201', { codec: 'htj2k' }],
    ['1.2.840.10008.1.2.8.1', { codec: 'deflate' }],
  ];
  for (const [uid, choice] of choices) {
    const frames = series.map((slice) => encodeFrame(choice, new Uint8Array(slice.buffer), info16));
    const compressed = frames.reduce((total, frame) => total + frame.length, 0);
    const name = ENCAPSULATED_TRANSFER_SYNTAXES.get(uid)?.name ?? uid;
    const label = choice.codec === 'jpegLs' && choice.near > 0 ? `${name} (NEAR ${choice.near})` : name;
    rows.push(measure(label, fileOf(uid, encapsulate(uid, frames)), format16, compressed));
  }

  const format8: PixelFormat = {
    ...format16,
    bitsAllocated: 8,
    bitsStored: 8,
    highBit: 7,
    pixelRepresentation: 0,
  };
  const info8 = { width: SIZE, height: SIZE, bitsPerSample: 8, isSigned: false } as const;
  const jpegFrames = series.map((slice) =>
    encodeFrame({ codec: 'jpegBaseline', quality: 90 }, windowTo8Bit(slice), info8),
  );
  const jpegBytes = jpegFrames.reduce((total, frame) => total + frame.length, 0);
  const baseline = '1.2.840.10008.1.2.4.50';
  rows.push(
    measure(
      'JPEG Baseline 8-bit (quality 90)',
      fileOf(baseline, encapsulate(baseline, jpegFrames)),
      format8,
      jpegBytes,
    ),
  );
  return rows;
}
