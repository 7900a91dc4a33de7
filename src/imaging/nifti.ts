/**
 * Reader for NIfTI-1 and NIfTI-2 single-file volumes (.nii, and .nii.gz by gzip magic), following
 * the header layouts of nifti1.h and nifti2.h.
 *
 * Byte order comes from sizeof_hdr (348 for NIfTI-1, 540 for NIfTI-2, read in either order), and
 * the data starts at vox_offset. Datatypes uint8, int8, int16, uint16, int32, uint32, float32 and
 * float64 are read. When scl_slope is neither 0 nor NaN, values become `stored × scl_slope + scl_inter`.
 *
 * Orientation precedence: the sform (srow_x/y/z) when sform_code > 0, else the qform (quaternion
 * b, c, d, offsets, and qfac = −1 when pixdim[0] is −1, else 1) when qform_code > 0, else the
 * pixdim-only "method 1" grid (diagonal spacings, origin 0). NIfTI world coordinates are RAS+, so x
 * and y are negated to give DICOM LPS. The grid spacing is the length of each matrix column and the
 * axes its direction. Spatial units come from xyzt_units (metre, mm or micron; unknown means mm).
 */

import { constants, gunzipSync } from 'node:zlib';

import { Nqo1Error } from '../errors.js';

import { truncateInput } from './input-text.js';
import { GEOMETRY_TOLERANCE, dot, formatVector } from './slice-geometry.js';

import type { Grid, Vec3 } from './volume.js';

/** A decoded NIfTI volume, shaped like an NRRD volume so the label map readers take either. */
export interface NiftiVolume {
  readonly grid: Grid;
  /** Voxel values after scl_slope and scl_inter, as float64, i fastest. */
  readonly voxels: Float64Array;
  /** Name of the stored datatype, such as `int16` or `float32`. */
  readonly type: string;
  readonly version: 1 | 2;
  /** Header fields the geometry came from. */
  readonly orientationSource: 'sform' | 'qform' | 'pixdim';
}

interface Datatype {
  readonly name: string;
  readonly bytes: number;
  read(view: DataView, offset: number, littleEndian: boolean): number;
}

/** The DT_* codes of nifti1.h that this reader decodes. */
const DATATYPES: ReadonlyMap<number, Datatype> = new Map<number, Datatype>([
  [2, { name: 'uint8', bytes: 1, read: (v, o) => v.getUint8(o) }],
  [4, { name: 'int16', bytes: 2, read: (v, o, le) => v.getInt16(o, le) }],
  [8, { name: 'int32', bytes: 4, read: (v, o, le) => v.getInt32(o, le) }],
  [16, { name: 'float32', bytes: 4, read: (v, o, le) => v.getFloat32(o, le) }],
  [64, { name: 'float64', bytes: 8, read: (v, o, le) => v.getFloat64(o, le) }],
  [256, { name: 'int8', bytes: 1, read: (v, o) => v.getInt8(o) }],
  [512, { name: 'uint16', bytes: 2, read: (v, o, le) => v.getUint16(o, le) }],
  [768, { name: 'uint32', bytes: 4, read: (v, o, le) => v.getUint32(o, le) }],
]);

/**
 * Largest volume read, in voxels: 2^28 (268,435,456), the NRRD reader's limit. Each voxel takes 8
 * bytes once decoded, so a header cannot make the reader allocate more than 2 GiB plus its raw data.
 */
export const MAX_NIFTI_VOXELS = 2 ** 28;

/** Compressed bytes inflated to read the header of a .nii.gz before its size is known. */
const GZIP_HEADER_PREFIX_BYTES = 64 * 1024;

/** The header fields this reader uses, in NIfTI-1 or NIfTI-2 layout. */
interface Header {
  readonly version: 1 | 2;
  readonly littleEndian: boolean;
  readonly dim: readonly number[];
  readonly datatype: number;
  readonly pixdim: readonly number[];
  readonly voxOffset: number;
  readonly sclSlope: number;
  readonly sclInter: number;
  readonly xyztUnits: number;
  readonly qformCode: number;
  readonly sformCode: number;
  readonly quatern: readonly [number, number, number];
  readonly qoffset: Vec3;
  readonly srow: readonly [readonly number[], readonly number[], readonly number[]];
  readonly magic: string;
}

function malformed(field: string, problem: string): Nqo1Error {
  return new Nqo1Error(
    'ERR_NIFTI_MALFORMED',
    `NIfTI field "${field}": ${problem}. Check or re-export the NIfTI file.`,
    { details: { field } },
  );
}

