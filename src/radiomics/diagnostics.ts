/**
 * The `diagnostics_Image-original_*` and `diagnostics_Mask-original_*` values that pyradiomics 3.x
 * reports next to the features (its `generalinfo` module), computed from our volumes.
 *
 * - Hash: SHA-1 of the voxel array as little-endian samples of the stored type, i fastest. This is
 *   what SimpleITK's `Hash` computes over an image buffer. For the pyradiomics test volume brain1
 *   (int16 image, int32 label map) it reproduces the baseline hashes exactly. The mask is hashed as
 *   uint32 samples, because pyradiomics casts the mask to UInt32 before it describes it. An int32 or
 *   uint32 label map with non-negative labels has the same bytes either way.
 * - Mean, Minimum, Maximum: over every voxel of the image, not only the ROI.
 * - BoundingBox: SimpleITK's label bounding box, (i0, j0, k0, size_i, size_j, size_k) in voxels.
 * - VolumeNum: connected components of the label with 26-connectivity (SimpleITK's "fully connected").
 * - CenterOfMassIndex: mean voxel index (i, j, k) of the label; CenterOfMass: that continuous index
 *   mapped to patient coordinates (LPS, mm), as SimpleITK's TransformContinuousIndexToPhysicalPoint.
 */

import { createHash } from 'node:crypto';

import { Nqo1Error } from '../errors.js';
import type { Grid, Vec3 } from '../imaging/volume.js';

/** Sample types a volume can be hashed as, named as the NRRD and NIfTI readers name them. */
export type SampleType =
  'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float' | 'float32' | 'double' | 'float64';

/** Diagnostics of the image as read. */
export interface ImageDiagnostics {
  readonly hash: string;
  readonly dimensionality: string;
  readonly spacingMm: Vec3;
  readonly size: Vec3;
  readonly mean: number;
  readonly minimum: number;
  readonly maximum: number;
}

/** Diagnostics of the label map as read, for one label. */
export interface MaskDiagnostics {
  readonly hash: string;
  readonly spacingMm: Vec3;
  readonly size: Vec3;
  /** (i0, j0, k0, size_i, size_j, size_k); all zero when the label is absent. */
  readonly boundingBox: readonly [number, number, number, number, number, number];
  readonly voxelNum: number;
  readonly volumeNum: number;
  readonly centerOfMassIndex: Vec3;
  readonly centerOfMassMm: Vec3;
}

/** Typed-array constructor of each sample type; conversion follows ECMAScript (truncation, wrap-around). */
const ARRAY_TYPES = {
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  float: Float32Array,
  float32: Float32Array,
  double: Float64Array,
  float64: Float64Array,
} as const;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Encodes `values` as little-endian samples of `type`. */
export function encodeSamples(values: Float64Array | Uint8Array, type: SampleType): Uint8Array {
  const samples = ARRAY_TYPES[type].from(values);
  const bytes = new Uint8Array(samples.buffer);
  if (LITTLE_ENDIAN_HOST || samples.BYTES_PER_ELEMENT === 1) return bytes;
  // Big-endian host: reverse the bytes of each sample.
  const width = samples.BYTES_PER_ELEMENT;
  for (let start = 0; start < bytes.length; start += width) bytes.subarray(start, start + width).reverse();
  return bytes;
}

/** Returns `type` as a {@link SampleType}, or throws ERR_NOT_IMPLEMENTED for an unknown name. */
export function asSampleType(type: string): SampleType {
  const known: readonly string[] = [
    'int8',
    'uint8',
    'int16',
    'uint16',
    'int32',
    'uint32',
    'float',
    'float32',
    'double',
    'float64',
  ];
  if (known.includes(type)) return type as SampleType;
  throw new Nqo1Error(
    'ERR_NOT_IMPLEMENTED',
    `Sample type "${type}" cannot be hashed. Convert the volume to an integer or float type.`,
  );
}

/** SHA-1 in lower-case hex of `values` stored as little-endian `type` samples. */
export function volumeHash(values: Float64Array | Uint8Array, type: SampleType): string {
  return createHash('sha1').update(encodeSamples(values, type)).digest('hex');
}

