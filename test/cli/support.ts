import { Writable } from 'node:stream';

/** A writable stream that keeps everything written to it as text. */
export class TextSink extends Writable {
  text = '';

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

/** Writes an uncompressed little-endian int16 NRRD volume with an identity LPS frame. */
export function nrrdBytes(
  dimensions: readonly [number, number, number],
  spacingMm: readonly [number, number, number],
  voxels: ArrayLike<number>,
): Uint8Array {
  const header = [
    'NRRD0004',
    'type: short',
    'dimension: 3',
    'space: left-posterior-superior',
    `sizes: ${dimensions.join(' ')}`,
    `space directions: (${spacingMm[0]},0,0) (0,${spacingMm[1]},0) (0,0,${spacingMm[2]})`,
    'kinds: domain domain domain',
    'endian: little',
    'encoding: raw',
    'space origin: (0,0,0)',
    '',
    '',
  ].join('\n');
  const data = Int16Array.from(voxels);
  const bytes = new Uint8Array(header.length + data.byteLength);
  bytes.set(new TextEncoder().encode(header), 0);
  bytes.set(new Uint8Array(data.buffer), header.length);
  return bytes;
}
