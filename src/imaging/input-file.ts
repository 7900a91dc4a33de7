/**
 * Reading of one input file with a size limit checked before the file is loaded, so that an
 * oversized file fails with a typed error instead of exhausting memory.
 */

import { open, readFile, stat } from 'node:fs/promises';

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
 * @throws Nqo1Error ERR_NOT_FOUND when the file cannot be read; ERR_REQUEST_INVALID when it is a
 *   folder, device, pipe or socket (whose size says nothing about what a read would return);
 *   ERR_INPUT_TOO_LARGE when it is larger than `maxBytes`
 */
export async function readInputFile(
  path: string,
  description: string,
  maxBytes = MAX_INPUT_FILE_BYTES,
): Promise<Uint8Array> {
  let size: number;
  try {
    const stats = await stat(path);
    if (!stats.isFile()) {
      throw new Nqo1Error(
        'ERR_REQUEST_INVALID',
        `The ${description} is ${stats.isDirectory() ? 'a folder' : 'a device, pipe or socket'}, not a regular file. ` +
          'Pass the path of the file itself.',
      );
    }
    size = stats.size;
  } catch (error) {
    if (error instanceof Nqo1Error) throw error;
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

/**
 * Reads at most the first `length` bytes of a regular file, for a format check before the whole
 * file is read. Returns null when the path cannot be opened or is not a regular file.
 */
export async function readFilePrefix(path: string, length: number): Promise<Uint8Array | null> {
  let handle;
  try {
    handle = await open(path, 'r');
    if (!(await handle.stat()).isFile()) return null;
    const prefix = new Uint8Array(length);
    const { bytesRead } = await handle.read(prefix, 0, length, 0);
    return prefix.subarray(0, bytesRead);
  } catch {
    return null;
  } finally {
    await handle?.close();
  }
}