/** Describes the image: hash of the stored samples, geometry and whole-image statistics. */
export function imageDiagnostics(
  image: { readonly grid: Grid; readonly voxels: Float64Array },
  type: SampleType,
): ImageDiagnostics {
  let sum = 0;
  let minimum = Infinity;
  let maximum = -Infinity;
  const voxels = image.voxels;
  for (let index = 0; index < voxels.length; index++) {
    const value = voxels[index]!;
    sum += value;
    if (value < minimum) minimum = value;
    if (value > maximum) maximum = value;
  }
  return {
    hash: volumeHash(image.voxels, type),
    dimensionality: '3D',
    spacingMm: image.grid.spacingMm,
    size: image.grid.dimensions,
    mean: sum / image.voxels.length,
    minimum,
    maximum,
  };
}

/**
 * Describes the voxels of a label map equal to `label`. Values are truncated to integers first, as
 * the UInt32 cast does.
 */
export function maskDiagnostics(
  labels: { readonly grid: Grid; readonly voxels: Float64Array | Uint8Array },
  label: number,
): MaskDiagnostics {
  const [nx, ny, nz] = labels.grid.dimensions;
  const inLabel = new Uint8Array(labels.voxels.length);
  const lower = [nx, ny, nz];
  const upper = [-1, -1, -1];
  const sumIndex = [0, 0, 0];
  let voxelNum = 0;
  const track = (axis: number, position: number): void => {
    if (position < lower[axis]!) lower[axis] = position;
    if (position > upper[axis]!) upper[axis] = position;
    sumIndex[axis]! += position;
  };
  let index = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, index++) {
        if (Math.trunc(labels.voxels[index]!) !== label) continue;
        inLabel[index] = 1;
        voxelNum++;
        track(0, i);
        track(1, j);
        track(2, k);
      }
    }
  }

  const centre: Vec3 =
    voxelNum === 0
      ? [NaN, NaN, NaN]
      : [sumIndex[0]! / voxelNum, sumIndex[1]! / voxelNum, sumIndex[2]! / voxelNum];
  return {
    hash: volumeHash(labels.voxels, 'uint32'),
    spacingMm: labels.grid.spacingMm,
    size: labels.grid.dimensions,
    boundingBox:
      voxelNum === 0
        ? [0, 0, 0, 0, 0, 0]
        : [
            lower[0]!,
            lower[1]!,
            lower[2]!,
            upper[0]! - lower[0]! + 1,
            upper[1]! - lower[1]! + 1,
            upper[2]! - lower[2]! + 1,
          ],
    voxelNum,
    volumeNum: countComponents26(inLabel, labels.grid.dimensions),
    centerOfMassIndex: centre,
    centerOfMassMm: continuousIndexToMm(labels.grid, centre),
  };
}

/** Maps a continuous voxel index to patient coordinates: origin + Σ index·spacing·axis. */
export function continuousIndexToMm(grid: Grid, index: Vec3): Vec3 {
  const point = [grid.originMm[0], grid.originMm[1], grid.originMm[2]];
  for (let axis = 0; axis < 3; axis++) {
    const step = index[axis]! * grid.spacingMm[axis]!;
    for (let c = 0; c < 3; c++) point[c]! += step * grid.axes[axis]![c]!;
  }
  return [point[0]!, point[1]!, point[2]!];
}

/** Counts the 26-connected components of the voxels set to 1, by flood fill with an explicit stack. */
export function countComponents26(voxels: Uint8Array, dimensions: Vec3): number {
  const [nx, ny, nz] = dimensions;
  const visited = new Uint8Array(voxels.length);
  const stack: number[] = [];
  let components = 0;
  for (let start = 0; start < voxels.length; start++) {
    if (voxels[start] !== 1 || visited[start] === 1) continue;
    components++;
    visited[start] = 1;
    stack.push(start);
    while (stack.length > 0) {
      const current = stack.pop()!;
      const i = current % nx;
      const j = Math.floor(current / nx) % ny;
      const k = Math.floor(current / (nx * ny));
      for (let dk = -1; dk <= 1; dk++) {
        const kk = k + dk;
        if (kk < 0 || kk >= nz) continue;
        for (let dj = -1; dj <= 1; dj++) {
          const jj = j + dj;
          if (jj < 0 || jj >= ny) continue;
          for (let di = -1; di <= 1; di++) {
            const ii = i + di;
            if (ii < 0 || ii >= nx) continue;
            const neighbour = ii + nx * (jj + ny * kk);
            if (voxels[neighbour] !== 1 || visited[neighbour] === 1) continue;
            visited[neighbour] = 1;
            stack.push(neighbour);
          }
        }
      }
    }
  }
  return components;
}
