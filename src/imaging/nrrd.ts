/**
 * Reader for 3-D NRRD volumes with an attached header (NRRD0001–NRRD0005, Teem format definition).
 *
 * It reads the encodings raw, gzip and ascii, and the types int8 to uint32, float and double in
 * either byte order. Geometry comes from `sizes` with `space directions` and `space origin`, or from
 * `spacings` alone. The space may be LPS or RAS, and RAS is converted to LPS by negating the first two
 * coordinates. The grid axes are the normalised space directions and the spacing their lengths.
 * {@link readNrrdLayers} also reads 4-D files whose first axis is not spatial (3D Slicer's layered
 * `.seg.nrrd`), and returns the `key:=value` pairs of the header.
 *
 * LIMITATION: detached data files, bzip2 encoding, `line skip` and `byte skip` are not read, because no
 * NRRD this product receives (Slicer and pyradiomics exports) uses them. They raise
 * ERR_NRRD_MALFORMED naming the field; supporting them needs file access and a bzip2 decoder.
 */

import { gunzipSync } from 'node:zlib';

import { Nqo1Error } from '../errors.js';

import { truncateInput } from './input-text.js';
import type { Grid, MaskVolume, Vec3 } from './volume.js';

/** A decoded NRRD volume. */
export interface NrrdVolume {
  readonly grid: Grid;
  /** Voxel values converted to float64, i fastest. */
  readonly voxels: Float64Array;
  /** Canonical NRRD type of the stored samples, such as `int16` or `float`. */
  readonly type: string;
}

/**
 * A decoded NRRD file whose first axis may be non-spatial (`kinds: list ...`, direction `none`),
 * with its key/value pairs.
 */
export interface NrrdLayeredVolume {
  readonly grid: Grid;
  /** Samples as float64, the non-spatial axis fastest: `index = layer + layers·(i + nx·(j + ny·k))`. */
  readonly voxels: Float64Array;
  /** Canonical NRRD type of the stored samples. */
  readonly type: string;
  /** Size of the non-spatial first axis; 1 for a 3-D file. */
  readonly layers: number;
  /** The header's `key:=value` pairs, keys as written (case-sensitive). */
  readonly keyValues: ReadonlyMap<string, string>;
}

interface SampleType {
  readonly name: string;
  readonly bytes: number;
  read(view: DataView, offset: number, littleEndian: boolean): number;
}

const INT8: SampleType = { name: 'int8', bytes: 1, read: (v, o) => v.getInt8(o) };
const UINT8: SampleType = { name: 'uint8', bytes: 1, read: (v, o) => v.getUint8(o) };
const INT16: SampleType = { name: 'int16', bytes: 2, read: (v, o, le) => v.getInt16(o, le) };
const UINT16: SampleType = { name: 'uint16', bytes: 2, read: (v, o, le) => v.getUint16(o, le) };
const INT32: SampleType = { name: 'int32', bytes: 4, read: (v, o, le) => v.getInt32(o, le) };
const UINT32: SampleType = { name: 'uint32', bytes: 4, read: (v, o, le) => v.getUint32(o, le) };
const FLOAT: SampleType = { name: 'float', bytes: 4, read: (v, o, le) => v.getFloat32(o, le) };
const DOUBLE: SampleType = { name: 'double', bytes: 8, read: (v, o, le) => v.getFloat64(o, le) };

/** Every spelling of a type the NRRD format definition allows, mapped to its sample type. */
const SAMPLE_TYPES: ReadonlyMap<string, SampleType> = new Map([
  ...['signed char', 'int8', 'int8_t'].map((n) => [n, INT8] as const),
  ...['uchar', 'unsigned char', 'uint8', 'uint8_t'].map((n) => [n, UINT8] as const),
  ...['short', 'short int', 'signed short', 'signed short int', 'int16', 'int16_t'].map(
    (n) => [n, INT16] as const,
  ),
  ...['ushort', 'unsigned short', 'unsigned short int', 'uint16', 'uint16_t'].map(
    (n) => [n, UINT16] as const,
  ),
  ...['int', 'signed int', 'int32', 'int32_t'].map((n) => [n, INT32] as const),
  ...['uint', 'unsigned int', 'uint32', 'uint32_t'].map((n) => [n, UINT32] as const),
  ['float', FLOAT],
  ['double', DOUBLE],
]);

function malformed(field: string, problem: string): Nqo1Error {
  return new Nqo1Error(
    'ERR_NRRD_MALFORMED',
    `NRRD field "${field}": ${problem}. Check or re-export the NRRD file.`,
    {
      details: { field },
    },
  );
}

/**
 * Decodes an NRRD file held in memory.
 *
 * @throws Nqo1Error ERR_NRRD_MALFORMED naming the missing, invalid or unsupported field.
 */
