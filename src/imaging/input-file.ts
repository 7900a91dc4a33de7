/**
 * Reading of one input file with a size limit checked before the file is loaded, so that an
 * oversized file fails with a typed error instead of exhausting memory.
 */

import { readFile, stat } from 'node:fs/promises';

import { Nqo1Error } from '../errors.js';

/**
 * Largest single input file: 1 GiB, far above one CT slice, a multi-frame CT of 1000 512 × 512
 * frames (500 MiB) or a label map volume.
 */
export const MAX_INPUT_FILE_BYTES = 2 ** 30;

/**
 * Reads a whole file after checking its size.
 *
 * @param description - names the file in messages, e.g. "mask file /data/seg.dcm"
 * @throws Nqo1Error ERR_NOT_FOUND when the file cannot be read; ERR_INPUT_TOO_LARGE when it is
 *   larger than `maxBytes`
 */
export async function readInputFile(
  path: string,
  description: string,
  maxBytes = MAX_INPUT_FILE_BYTES,
): Promise<Uint8Array> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    throw new Nqo1Error('ERR_NOT_FOUND', `The ${description} could not be read. Check the path.`, {
      cause: error,
    });
  }
  if (size > maxBytes) {
    throw new Nqo1Error(
      'ERR_INPUT_TOO_LARGE',
      `The ${description} has ${size} bytes, more than the limit of ${maxBytes} for one input file. ` +
        'Check that it is the intended file; an image series belongs in a folder of one file per slice.',
      { details: { bytes: size, maxBytes } },
    );
  }

  try {
    const buffer = await readFile(path);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    throw new Nqo1Error('ERR_NOT_FOUND', `The ${description} could not be read. Check the path.`, {
      cause: error,
    });
  }
}
