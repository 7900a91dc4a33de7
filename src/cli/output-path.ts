/**
 * Checks of an output path given on the command line, before anything is computed: its folder
 * exists, and it is not one of the command's input files under any name.
 */
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { Nqo1Error } from '../errors.js';

/**
 * Requires the folder of `out` to exist and `out` to be none of `inputs`. An input is matched by
 * device and inode number as well as by path, so a symbolic or hard link to an input is caught.
 *
 * @param option - the option that named `out`, such as "--out", for the messages
 * @throws Nqo1Error ERR_NOT_FOUND for a missing folder; ERR_REQUEST_INVALID when `out` is an input
 */
export async function checkOutputPath(
  out: string,
  inputs: readonly (string | undefined)[],
  option = '--out',
): Promise<void> {
  const folder = dirname(resolve(out));
  const folderStat = await stat(folder).catch(() => null);
  if (folderStat === null || !folderStat.isDirectory()) {
    throw new Nqo1Error(
      'ERR_NOT_FOUND',
      `Folder ${folder} for ${option} does not exist. Create it or choose another path.`,
    );
  }

  const outStat = await stat(out).catch(() => null);
  for (const input of inputs) {
    if (input === undefined) continue;
    const samePath = resolve(input) === resolve(out);
    const inputStat = outStat === null ? null : await stat(input).catch(() => null);
    const sameFile =
      outStat !== null &&
      inputStat !== null &&
      inputStat.dev === outStat.dev &&
      inputStat.ino === outStat.ino;
    if (samePath || sameFile) {
      throw new Nqo1Error(
        'ERR_REQUEST_INVALID',
        `${option} ${out} is the input file ${input}, which writing the results would destroy. Choose a new file.`,
      );
    }
  }
}
