/**
 * Nearest-neighbour resampling of label maps onto an image grid, on generated grids whose expected
 * voxel counts follow from the geometry by hand.
 */

import { describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { maskFromNrrdOnGrid } from '../../src/imaging/nrrd-mask.js';
import { resampleLabels } from '../../src/imaging/mask-on-grid.js';
import { countLabel, voxelIndex } from '../../src/imaging/volume.js';

import type { NrrdVolume } from '../../src/imaging/nrrd.js';
import type { Grid, Vec3 } from '../../src/imaging/volume.js';

const AXES: Grid['axes'] = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
];

/** The image: 10 × 10 × 10 voxels of 1 mm, first voxel centre at the origin. */
const IMAGE: Grid = { dimensions: [10, 10, 10], spacingMm: [1, 1, 1], originMm: [0, 0, 0], axes: AXES };

/** Builds a label map on `grid` with label 1 in the box of voxel indices [from, to] (inclusive) per axis. */
function boxLabelMap(grid: Grid, from: Vec3, to: Vec3): NrrdVolume {
  const voxels = new Float64Array(grid.dimensions[0] * grid.dimensions[1] * grid.dimensions[2]);
  for (let k = from[2]; k <= to[2]; k++) {
    for (let j = from[1]; j <= to[1]; j++) {
      for (let i = from[0]; i <= to[0]; i++) voxels[voxelIndex(grid, i, j, k)] = 1;
    }
  }
  return { grid, voxels } as unknown as NrrdVolume;
}

function errorOf(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error('expected an error, but the call succeeded');
}

