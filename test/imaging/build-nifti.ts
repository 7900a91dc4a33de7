/**
 * Writer of small NIfTI-1 and NIfTI-2 files for tests, following the nifti1.h and nifti2.h layouts.
 */
import { gzipSync } from 'node:zlib';

import type { Grid } from '../../src/imaging/volume.js';

/** Header fields a test sets; everything else is zero. */
export interface NiftiSpec {
  readonly version?: 1 | 2;
  readonly littleEndian?: boolean;
  /** dim[1..]: sizes along i, j, k (and more for rejected files). */
  readonly sizes: readonly number[];
  /** DT_* code: 2 uint8, 4 int16, 8 int32, 16 float32, 64 float64, 256 int8, 512 uint16, 768 uint32. */
  readonly datatype: number;
  readonly voxels: ArrayLike<number>;
  /** pixdim[0..3]; pixdim[0] is qfac. */
  readonly pixdim?: readonly [number, number, number, number];
  readonly qform?: {
    readonly b: number;
    readonly c: number;
    readonly d: number;
    readonly offset: readonly number[];
  };
  /** srow_x, srow_y, srow_z in RAS. */
  readonly sform?: readonly [readonly number[], readonly number[], readonly number[]];
  readonly sclSlope?: number;
  readonly sclInter?: number;
  /** xyzt_units; 2 (millimetres) by default. */
  readonly xyztUnits?: number;
  readonly magic?: string;
  readonly gzip?: boolean;
}

const BYTES: ReadonlyMap<number, number> = new Map([
  [2, 1],
  [4, 2],
  [8, 4],
  [16, 4],
  [64, 8],
  [256, 1],
  [512, 2],
  [768, 4],
  [128, 3],
]);

/** Returns the RAS srow rows of an LPS grid: column c is spacing[c] × axis c with x and y negated. */
export function sformOfGrid(grid: Grid): [number[], number[], number[]] {
  const row = (axis: number, sign: number): number[] => [
    sign * grid.axes[0][axis]! * grid.spacingMm[0],
    sign * grid.axes[1][axis]! * grid.spacingMm[1],
    sign * grid.axes[2][axis]! * grid.spacingMm[2],
    sign * grid.originMm[axis]!,
  ];
  return [row(0, -1), row(1, -1), row(2, 1)];
}

/** Builds the bytes of a single-file NIfTI volume. */
export function buildNifti(spec: NiftiSpec): Uint8Array {
  const version = spec.version ?? 1;
  const le = spec.littleEndian ?? true;
  const headerSize = version === 1 ? 348 : 540;
  const voxOffset = version === 1 ? 352 : 544;
  const sampleBytes = BYTES.get(spec.datatype) ?? 1;
  const bytes = new Uint8Array(voxOffset + spec.voxels.length * sampleBytes);
  const view = new DataView(bytes.buffer);
  const ascii = (offset: number, text: string): void => {
    bytes.set(new TextEncoder().encode(text), offset);
  };
  const pixdim = spec.pixdim ?? [1, 1, 1, 1];
  const dim = [spec.sizes.length, ...spec.sizes, ...Array<number>(7 - spec.sizes.length).fill(1)];

  view.setInt32(0, headerSize, le);
  if (version === 1) {
    dim.forEach((value, index) => {
      view.setInt16(40 + 2 * index, value, le);
    });
    view.setInt16(70, spec.datatype, le);
    view.setInt16(72, sampleBytes * 8, le);
    pixdim.forEach((value, index) => {
      view.setFloat32(76 + 4 * index, value, le);
    });
    view.setFloat32(108, voxOffset, le);
    view.setFloat32(112, spec.sclSlope ?? 1, le);
    view.setFloat32(116, spec.sclInter ?? 0, le);
    view.setUint8(123, spec.xyztUnits ?? 2);
    view.setInt16(252, spec.qform === undefined ? 0 : 1, le);
    view.setInt16(254, spec.sform === undefined ? 0 : 1, le);
    if (spec.qform !== undefined) {
      [spec.qform.b, spec.qform.c, spec.qform.d, ...spec.qform.offset].forEach((value, index) => {
        view.setFloat32(256 + 4 * index, value, le);
      });
    }
    spec.sform?.forEach((row, r) => {
      row.forEach((value, c) => {
        view.setFloat32(280 + 16 * r + 4 * c, value, le);
      });
    });
    ascii(344, spec.magic ?? 'n+1\0');
  } else {
    ascii(4, spec.magic ?? 'n+2\0\r\n\x1a\n');
    view.setInt16(12, spec.datatype, le);
    view.setInt16(14, sampleBytes * 8, le);
    dim.forEach((value, index) => {
      view.setBigInt64(16 + 8 * index, BigInt(value), le);
    });
    pixdim.forEach((value, index) => {
      view.setFloat64(104 + 8 * index, value, le);
    });
    view.setBigInt64(168, BigInt(voxOffset), le);
    view.setFloat64(176, spec.sclSlope ?? 1, le);
    view.setFloat64(184, spec.sclInter ?? 0, le);
    view.setInt32(344, spec.qform === undefined ? 0 : 1, le);
    view.setInt32(348, spec.sform === undefined ? 0 : 1, le);
    if (spec.qform !== undefined) {
      [spec.qform.b, spec.qform.c, spec.qform.d, ...spec.qform.offset].forEach((value, index) => {
        view.setFloat64(352 + 8 * index, value, le);
      });
    }
    spec.sform?.forEach((row, r) => {
      row.forEach((value, c) => {
        view.setFloat64(400 + 32 * r + 8 * c, value, le);
      });
    });
    view.setInt32(500, spec.xyztUnits ?? 2, le);
  }

  for (let index = 0; index < spec.voxels.length; index++) {
    const offset = voxOffset + index * sampleBytes;
    const value = spec.voxels[index]!;
    switch (spec.datatype) {
      case 2:
        view.setUint8(offset, value);
        break;
      case 256:
        view.setInt8(offset, value);
        break;
      case 4:
        view.setInt16(offset, value, le);
        break;
      case 512:
        view.setUint16(offset, value, le);
        break;
      case 8:
        view.setInt32(offset, value, le);
        break;
      case 768:
        view.setUint32(offset, value, le);
        break;
      case 16:
        view.setFloat32(offset, value, le);
        break;
      case 64:
        view.setFloat64(offset, value, le);
        break;
      default:
        break;
    }
  }
  return spec.gzip === true ? new Uint8Array(gzipSync(bytes)) : bytes;
}
