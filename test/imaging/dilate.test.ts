/**
 * Physical-distance dilation: hand-checked shapes and equality with a brute-force reference that
 * measures distances between voxel centres in patient coordinates.
 */

import { createRandom } from '../../src/cli/demo/phantom.js';
import { describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { dilateMaskMm, ringMask, structuringElement } from '../../src/imaging/dilate.js';
import { countLabel, voxelCentreMm, voxelIndex } from '../../src/imaging/volume.js';

import type { Grid, MaskVolume, Vec3 } from '../../src/imaging/volume.js';

const IDENTITY_AXES: Grid['axes'] = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
];

function grid(dimensions: Vec3, spacingMm: Vec3, axes: Grid['axes'] = IDENTITY_AXES): Grid {
  return { dimensions, spacingMm, originMm: [-12.5, 40, 7.25], axes };
}

function singleVoxelMask(onGrid: Grid, i: number, j: number, k: number): MaskVolume {
  const voxels = new Uint8Array(onGrid.dimensions[0] * onGrid.dimensions[1] * onGrid.dimensions[2]);
  voxels[voxelIndex(onGrid, i, j, k)] = 1;
  return { grid: onGrid, voxels };
}

/** Reference dilation: every voxel within r of any mask voxel, comparing patient-space centres. */
function bruteForceDilation(mask: MaskVolume, radiusMm: number): Uint8Array {
  const [nx, ny, nz] = mask.grid.dimensions;
  const centres: Vec3[] = [];
  const tumour: Vec3[] = [];
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const centre = voxelCentreMm(mask.grid, i, j, k);
        centres.push(centre);
        if (mask.voxels[voxelIndex(mask.grid, i, j, k)] !== 0) tumour.push(centre);
      }
    }
  }
  // Same slack on r² as the implementation documents, so that points exactly on the sphere count.
  const limit = radiusMm * radiusMm * (1 + 1e-9);
  return Uint8Array.from(centres, (centre) =>
    tumour.some((point) => {
      const dx = centre[0] - point[0];
      const dy = centre[1] - point[1];
      const dz = centre[2] - point[2];
      return dx * dx + dy * dy + dz * dz <= limit;
    })
      ? 1
      : 0,
  );
}

/** Returns an orthonormal basis rotated about an oblique axis, so the grid is not aligned with patient axes. */
function rotatedAxes(): Grid['axes'] {
  const angle = 0.61;
  const [x, y, z] = [1 / Math.sqrt(3), 1 / Math.sqrt(3), 1 / Math.sqrt(3)];
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const t = 1 - c;
  return [
    [t * x * x + c, t * x * y + s * z, t * x * z - s * y],
    [t * x * y - s * z, t * y * y + c, t * y * z + s * x],
    [t * x * z + s * y, t * y * z - s * x, t * z * z + c],
  ];
}