describe('maskFromNrrdOnGrid on another grid', () => {
  it('resamples a coarser mask: each 2 mm voxel covers 2 × 2 × 2 image voxels', () => {
    // Mask centres at 0.5 + 2a mm; image voxel i maps to (i − 0.5) / 2, which rounds to ⌊i / 2⌋.
    const coarse: Grid = {
      dimensions: [5, 5, 5],
      spacingMm: [2, 2, 2],
      originMm: [0.5, 0.5, 0.5],
      axes: AXES,
    };
    const mask = maskFromNrrdOnGrid(boxLabelMap(coarse, [1, 1, 1], [2, 2, 2]), IMAGE, 1);
    expect(mask.grid).toBe(IMAGE);
    expect(countLabel(mask)).toBe(64);
    expect(mask.voxels[voxelIndex(IMAGE, 2, 2, 2)]).toBe(1);
    expect(mask.voxels[voxelIndex(IMAGE, 5, 5, 5)]).toBe(1);
    expect(mask.voxels[voxelIndex(IMAGE, 6, 5, 5)]).toBe(0);
    expect(mask.voxels[voxelIndex(IMAGE, 1, 2, 2)]).toBe(0);
  });

  it('resamples a shifted mask by whole voxels', () => {
    // Mask voxel (a, b, c) lies on image voxel (a + 3, b − 2, c + 1).
    const shifted: Grid = { ...IMAGE, originMm: [3, -2, 1] };
    const mask = maskFromNrrdOnGrid(boxLabelMap(shifted, [4, 4, 4], [6, 6, 6]), IMAGE, 1);
    expect(countLabel(mask)).toBe(27);
    expect(mask.voxels[voxelIndex(IMAGE, 7, 2, 5)]).toBe(1);
    expect(mask.voxels[voxelIndex(IMAGE, 9, 4, 7)]).toBe(1);
  });

  it('refuses a mask partly outside the image', () => {
    // Mask j indices 1..3 land on image j = −1..1, so one of the three rows (9 voxels) lies outside.
    const shifted: Grid = { ...IMAGE, originMm: [3, -2, 1] };
    let message = '';
    try {
      maskFromNrrdOnGrid(boxLabelMap(shifted, [1, 1, 1], [3, 3, 3]), IMAGE, 1);
    } catch (error) {
      message = isNqo1Error(error, 'ERR_MASK_GEOMETRY') ? error.message : String(error);
    }
    expect(message).toContain('has 9 of its 27 voxels outside the image');
  });

  it('reads a mask stored with mirrored axes as the same physical region', () => {
    const mirrored: Grid = {
      ...IMAGE,
      originMm: [9, 9, 0],
      axes: [
        [-1, 0, 0],
        [0, -1, 0],
        [0, 0, 1],
      ],
    };
    // Mirrored index (a, b) is image index (9 − a, 9 − b).
    const mask = maskFromNrrdOnGrid(boxLabelMap(mirrored, [0, 0, 0], [1, 2, 0]), IMAGE, 1);
    expect(countLabel(mask)).toBe(6);
    expect(mask.voxels[voxelIndex(IMAGE, 9, 9, 0)]).toBe(1);
    expect(mask.voxels[voxelIndex(IMAGE, 8, 7, 0)]).toBe(1);
  });

  it('rounds a centre on a voxel boundary the same way despite header rounding', () => {
    const exact = resampleLabels(
      boxLabelMap({ ...IMAGE, originMm: [0.5, 0, 0] }, [2, 0, 0], [2, 9, 9]).voxels,
      { ...IMAGE, originMm: [0.5, 0, 0] },
      IMAGE,
    );
    for (const noise of [1e-7, -1e-7]) {
      const grid: Grid = { ...IMAGE, originMm: [0.5 + noise, 0, 0] };
      const labels = resampleLabels(boxLabelMap(grid, [2, 0, 0], [2, 9, 9]).voxels, grid, IMAGE);
      expect(Buffer.from(labels).equals(Buffer.from(exact))).toBe(true);
    }
    // Image i = 3 maps to mask index 2.5, which rounds up to 3; i = 2 maps to 1.5 → 2.
    expect(exact[voxelIndex(IMAGE, 2, 0, 0)]).toBe(1);
    expect(exact[voxelIndex(IMAGE, 3, 0, 0)]).toBe(0);
  });

  it('names both bounding boxes when the mask lies wholly outside the image', () => {
    const far: Grid = { ...IMAGE, originMm: [100, 0, 0] };
    const error = errorOf(() => maskFromNrrdOnGrid(boxLabelMap(far, [0, 0, 0], [1, 1, 1]), IMAGE, 1));
    expect(isNqo1Error(error, 'ERR_MASK_GEOMETRY')).toBe(true);
    expect(error.message).toContain('has 8 voxels in (100, 0, 0) to (101, 1, 1) mm');
    expect(error.message).toContain('span (0, 0, 0) to (9, 9, 9) mm');
  });

  it('refuses a one-voxel region, naming the count', () => {
    const error = errorOf(() => maskFromNrrdOnGrid(boxLabelMap(IMAGE, [4, 4, 4], [4, 4, 4]), IMAGE, 1));
    expect(isNqo1Error(error, 'ERR_ROI_TOO_SMALL')).toBe(true);
    expect(error.message).toContain('covers 1 voxel');
    expect(error.message).toContain('at least 2 voxels');
  });

  it('refuses a negative tolerance', () => {
    const shifted: Grid = { ...IMAGE, originMm: [0.3, 0, 0] };
    const error = errorOf(() =>
      maskFromNrrdOnGrid(boxLabelMap(shifted, [1, 1, 1], [2, 2, 2]), IMAGE, 1, { toleranceMm: -1 }),
    );
    expect(isNqo1Error(error, 'ERR_SETTINGS_INVALID')).toBe(true);
  });

  it('treats an origin within toleranceMm as the same grid', () => {
    // 0.6 mm off along i. By default the grids differ: image voxel i takes mask index
    // round(i − 0.6) = i − 1, so the box at mask i = 1..2 lands on image i = 2..3. With toleranceMm 1
    // the grids count as one and the voxels are copied: image i = 1..2.
    const shifted: Grid = { ...IMAGE, originMm: [0.6, 0, 0] };
    const labelMap = boxLabelMap(shifted, [1, 1, 1], [2, 2, 2]);
    const resampled = maskFromNrrdOnGrid(labelMap, IMAGE, 1);
    const copied = maskFromNrrdOnGrid(labelMap, IMAGE, 1, { toleranceMm: 1 });
    expect(countLabel(resampled)).toBe(8);
    expect(countLabel(copied)).toBe(8);
    expect(resampled.voxels[voxelIndex(IMAGE, 3, 1, 1)]).toBe(1);
    expect(resampled.voxels[voxelIndex(IMAGE, 1, 1, 1)]).toBe(0);
    expect(copied.voxels[voxelIndex(IMAGE, 1, 1, 1)]).toBe(1);
    expect(copied.voxels[voxelIndex(IMAGE, 3, 1, 1)]).toBe(0);
  });
});