/** Returns true when `bytes` starts with the gzip magic number 1f 8b. */
function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Decodes a NIfTI-1 or NIfTI-2 file held in memory, gzip-compressed or not, as one 3-D volume.
 *
 * @throws Nqo1Error ERR_NIFTI_MALFORMED naming the field that is invalid or unsupported, including
 *   more than three dimensions of size > 1 and sheared (non-orthogonal) axes;
 *   ERR_INPUT_TOO_LARGE when the header declares more than {@link MAX_NIFTI_VOXELS} voxels.
 */
export function readNifti(bytes: Uint8Array): NiftiVolume {
  const headerBytes = isGzip(bytes) ? inflatePrefix(bytes) : bytes;
  const header = parseHeader(headerBytes);

  const dimensions = spatialDimensions(header);
  const datatype = DATATYPES.get(header.datatype);
  if (datatype === undefined) {
    throw malformed(
      'datatype',
      `datatype code ${header.datatype} is not read; expected uint8, int8, int16, uint16, int32, uint32, float32 or float64`,
    );
  }
  const voxelTotal = dimensions[0] * dimensions[1] * dimensions[2];
  if (voxelTotal > MAX_NIFTI_VOXELS) {
    throw new Nqo1Error(
      'ERR_INPUT_TOO_LARGE',
      `NIfTI field "dim": ${dimensions.join(' × ')} declares ${voxelTotal} voxels, more than the ${MAX_NIFTI_VOXELS} ` +
        'this reader accepts. Crop the volume around the tumour.',
      { details: { field: 'dim', voxels: voxelTotal, maxVoxels: MAX_NIFTI_VOXELS } },
    );
  }
  const voxOffset = header.voxOffset;
  const minimumOffset = header.version === 1 ? 348 : 540;
  if (!Number.isInteger(voxOffset) || voxOffset < minimumOffset) {
    throw malformed('vox_offset', `expected an integer of at least ${minimumOffset}, got ${voxOffset}`);
  }
  const dataEnd = voxOffset + voxelTotal * datatype.bytes;
  const file = isGzip(bytes) ? inflateAll(bytes, dataEnd) : bytes;
  if (file.length < dataEnd) {
    throw malformed(
      'dim',
      `the data is too short: ${file.length} bytes, but vox_offset ${voxOffset} and dim need ${dataEnd}`,
    );
  }

  const { grid, source } = orientation(header, dimensions);
  const view = new DataView(file.buffer, file.byteOffset + voxOffset, voxelTotal * datatype.bytes);
  const scaled = header.sclSlope !== 0 && Number.isFinite(header.sclSlope);
  const slope = scaled ? header.sclSlope : 1;
  const intercept = scaled && Number.isFinite(header.sclInter) ? header.sclInter : 0;
  const voxels = new Float64Array(voxelTotal);
  for (let index = 0; index < voxelTotal; index++) {
    voxels[index] = datatype.read(view, index * datatype.bytes, header.littleEndian) * slope + intercept;
  }
  return { grid, voxels, type: datatype.name, version: header.version, orientationSource: source };
}

/** Inflates the start of a .nii.gz, enough for the header, without inflating the whole file. */
function inflatePrefix(bytes: Uint8Array): Uint8Array {
  try {
    return gunzipSync(bytes.subarray(0, GZIP_HEADER_PREFIX_BYTES), { finishFlush: constants.Z_SYNC_FLUSH });
  } catch (error) {
    throw new Nqo1Error(
      'ERR_NIFTI_MALFORMED',
      'NIfTI file: the gzip data could not be decompressed. Check or re-export the .nii.gz file.',
      { cause: error, details: { field: 'gzip' } },
    );
  }
}

/**
 * Inflates a .nii.gz to at most `declaredBytes`, the header plus the data its dim and datatype
 * declare. zlib stops with ERR_BUFFER_TOO_LARGE as soon as the output passes that limit, so a small
 * file that inflates to far more (a decompression bomb) is never held in memory.
 */
function inflateAll(bytes: Uint8Array, declaredBytes: number): Uint8Array {
  try {
    return gunzipSync(bytes, { maxOutputLength: Math.max(declaredBytes, 1) });
  } catch (error) {
    if (error instanceof RangeError && 'code' in error && error.code === 'ERR_BUFFER_TOO_LARGE') {
      throw new Nqo1Error(
        'ERR_NIFTI_MALFORMED',
        `NIfTI field "dim": the gzip data inflates to more than the ${declaredBytes} bytes that vox_offset, dim ` +
          'and datatype declare, so the header does not describe the data. Check or re-export the NIfTI file.',
        { cause: error, details: { field: 'dim', declaredBytes } },
      );
    }
    throw new Nqo1Error(
      'ERR_NIFTI_MALFORMED',
      'NIfTI file: the gzip data could not be decompressed. Check or re-export the .nii.gz file.',
      { cause: error, details: { field: 'gzip' } },
    );
  }
}