export function readNrrd(bytes: Uint8Array): NrrdVolume {
  const volume = decodeNrrd(bytes, false);
  return { grid: volume.grid, voxels: volume.voxels, type: volume.type };
}

/**
 * Decodes an NRRD file that is 3-D, or 4-D with a non-spatial first axis, and returns its key/value
 * pairs too. The first axis of a 4-D file must have space direction `none` and a kind other than
 * `domain` or `space`, as 3D Slicer writes layered segmentations.
 *
 * @throws Nqo1Error ERR_NRRD_MALFORMED as {@link readNrrd} does.
 */
export function readNrrdLayers(bytes: Uint8Array): NrrdLayeredVolume {
  return decodeNrrd(bytes, true);
}

function decodeNrrd(bytes: Uint8Array, allowLayers: boolean): NrrdLayeredVolume {
  const { fields, keyValues, dataOffset } = parseHeader(bytes);

  const type = SAMPLE_TYPES.get(requireField(fields, 'type'));
  if (type === undefined)
    throw malformed('type', `unsupported type "${truncateInput(String(fields.get('type')))}"`);

  const dimension = requireField(fields, 'dimension');
  if (dimension !== '3' && !(allowLayers && dimension === '4')) {
    throw malformed(
      'dimension',
      `expected 3, got "${truncateInput(dimension)}", because only 3-D volumes are read` +
        (allowLayers ? ' (or 4-D with a non-spatial first axis)' : ''),
    );
  }
  const layered = dimension === '4';
  const sizes = parseSizes(requireField(fields, 'sizes'), layered ? 4 : 3);
  const layers = layered ? sizes[0]! : 1;
  const dimensions: Vec3 = layered ? [sizes[1]!, sizes[2]!, sizes[3]!] : [sizes[0]!, sizes[1]!, sizes[2]!];
  if (layered) checkListAxis(fields);
  const grid = parseGeometry(fields, dimensions, layered);

  for (const field of ['data file', 'datafile', 'line skip', 'lineskip', 'byte skip', 'byteskip']) {
    const value = fields.get(field);
    if (value !== undefined && !(field.includes('skip') && value === '0')) {
      throw malformed(
        field,
        'not supported by this reader, so save the volume as a single .nrrd with attached data',
      );
    }
  }

  const voxelTotal = layers * dimensions[0] * dimensions[1] * dimensions[2];
  const encoding = requireField(fields, 'encoding').toLowerCase();
  const payload = bytes.subarray(dataOffset);
  let voxels: Float64Array;
  if (encoding === 'ascii' || encoding === 'text' || encoding === 'txt') {
    voxels = decodeAscii(payload, voxelTotal);
  } else if (encoding === 'raw' || encoding === 'gzip' || encoding === 'gz') {
    const raw = encoding === 'raw' ? payload : gunzip(payload, declaredByteLength(sizes, type));
    voxels = decodeBinary(raw, voxelTotal, type, littleEndian(fields, type));
  } else {
    throw malformed(
      'encoding',
      `unsupported encoding "${truncateInput(encoding)}", expected raw, gzip or ascii`,
    );
  }
  return { grid, voxels, type: type.name, layers, keyValues };
}

/** Requires the first axis of a 4-D file to be non-spatial: kind not domain/space, direction none. */
function checkListAxis(fields: Map<string, string>): void {
  const firstKind = fields.get('kinds')?.split(/\s+/)[0]?.toLowerCase();
  if (firstKind === 'domain' || firstKind === 'space') {
    throw malformed(
      'kinds',
      `the first of 4 axes has kind "${firstKind}", but only a non-spatial first axis is read`,
    );
  }
  const directions = fields.get('space directions');
  if (directions !== undefined && !directions.trim().startsWith('none')) {
    throw malformed(
      'space directions',
      'the first of 4 axes must have direction "none" (a non-spatial axis)',
    );
  }
}

/**
 * Turns a decoded label volume into a binary mask of `label`. Values are truncated to integers first,
 * as pyradiomics' cast of the mask to UInt32 does, so a float label map of 1.0 still matches 1.
 */
export function maskFromLabelVolume(
  volume: { readonly grid: Grid; readonly voxels: Float64Array },
  label: number,
): MaskVolume {
  const voxels = new Uint8Array(volume.voxels.length);
  for (let index = 0; index < voxels.length; index++) {
    if (Math.trunc(volume.voxels[index]!) === label) voxels[index] = 1;
  }
  return { grid: volume.grid, voxels };
}

