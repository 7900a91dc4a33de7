/**
 * Copies of single-frame, 16-bit native CT files with the pixel data encoded as JPEG-LS lossless
 * (transfer syntax 1.2.840.10008.1.2.4.80) by the CharLS encoder of `bench/frame-encoders.ts`. The
 * decoded pixels equal those of the original file, since the encoding is lossless.
 */
import dcmjs from 'dcmjs';

import { encodeFrame } from '../../../bench/frame-encoders.js';

const JPEG_LS_LOSSLESS = '1.2.840.10008.1.2.4.80';

interface DcmjsElement {
  vr: string;
  Value: unknown[];
}

/** The part of the dcmjs 0.51.1 read and write API used here. */
interface DcmjsDict {
  meta: Record<string, DcmjsElement>;
  dict: Record<string, DcmjsElement>;
  write(): ArrayBuffer;
}

/** Number value of a US element, read from the dcmjs dictionary. */
function unsignedShort(dict: DcmjsDict, tag: string): number {
  const value = dict.dict[tag]?.Value[0];
  if (typeof value !== 'number') throw new Error(`element ${tag} is missing`);
  return value;
}

/**
 * Returns a JPEG-LS lossless copy of `file`. With `corrupt`, the encoded frame is replaced by as
 * many bytes of 0xFF, so the copy is a malformed JPEG-LS stream.
 */
export function jpegLsCopy(file: ArrayBuffer, options: { readonly corrupt?: boolean } = {}): ArrayBuffer {
  const read = (dcmjs.data.DicomMessage.readFile as (buffer: ArrayBuffer) => DcmjsDict)(file.slice(0));
  const pixelData = read.dict['7FE00010'];
  const native = pixelData?.Value[0];
  if (!(native instanceof ArrayBuffer)) throw new Error('the file has no native pixel data');

  const encoded = encodeFrame({ codec: 'jpegLs', near: 0 }, new Uint8Array(native), {
    width: unsignedShort(read, '00280011'),
    height: unsignedShort(read, '00280010'),
    bitsPerSample: 16,
    isSigned: unsignedShort(read, '00280103') === 1,
  });
  const frame = options.corrupt === true ? new Uint8Array(encoded.length).fill(0xff) : encoded.slice();
  read.dict['7FE00010'] = { vr: 'OB', Value: [frame.buffer] };
  read.meta['00020010'] = { vr: 'UI', Value: [JPEG_LS_LOSSLESS] };
  return read.write();
}
