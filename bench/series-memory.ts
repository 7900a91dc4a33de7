/**
 * Peak memory of reading a whole CT series from a folder. A synthetic 512 × 512 × 300 int16 series
 * is written as single-frame Part 10 files and read by `readCtSeriesFromFolder` in a child process.
 * Its peak resident set size (getrusage maxrss) is compared with the size of the decoded volume
 * (8-byte Hounsfield values); the target is a peak of at most about twice that size.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { newUid, writeCtSeries } from '../src/cli/demo/write-dicom.js';
import type { Grid } from '../src/imaging/volume.js';

const MB = 1024 * 1024;
const CHILD = fileURLToPath(new URL('./series-memory-child.ts', import.meta.url));

export interface SeriesMemoryRow {
  readonly slices: number;
  readonly fileMb: number;
  readonly volumeMb: number;
  /** Peak RSS of the reading process minus its RSS before reading, in MB. */
  readonly readPeakMb: number;
  readonly seconds: number;
}

/** Writes the synthetic series, reads it in a child process and returns the figures. */
export function benchSeriesMemory(slices = Number(process.env.BENCH_SERIES_SLICES ?? 300)): SeriesMemoryRow {
  const size = 512;
  const grid: Grid = {
    dimensions: [size, size, slices],
    spacingMm: [0.7, 0.7, 1.25],
    originMm: [-179, -179, 0],
    axes: [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ],
  };
  const voxels = new Float64Array(size * size * slices);
  for (let index = 0; index < voxels.length; index++) {
    const i = index % size;
    const j = Math.floor(index / size) % size;
    const inBody = (i - 256) ** 2 + (j - 256) ** 2 < 200 ** 2;
    voxels[index] = inBody ? 40 + ((index * 7919) % 23) : -1000;
  }
  const study = {
    studyInstanceUid: newUid(),
    frameOfReferenceUid: newUid(),
    studyDate: '20261204',
    accessionNumber: 'BENCH',
  };
  const series = writeCtSeries({ grid, voxels }, study);

  const folder = mkdtempSync(join(tmpdir(), 'nqo1-series-bench-'));
  try {
    let fileBytes = 0;
    series.files.forEach((file, k) => {
      writeFileSync(join(folder, `${String(k).padStart(4, '0')}.dcm`), file);
      fileBytes += file.length;
    });
    const output = execFileSync(process.execPath, ['--import', 'tsx', CHILD, folder], { encoding: 'utf8' });
    const measured = JSON.parse(output) as { rssBeforeMb: number; maxRssMb: number; seconds: number };
    return {
      slices,
      fileMb: fileBytes / MB,
      volumeMb: (voxels.length * 8) / MB,
      readPeakMb: measured.maxRssMb - measured.rssBeforeMb,
      seconds: measured.seconds,
    };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