/** Splits the header into lower-case field names and values. The data starts after the blank line. */
function parseHeader(bytes: Uint8Array): {
  fields: Map<string, string>;
  keyValues: Map<string, string>;
  dataOffset: number;
} {
  const magic = new TextDecoder('latin1').decode(bytes.subarray(0, 8));
  if (!/^NRRD000[1-5]$/.test(magic))
    throw malformed('magic', `the file does not start with NRRD0001–NRRD0005`);

  const fields = new Map<string, string>();
  const keyValues = new Map<string, string>();
  let lineStart = 0;
  while (lineStart < bytes.length) {
    let lineEnd = bytes.indexOf(0x0a, lineStart);
    if (lineEnd < 0) lineEnd = bytes.length;
    let line = new TextDecoder('latin1').decode(bytes.subarray(lineStart, lineEnd));
    if (line.endsWith('\r')) line = line.slice(0, -1);
    lineStart = lineEnd + 1;

    if (line === '') return { fields, keyValues, dataOffset: lineStart };
    if (line.startsWith('#') || line.startsWith('NRRD')) continue;
    const keyValueSeparator = line.indexOf(':=');
    if (keyValueSeparator >= 0) {
      keyValues.set(line.slice(0, keyValueSeparator), line.slice(keyValueSeparator + 2));
      continue;
    }

    const separator = line.indexOf(': ');
    if (separator < 0)
      throw malformed('header', `line "${truncateInput(line)}" is neither "field: value" nor a comment`);
    fields.set(line.slice(0, separator).trim().toLowerCase(), line.slice(separator + 2).trim());
  }
  // A header without a blank line may still describe detached data.
  return { fields, keyValues, dataOffset: bytes.length };
}

function requireField(fields: Map<string, string>, name: string): string {
  const value = fields.get(name);
  if (value === undefined) throw malformed(name, 'missing');
  return value;
}

function parseSizes(text: string, count: number): readonly number[] {
  const sizes = text.split(/\s+/).map(Number);
  if (sizes.length !== count || sizes.some((size) => !Number.isInteger(size) || size < 1)) {
    throw malformed(
      'sizes',
      `expected ${count === 3 ? 'three' : count} positive integers, got "${truncateInput(text)}"`,
    );
  }
  return sizes;
}

function parseVector(field: string, text: string): Vec3 {
  const match = /^\(\s*([^,]+),([^,]+),([^,)]+)\)$/.exec(text.trim());
  const values = match === null ? [] : [match[1], match[2], match[3]].map((part) => Number(part));
  if (values.length !== 3 || values.some((value) => !Number.isFinite(value))) {
    throw malformed(field, `expected a vector "(x,y,z)" of finite numbers, got "${truncateInput(text)}"`);
  }
  return [values[0]!, values[1]!, values[2]!];
}

/** Builds the LPS grid from `space`, `space directions` and `space origin`, or from `spacings`. */
function parseGeometry(fields: Map<string, string>, dimensions: Vec3, layered: boolean): Grid {
  const directionsText = fields.get('space directions');
  if (directionsText === undefined) {
    const spacingsText = requireField(fields, 'spacings');
    const spacings = spacingsText
      .split(/\s+/)
      .slice(layered ? 1 : 0)
      .map(Number);
    if (spacings.length !== 3 || spacings.some((value) => !(value > 0) || !Number.isFinite(value))) {
      throw malformed('spacings', `expected three positive numbers, got "${truncateInput(spacingsText)}"`);
    }
    return {
      dimensions,
      spacingMm: [spacings[0]!, spacings[1]!, spacings[2]!],
      originMm: [0, 0, 0],
      axes: [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ],
    };
  }

  const space = requireField(fields, 'space').toLowerCase();
  let sign: Vec3;
  if (space === 'left-posterior-superior' || space === 'lps') sign = [1, 1, 1];
  else if (space === 'right-anterior-superior' || space === 'ras') sign = [-1, -1, 1];
  else throw malformed('space', `unsupported space "${truncateInput(space)}", expected LPS or RAS`);

  const vectorTexts = (directionsText.match(/\([^)]*\)|none/g) ?? []).slice(layered ? 1 : 0);
  if (vectorTexts.length !== 3) {
    throw malformed('space directions', `expected three vectors, got "${truncateInput(directionsText)}"`);
  }
  const spacing: number[] = [];
  const axes: Vec3[] = [];
  for (const vectorText of vectorTexts) {
    if (vectorText === 'none') throw malformed('space directions', 'a spatial axis has direction "none"');
    const [x, y, z] = parseVector('space directions', vectorText);
    const length = Math.hypot(x, y, z);
    if (!(length > 0))
      throw malformed('space directions', `zero-length vector "${truncateInput(vectorText)}"`);
    spacing.push(length);
    // Adding 0 turns the −0 that a sign flip of 0 gives into +0.
    axes.push([(sign[0] * x) / length + 0, (sign[1] * y) / length + 0, (sign[2] * z) / length + 0]);
  }

  const originText = fields.get('space origin');
  const origin = originText === undefined ? ([0, 0, 0] as Vec3) : parseVector('space origin', originText);
  return {
    dimensions,
    spacingMm: [spacing[0]!, spacing[1]!, spacing[2]!],
    originMm: [sign[0] * origin[0] + 0, sign[1] * origin[1] + 0, sign[2] * origin[2] + 0],
    axes: [axes[0]!, axes[1]!, axes[2]!],
  };
}

