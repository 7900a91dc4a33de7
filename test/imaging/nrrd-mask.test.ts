/** NRRD label maps on the CT grid: the dcmqi label maps and grids altered in the test. */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { readCtSeriesFromFolder } from '../../src/imaging/ct-series.js';
import { maskFromNrrdOnGrid } from '../../src/imaging/nrrd-mask.js';
import { readNrrd } from '../../src/imaging/nrrd.js';
import { countLabel } from '../../src/imaging/volume.js';
import { SHARED_DATA_DIR } from '../support/shared-data.js';

import type { NrrdVolume } from '../../src/imaging/nrrd.js';
import type { Grid } from '../../src/imaging/volume.js';

const SEGMENTATIONS = join(SHARED_DATA_DIR, 'dicom/dcmqi/segmentations');

function readNrrdFile(path: string): NrrdVolume {
  return readNrrd(new Uint8Array(readFileSync(path)));
}

function errorOf(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error('expected an error, but the call succeeded');
}

describe('maskFromNrrdOnGrid', () => {
  let ctGrid: Grid;
  let liverSpine: NrrdVolume;

  beforeAll(async () => {
    ctGrid = (await readCtSeriesFromFolder(join(SEGMENTATIONS, 'ct-3slice'))).volume.grid;
    liverSpine = readNrrdFile(join(SEGMENTATIONS, 'liver_spine_seg.nrrd'));
  });

  it('selects one label of a label map on the CT grid', () => {
    let expectedSpine = 0;
    for (const value of liverSpine.voxels) if (value === 2) expectedSpine++;

    const spine = maskFromNrrdOnGrid(liverSpine, ctGrid, 2);
    expect(spine.grid).toBe(ctGrid);
    expect(countLabel(spine)).toBe(expectedSpine);
    expect(expectedSpine).toBeGreaterThan(0);
    for (let index = 0; index < spine.voxels.length; index++) {
      if (spine.voxels[index] === 1) expect(liverSpine.voxels[index]).toBe(2);
    }
  });

  it('accepts the 24x38x3 label map despite float rounding in its header', async () => {
    const series = await readCtSeriesFromFolder(join(SEGMENTATIONS, '24x38x3/image'));
    const nrrd = readNrrdFile(join(SEGMENTATIONS, '24x38x3/nrrd/label.nrrd'));
    expect(nrrd.grid.originMm[0]).not.toBe(series.volume.grid.originMm[0]);
    expect(countLabel(maskFromNrrdOnGrid(nrrd, series.volume.grid, 1))).toBeGreaterThan(0);
  });

  it('lists the labels present when the label is absent', () => {
    const error = errorOf(() => maskFromNrrdOnGrid(liverSpine, ctGrid, 7));
    expect(isNqo1Error(error, 'ERR_MASK_EMPTY')).toBe(true);
    expect(error.message).toContain('0, 1, 2');
  });

  it('calls an all-zero label map empty', () => {
    const allZero = { ...liverSpine, voxels: new Float64Array(liverSpine.voxels.length) };
    const error = errorOf(() => maskFromNrrdOnGrid(allZero, ctGrid, 1));
    expect(isNqo1Error(error, 'ERR_MASK_EMPTY')).toBe(true);
    expect(error.message).toContain('empty because no voxel is non-zero');
    expect(error.message).toContain('Check the segmentation');
    expect(error.message).not.toContain('Pass the label of the tumour');
  });

  it('accepts an origin 0.005 mm off', () => {
    const shifted = {
      ...liverSpine,
      grid: { ...liverSpine.grid, originMm: offsetOrigin(liverSpine.grid, 0.005) },
    };
    expect(countLabel(maskFromNrrdOnGrid(shifted, ctGrid, 1))).toBeGreaterThan(0);
  });

  it('resamples a label map shifted by one voxel along i', () => {
    // 0.6 of a voxel off: each CT voxel i takes label map index round(i − 0.6) = i − 1.
    const spacing = liverSpine.grid.spacingMm[0];
    const shifted = {
      ...liverSpine,
      grid: { ...liverSpine.grid, originMm: offsetOrigin(liverSpine.grid, 0.6 * spacing) },
    };
    const direct = maskFromNrrdOnGrid(liverSpine, ctGrid, 1);
    const mask = maskFromNrrdOnGrid(shifted, ctGrid, 1);
    expect(countLabel(mask)).toBe(countLabel(direct));
    let moved = 0;
    for (let index = 0; index < direct.voxels.length; index++) {
      if (direct.voxels[index] === 1 && mask.voxels[index + 1] === 1) moved++;
    }
    expect(moved).toBe(countLabel(direct));
  });

  it('refuses a label map mirrored off the image, naming both bounding boxes', () => {
    const mirrored = {
      ...liverSpine,
      grid: {
        ...liverSpine.grid,
        axes: [
          [-1, 0, 0],
          [0, 1, 0],
          [0, 0, -1],
        ] as Grid['axes'],
      },
    };
    const error = errorOf(() => maskFromNrrdOnGrid(mirrored, ctGrid, 1));
    expect(isNqo1Error(error, 'ERR_MASK_GEOMETRY')).toBe(true);
    expect(error.message).toContain('none lies inside the image');
    expect(error.message).toContain('(-235.199997, -226.800003, -128.690002) to');
  });
});

function offsetOrigin(grid: Grid, millimetres: number): Grid['originMm'] {
  return [grid.originMm[0] + millimetres, grid.originMm[1], grid.originMm[2]];
}
