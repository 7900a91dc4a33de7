/**
 * Minimal reader for NumPy .npy files (format versions 1 and 2), enough for the float64 matrices
 * stored next to the pyradiomics baselines.
 */

export interface NpyArray {
  readonly shape: readonly number[];
  /** Values in storage order: C (last index fastest) or Fortran (first index fastest). */
  readonly data: Float64Array;
  readonly fortranOrder: boolean;
}

/** Returns the element at `indices`, whatever the storage order. */
export function npyAt(array: NpyArray, ...indices: number[]): number {
  let flat = 0;
  if (array.fortranOrder) {
    for (let axis = array.shape.length - 1; axis >= 0; axis--)
      flat = flat * array.shape[axis]! + indices[axis]!;
  } else {
    for (let axis = 0; axis < array.shape.length; axis++) flat = flat * array.shape[axis]! + indices[axis]!;
  }
  return array.data[flat]!;
}

/** Parses a little-endian float64 .npy file. */
export function readNpy(bytes: Uint8Array): NpyArray {
  const magic = String.fromCharCode(...bytes.subarray(1, 6));
  if (bytes[0] !== 0x93 || magic !== 'NUMPY') throw new Error('not a .npy file');

  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder('latin1').decode(bytes.subarray(headerStart, headerStart + headerLength));

  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr !== '<f8' || fortran === undefined || shapeText === undefined) {
    throw new Error(`unsupported .npy header ${header}`);
  }
  const shape = shapeText
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map(Number);

  const count = shape.reduce((product, extent) => product * extent, 1);
  const dataStart = headerStart + headerLength;
  const data = new Float64Array(count);
  for (let index = 0; index < count; index++) data[index] = view.getFloat64(dataStart + 8 * index, true);
  return { shape, data, fortranOrder: fortran === 'True' };
}