function littleEndian(fields: Map<string, string>, type: SampleType): boolean {
  const endian = fields.get('endian');
  if (endian === undefined) {
    if (type.bytes === 1) return true;
    throw malformed('endian', `missing, but it is required for ${type.name} samples`);
  }
  if (endian === 'little') return true;
  if (endian === 'big') return false;
  throw malformed('endian', `expected "little" or "big", got "${truncateInput(endian)}"`);
}

/**
 * Largest volume read, in voxels: 2^28 (268,435,456), for example 512 × 512 × 1024. Each voxel takes
 * 8 bytes once decoded, so this bounds a volume at 2 GiB plus its raw data, and a header cannot make
 * the reader allocate more.
 */
export const MAX_NRRD_VOXELS = 2 ** 28;

/**
 * Returns the byte count of the data that `sizes` and `type` declare: the product of the sizes
 * (a layered file counts each layer's samples) × bytes per sample.
 */
function declaredByteLength(sizes: readonly number[], type: SampleType): number {
  const voxels = sizes.reduce((product, size) => product * size, 1);
  if (voxels > MAX_NRRD_VOXELS) {
    throw malformed(
      'sizes',
      `sizes ${sizes.join(' ')} declare ${voxels} voxels, more than the ${MAX_NRRD_VOXELS} this reader ` +
        'accepts; crop the volume around the tumour',
    );
  }
  const byteLength = voxels * type.bytes;
  return byteLength;
}

/**
 * Inflates gzip data to at most `declaredBytes`. The limit stops a small file that inflates to far
 * more than its header declares (a decompression bomb) before it is held in memory, because zlib
 * raises ERR_BUFFER_TOO_LARGE as soon as the output would pass the limit.
 * Together with {@link MAX_NRRD_VOXELS} this bounds the memory a header can claim.
 */
function gunzip(payload: Uint8Array, declaredBytes: number): Uint8Array {
  try {
    return gunzipSync(payload, { maxOutputLength: declaredBytes });
  } catch (error) {
    if (isBufferTooLarge(error)) {
      throw new Nqo1Error(
        'ERR_NRRD_MALFORMED',
        `NRRD field "sizes": the gzip data inflates to more than the ${declaredBytes} bytes that sizes and ` +
          'type declare, so the header does not describe the data. Check or re-export the NRRD file.',
        { cause: error, details: { field: 'sizes', declaredBytes } },
      );
    }
    throw new Nqo1Error(
      'ERR_NRRD_MALFORMED',
      'NRRD field "encoding": the gzip data could not be decompressed. Check or re-export the NRRD file.',
      {
        cause: error,
        details: { field: 'encoding' },
      },
    );
  }
}

function isBufferTooLarge(error: unknown): boolean {
  return error instanceof RangeError && 'code' in error && error.code === 'ERR_BUFFER_TOO_LARGE';
}

function decodeBinary(raw: Uint8Array, voxelTotal: number, type: SampleType, little: boolean): Float64Array {
  const byteLength = voxelTotal * type.bytes;
  if (raw.length < byteLength) {
    throw malformed(
      'sizes',
      `the data is too short: ${raw.length} bytes, but sizes and type need ${byteLength}`,
    );
  }
  const view = new DataView(raw.buffer, raw.byteOffset, byteLength);
  const voxels = new Float64Array(voxelTotal);
  for (let index = 0; index < voxelTotal; index++)
    voxels[index] = type.read(view, index * type.bytes, little);
  return voxels;
}

function decodeAscii(payload: Uint8Array, voxelTotal: number): Float64Array {
  const tokens = new TextDecoder('latin1')
    .decode(payload)
    .trim()
    .split(/[\s,]+/);
  if (tokens.length < voxelTotal || tokens[0] === '') {
    throw malformed(
      'sizes',
      `the ascii data is too short: ${tokens[0] === '' ? 0 : tokens.length} values, but sizes need ${voxelTotal}`,
    );
  }
  const voxels = new Float64Array(voxelTotal);
  for (let index = 0; index < voxelTotal; index++) {
    const value = Number(tokens[index]);
    if (Number.isNaN(value) && tokens[index] !== 'nan' && tokens[index] !== 'NaN') {
      throw malformed(
        'encoding',
        `ascii value "${truncateInput(String(tokens[index]))}" at position ${index} is not a number`,
      );
    }
    voxels[index] = value;
  }
  return voxels;
}
