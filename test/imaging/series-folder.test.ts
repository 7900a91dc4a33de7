/**
 * readCtSeriesFromFolder on folders a hospital file share can produce: broken links, link loops,
 * a large file that is not DICOM, and a damaged slice whose absence a gap error must explain.
 */

import { copyFile, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { readCtSeriesFromFolder } from '../../src/imaging/ct-series.js';
import { readInputFile } from '../../src/imaging/input-file.js';
import { CT_3SLICE_FILES } from '../support/shared-data.js';

import { syntheticCtSlice } from './build-dicom.js';

let folder = '';

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'nqo1-folder-'));
});

afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function copySlices(indices: readonly number[]): Promise<void> {
  for (const index of indices) {
    await copyFile(CT_3SLICE_FILES[index]!, join(folder, `0${index + 1}.dcm`));
  }
}

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  const error: unknown = await promise.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof Error)) throw new Error('expected an error');
  return error;
}

describe('readCtSeriesFromFolder on awkward folders', () => {
  it('skips a dangling link and a link loop', async () => {
    await copySlices([0, 1, 2]);
    await symlink(join(folder, 'absent.dcm'), join(folder, 'dangling'));
    await symlink(join(folder, 'loopB'), join(folder, 'loopA'));
    await symlink(join(folder, 'loopA'), join(folder, 'loopB'));

    const series = await readCtSeriesFromFolder(folder);

    expect(series.volume.grid.dimensions).toEqual([512, 512, 3]);
    expect(series.warnings).toEqual([
      '3 files in the folder were skipped as not readable DICOM Part 10 files: dangling, loopA, loopB.',
    ]);
  });

  it('skips a large file that is not DICOM without reading it', async () => {
    await copySlices([0, 1, 2]);
    // A sparse 3 GiB file: over the single-file limit, and over what readFile could load.
    const large = join(folder, 'zz-large.bin');
    await writeFile(large, '');
    await truncate(large, 3 * 2 ** 30);

    const series = await readCtSeriesFromFolder(folder);

    expect(series.volume.grid.dimensions).toEqual([512, 512, 3]);
  });

  it('names the skipped file when the slice it held is missing', async () => {
    // Five 3 × 2 axial slices 2 mm apart; the middle file is damaged and has lost its DICM prefix.
    const series = {
      studyInstanceUid: '2.25.601',
      seriesInstanceUid: '2.25.602',
      frameOfReferenceUid: '2.25.603',
      rows: 2,
      columns: 3,
      pixelSpacingMm: [0.5, 0.5] as const,
      orientation: [1, 0, 0, 0, 1, 0],
      rescaleSlope: 1,
      rescaleIntercept: -1024,
    };
    for (const [index, z] of [0, 2, 4, 6, 8].entries()) {
      const file = new Uint8Array(
        syntheticCtSlice(series, {
          sopInstanceUid: `2.25.61${index}`,
          positionMm: [0, 0, z],
          stored: new Int16Array(6),
        }),
      );
      if (index === 2) file[128] = 0x00;
      await writeFile(join(folder, `slice-${index}.dcm`), file);
    }

    const error = await errorOf(readCtSeriesFromFolder(folder));

    expect(isNqo1Error(error, 'ERR_SERIES_GEOMETRY')).toBe(true);
    expect(error.message).toContain('gap of 4.00 mm');
    expect(error.message).toContain('1 file in the folder was skipped');
    expect(error.message).toContain('slice-2.dcm');
  });
});

describe('readInputFile on paths that are not regular files', () => {
  it('rejects a folder', async () => {
    const error = await errorOf(readInputFile(folder, 'mask file'));
    expect(isNqo1Error(error, 'ERR_REQUEST_INVALID')).toBe(true);
    expect(error.message).toContain('is a folder, not a regular file');
  });

  it('rejects a named pipe without waiting on it', async () => {
    const fifo = join(folder, 'mask.fifo');
    execFileSync('mkfifo', [fifo]);
    const error = await errorOf(readInputFile(fifo, 'mask file'));
    expect(isNqo1Error(error, 'ERR_REQUEST_INVALID')).toBe(true);
    expect(error.message).toContain('a device, pipe or socket');
  });

  it('rejects a character device', async () => {
    const error = await errorOf(readInputFile('/dev/zero', 'mask file'));
    expect(isNqo1Error(error, 'ERR_REQUEST_INVALID')).toBe(true);
  });
});