function parseHeader(bytes: Uint8Array): Header {
  if (bytes.length < 348) {
    throw malformed('sizeof_hdr', `the file has ${bytes.length} bytes, fewer than a NIfTI header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sizeLittle = view.getInt32(0, true);
  const sizeBig = view.getInt32(0, false);
  const littleEndian = sizeLittle === 348 || sizeLittle === 540;
  const size = littleEndian ? sizeLittle : sizeBig;
  if (size !== 348 && size !== 540) {
    throw malformed(
      'sizeof_hdr',
      `expected 348 (NIfTI-1) or 540 (NIfTI-2) in either byte order, got ${sizeLittle}`,
    );
  }
  return size === 348 ? parseNifti1(bytes, view, littleEndian) : parseNifti2(bytes, view, littleEndian);
}

function readMagic(bytes: Uint8Array, offset: number, length: number): string {
  return new TextDecoder('latin1').decode(bytes.subarray(offset, offset + length)).replace(/\0.*$/s, '');
}

/** Reads the nifti1.h layout (348 bytes). */
function parseNifti1(bytes: Uint8Array, view: DataView, le: boolean): Header {
  const magic = readMagic(bytes, 344, 4);
  checkMagic(magic, 'n+1', 'ni1');
  const shorts = (offset: number, count: number): number[] =>
    Array.from({ length: count }, (_, index) => view.getInt16(offset + 2 * index, le));
  const floats = (offset: number, count: number): number[] =>
    Array.from({ length: count }, (_, index) => view.getFloat32(offset + 4 * index, le));
  const quatern = floats(256, 3);
  const qoffset = floats(268, 3);
  return {
    version: 1,
    littleEndian: le,
    dim: shorts(40, 8),
    datatype: view.getInt16(70, le),
    pixdim: floats(76, 8),
    voxOffset: view.getFloat32(108, le),
    sclSlope: view.getFloat32(112, le),
    sclInter: view.getFloat32(116, le),
    xyztUnits: view.getUint8(123),
    qformCode: view.getInt16(252, le),
    sformCode: view.getInt16(254, le),
    quatern: [quatern[0]!, quatern[1]!, quatern[2]!],
    qoffset: [qoffset[0]!, qoffset[1]!, qoffset[2]!],
    srow: [floats(280, 4), floats(296, 4), floats(312, 4)],
    magic,
  };
}

/** Reads the nifti2.h layout (540 bytes, 64-bit dims and double-precision fields). */
function parseNifti2(bytes: Uint8Array, view: DataView, le: boolean): Header {
  if (bytes.length < 540)
    throw malformed('sizeof_hdr', `the file has ${bytes.length} bytes, fewer than a NIfTI-2 header`);
  const magic = readMagic(bytes, 4, 8);
  checkMagic(magic, 'n+2', 'ni2');
  const longs = (offset: number, count: number): number[] =>
    Array.from({ length: count }, (_, index) => Number(view.getBigInt64(offset + 8 * index, le)));
  const doubles = (offset: number, count: number): number[] =>
    Array.from({ length: count }, (_, index) => view.getFloat64(offset + 8 * index, le));
  const quatern = doubles(352, 3);
  const qoffset = doubles(376, 3);
  return {
    version: 2,
    littleEndian: le,
    dim: longs(16, 8),
    datatype: view.getInt16(12, le),
    pixdim: doubles(104, 8),
    voxOffset: Number(view.getBigInt64(168, le)),
    sclSlope: view.getFloat64(176, le),
    sclInter: view.getFloat64(184, le),
    xyztUnits: view.getInt32(500, le),
    qformCode: view.getInt32(344, le),
    sformCode: view.getInt32(348, le),
    quatern: [quatern[0]!, quatern[1]!, quatern[2]!],
    qoffset: [qoffset[0]!, qoffset[1]!, qoffset[2]!],
    srow: [doubles(400, 4), doubles(432, 4), doubles(464, 4)],
    magic,
  };
}

function checkMagic(magic: string, singleFile: string, pair: string): void {
  if (magic === singleFile) return;
  if (magic === pair) {
    // LIMITATION: a header/image pair (.hdr + .img, magic "ni1" or "ni2") is not read, because the
    // readers take one file. Reading the .img named beside the .hdr would lift this.
    throw malformed(
      'magic',
      `"${magic}" marks a .hdr/.img pair, which is not read; save the volume as one .nii file`,
    );
  }
  throw malformed('magic', `expected "${singleFile}", got "${truncateInput(magic)}"`);
}

/** Returns dim[1..3], rejecting more than three dimensions of size > 1. */
function spatialDimensions(header: Header): Vec3 {
  const rank = header.dim[0]!;
  if (!Number.isInteger(rank) || rank < 1 || rank > 7) {
    throw malformed('dim', `dim[0] must be 1 to 7, got ${rank}`);
  }
  const sizes = header.dim.slice(1, rank + 1);
  if (sizes.some((size) => !Number.isInteger(size) || size < 1)) {
    throw malformed('dim', `expected positive sizes, got ${sizes.join(' ')}`);
  }
  if (sizes.slice(3).some((size) => size > 1)) {
    // LIMITATION: time series and vector volumes (dim[4..7] > 1) are rejected, because an image or
    // mask of this product is one 3-D volume. Choosing one volume by an option would lift this.
    throw malformed(
      'dim',
      `the file has ${rank} dimensions (${sizes.join(' × ')}), but only one 3-D volume is read; save a single volume`,
    );
  }
  return [sizes[0] ?? 1, sizes[1] ?? 1, sizes[2] ?? 1];
}

/** Millimetres per spatial unit of xyzt_units (NIFTI_UNITS_METER, _MM, _MICRON; unknown is mm). */
function unitToMm(xyztUnits: number): number {
  const spatial = xyztUnits & 0x07;
  if (spatial === 1) return 1000;
  if (spatial === 3) return 0.001;
  return 1;
}

/** Builds the LPS grid from the sform, the qform or pixdim, in that order of precedence. */
function orientation(
  header: Header,
  dimensions: Vec3,
): { grid: Grid; source: NiftiVolume['orientationSource'] } {
  const toMm = unitToMm(header.xyztUnits);
  let columns: [Vec3, Vec3, Vec3];
  let offset: Vec3;
  let source: NiftiVolume['orientationSource'];

  if (header.sformCode > 0) {
    const [x, y, z] = header.srow;
    columns = [0, 1, 2].map((c) => [x[c]!, y[c]!, z[c]!] as Vec3) as [Vec3, Vec3, Vec3];
    offset = [x[3]!, y[3]!, z[3]!];
    source = 'sform';
  } else if (header.qformCode > 0) {
    const [b, c, d] = header.quatern;
    const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
    const qfac = header.pixdim[0] === -1 ? -1 : 1;
    const [dx, dy, dz] = [header.pixdim[1]!, header.pixdim[2]!, header.pixdim[3]!];
    // Rotation matrix of the unit quaternion (a, b, c, d), columns scaled by the voxel sizes.
    columns = [
      [(a * a + b * b - c * c - d * d) * dx, 2 * (b * c + a * d) * dx, 2 * (b * d - a * c) * dx],
      [2 * (b * c - a * d) * dy, (a * a + c * c - b * b - d * d) * dy, 2 * (c * d + a * b) * dy],
      [
        2 * (b * d + a * c) * dz * qfac,
        2 * (c * d - a * b) * dz * qfac,
        (a * a + d * d - c * c - b * b) * dz * qfac,
      ],
    ];
    offset = header.qoffset;
    source = 'qform';
  } else {
    const [dx, dy, dz] = [header.pixdim[1]!, header.pixdim[2]!, header.pixdim[3]!];
    columns = [
      [dx, 0, 0],
      [0, dy, 0],
      [0, 0, dz],
    ];
    offset = [0, 0, 0];
    source = 'pixdim';
  }

  const spacing: number[] = [];
  const axes: Vec3[] = [];
  for (const [index, column] of columns.entries()) {
    const length = Math.hypot(...column);
    if (!(length > 0) || !Number.isFinite(length)) {
      throw malformed(source === 'sform' ? 'srow' : 'pixdim', `axis ${'ijk'[index]} has length ${length}`);
    }
    spacing.push(length * toMm);
    // RAS to LPS: negate x and y. Adding 0 turns −0 into +0.
    axes.push([-column[0] / length + 0, -column[1] / length + 0, column[2] / length + 0]);
  }
  for (const [first, second] of [
    [0, 1],
    [0, 2],
    [1, 2],
  ] as const) {
    const cosine = dot(axes[first]!, axes[second]!);
    if (Math.abs(cosine) > GEOMETRY_TOLERANCE.orthonormality) {
      // LIMITATION: sheared grids are rejected, because the Grid type has orthogonal axes.
      // Resampling onto an orthogonal grid before export lifts this.
      throw malformed(
        source === 'sform' ? 'srow' : 'quatern',
        `axes ${'ijk'[first]} ${formatVector(axes[first]!)} and ${'ijk'[second]} ${formatVector(axes[second]!)} are ` +
          `not orthogonal (cosine ${cosine.toFixed(6)}), so the grid is sheared; resample it to an orthogonal grid`,
      );
    }
  }
  const grid: Grid = {
    dimensions,
    spacingMm: [spacing[0]!, spacing[1]!, spacing[2]!],
    originMm: [-offset[0] * toMm + 0, -offset[1] * toMm + 0, offset[2] * toMm + 0],
    axes: [axes[0]!, axes[1]!, axes[2]!],
  };
  return { grid, source };
}