describe('dilateMaskMm', () => {
  it('single voxel, 1 mm grid, r = 3 mm: 123 voxels', () => {
    let latticePoints = 0;
    for (let dz = -3; dz <= 3; dz++) {
      for (let dy = -3; dy <= 3; dy++) {
        for (let dx = -3; dx <= 3; dx++) if (dx * dx + dy * dy + dz * dz <= 9) latticePoints++;
      }
    }
    const onGrid = grid([9, 9, 9], [1, 1, 1]);
    const dilated = dilateMaskMm(singleVoxelMask(onGrid, 4, 4, 4), 3);

    expect(latticePoints).toBe(123);
    expect(countLabel(dilated)).toBe(latticePoints);
    expect(Array.from(dilated.voxels)).toEqual(
      Array.from(bruteForceDilation(singleVoxelMask(onGrid, 4, 4, 4), 3)),
    );
  });

  it('5 mm slices: in-plane growth only', () => {
    const onGrid = grid([13, 13, 5], [0.8, 0.8, 5]);
    const dilated = dilateMaskMm(singleVoxelMask(onGrid, 6, 6, 2), 3);

    let inPlane = 0;
    for (let dj = -6; dj <= 6; dj++) {
      for (let di = -6; di <= 6; di++) if ((di * 0.8) ** 2 + (dj * 0.8) ** 2 <= 9) inPlane++;
    }
    const sliceSize = 13 * 13;
    for (let k = 0; k < 5; k++) {
      const count = dilated.voxels
        .subarray(k * sliceSize, (k + 1) * sliceSize)
        .reduce((sum, value) => sum + value, 0);
      expect({ k, count }).toEqual({ k, count: k === 2 ? inPlane : 0 });
    }
    expect(inPlane).toBe(45);
  });

  it('2.5 mm slices: neighbours get smaller discs', () => {
    const onGrid = grid([13, 13, 5], [0.8, 0.8, 2.5]);
    const mask = singleVoxelMask(onGrid, 6, 6, 2);
    const dilated = dilateMaskMm(mask, 3);

    const sliceSize = 13 * 13;
    const counts = [0, 1, 2, 3, 4].map((k) =>
      dilated.voxels.subarray(k * sliceSize, (k + 1) * sliceSize).reduce((sum, value) => sum + value, 0),
    );
    // Slices k = 1 and 3 are 2.5 mm away, leaving a disc of radius √(9 − 6.25) ≈ 1.66 mm there.
    let neighbourDisc = 0;
    for (let dj = -3; dj <= 3; dj++) {
      for (let di = -3; di <= 3; di++) if ((di * 0.8) ** 2 + (dj * 0.8) ** 2 <= 9 - 6.25) neighbourDisc++;
    }
    expect(counts).toEqual([0, neighbourDisc, 45, neighbourDisc, 0]);
    expect(Array.from(dilated.voxels)).toEqual(Array.from(bruteForceDilation(mask, 3)));
  });

  it.each([
    {
      name: 'anisotropic, rotated axes, r = 3 mm',
      spacing: [0.7, 0.9, 1.6] as Vec3,
      radius: 3,
      rotated: true,
    },
    {
      name: 'offsets exactly on the sphere, r = 2.4 mm',
      spacing: [0.8, 0.8, 0.8] as Vec3,
      radius: 2.4,
      rotated: false,
    },
    { name: 'thick slices, r = 3 mm', spacing: [0.75, 0.75, 3] as Vec3, radius: 3, rotated: true },
  ])('equals brute force on a random mask: $name', ({ spacing, radius, rotated }) => {
    const random = createRandom(20_231_009);
    const dimensions: Vec3 = [20, 18, 12];
    const onGrid = grid(dimensions, spacing, rotated ? rotatedAxes() : IDENTITY_AXES);
    const voxels = Uint8Array.from({ length: 20 * 18 * 12 }, () => (random() < 0.01 ? 1 : 0));
    // A solid block, wide enough that the middle of each face lies farther than r from its edges,
    // so missing stamps from any face would show. A voxel in a corner tests clipping.
    for (let k = 3; k < 9; k++) {
      for (let j = 3; j < 15; j++) for (let i = 3; i < 17; i++) voxels[voxelIndex(onGrid, i, j, k)] = 1;
    }
    voxels[voxelIndex(onGrid, 19, 17, 11)] = 2;
    const mask = { grid: onGrid, voxels };

    const dilated = dilateMaskMm(mask, radius);
    const reference = bruteForceDilation(mask, radius);
    let differences = 0;
    for (let index = 0; index < reference.length; index++)
      if (dilated.voxels[index] !== reference[index]) differences++;
    expect(differences).toBe(0);
    expect(countLabel(dilated)).toBeGreaterThan(countLabel(mask, 1));
  });

  it('equals brute force for random spacings and radii', () => {
    const random = createRandom(7_301);
    const dimensions: Vec3 = [14, 12, 9];
    for (let trial = 0; trial < 12; trial++) {
      // Spacings from 0.3 to 5 mm per axis and radii from 0.5 to 6 mm, so some radii are shorter
      // than one spacing and others span many voxels.
      const spacing: Vec3 = [0.3 + 4.7 * random(), 0.3 + 4.7 * random(), 0.3 + 4.7 * random()];
      const radius = 0.5 + 5.5 * random();
      const density = 0.005 + 0.05 * random();
      const onGrid = grid(dimensions, spacing, trial % 2 === 0 ? rotatedAxes() : IDENTITY_AXES);
      const mask = {
        grid: onGrid,
        voxels: Uint8Array.from({ length: 14 * 12 * 9 }, () => (random() < density ? 1 : 0)),
      };

      const dilated = dilateMaskMm(mask, radius);
      const reference = bruteForceDilation(mask, radius);
      let differences = 0;
      for (let index = 0; index < reference.length; index++)
        if (dilated.voxels[index] !== reference[index]) differences++;
      expect({ trial, spacing, radius, differences }).toEqual({ trial, spacing, radius, differences: 0 });
    }
  });

  it('returns a 0/1 copy at r = 0', () => {
    const onGrid = grid([3, 3, 3], [1, 1, 1]);
    const mask = singleVoxelMask(onGrid, 1, 1, 1);
    mask.voxels[0] = 5;
    const dilated = dilateMaskMm(mask, 0);
    expect(countLabel(dilated)).toBe(2);
    expect(dilated.voxels[0]).toBe(1);
  });

  it('rejects a negative or non-finite radius', () => {
    const mask = singleVoxelMask(grid([3, 3, 3], [1, 1, 1]), 1, 1, 1);
    for (const radius of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      let code: string | null = null;
      try {
        dilateMaskMm(mask, radius);
      } catch (error) {
        code = isNqo1Error(error) ? error.code : 'other';
      }
      expect({ radius, code }).toEqual({ radius, code: 'ERR_SETTINGS_INVALID' });
    }
  });

  it('rejects axes that are not orthonormal', () => {
    const skewed = grid(
      [3, 3, 3],
      [1, 1, 1],
      [
        [1, 0, 0],
        [0.5, Math.sqrt(0.75), 0],
        [0, 0, 1],
      ],
    );
    expect(() => dilateMaskMm(singleVoxelMask(skewed, 1, 1, 1), 1)).toThrow(/not orthonormal/);
  });
});

describe('structuringElement', () => {
  it('keeps offsets exactly on the sphere', () => {
    const element = structuringElement([0.8, 0.8, 0.8], 2.4);
    expect(element.reach).toEqual([3, 3, 3]);
    expect(element.offsets).toContainEqual([3, 0, 0]);
    expect(element.offsets).toContainEqual([0, 0, -3]);
  });
});

describe('ringMask', () => {
  it('removes the tumour from the dilated mask', () => {
    const onGrid = grid([9, 9, 9], [1, 1, 1]);
    const tumour = singleVoxelMask(onGrid, 4, 4, 4);
    tumour.voxels[voxelIndex(onGrid, 5, 4, 4)] = 1;
    const dilated = dilateMaskMm(tumour, 2);
    const ring = ringMask(dilated, tumour);

    expect(countLabel(ring)).toBe(countLabel(dilated) - 2);
    for (let index = 0; index < ring.voxels.length; index++) {
      if (tumour.voxels[index] === 1) expect(ring.voxels[index]).toBe(0);
    }
  });

  it('rejects masks on different grids', () => {
    const a = singleVoxelMask(grid([3, 3, 3], [1, 1, 1]), 1, 1, 1);
    const b = singleVoxelMask(grid([3, 3, 4], [1, 1, 1]), 1, 1, 1);
    expect(() => ringMask(a, b)).toThrow(/different grids/);
  });
});
