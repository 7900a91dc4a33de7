/**
 * Speed paths of the engine against their plain definitions: the word-wise bounding-box scan and the
 * counting sort of integer intensities.
 */
import { describe, expect, it } from 'vitest';

import { sortedCopy } from '../../src/radiomics/firstorder.js';
import { labelBoundingBox } from '../../src/radiomics/roi.js';

/** Deterministic uniform draws in [0, 1). */
function uniformSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

/** Bounding box and count of `label` by a plain per-voxel loop. */
function plainBox(voxels: Uint8Array, [nx, ny, nz]: [number, number, number], label: number) {
  const lower = [nx, ny, nz];
  const upper = [-1, -1, -1];
  let voxelCount = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        if (voxels[i + nx * (j + ny * k)] !== label) continue;
        voxelCount++;
        [i, j, k].forEach((value, axis) => {
          lower[axis] = Math.min(lower[axis]!, value);
          upper[axis] = Math.max(upper[axis]!, value);
        });
      }
    }
  }
  return { lower, upper, voxelCount };
}

describe('labelBoundingBox', () => {
  it('matches a per-voxel scan on odd sizes and offsets', () => {
    const uniform = uniformSource(7);
    for (let trial = 0; trial < 200; trial++) {
      const dimensions: [number, number, number] = [
        1 + Math.floor(uniform() * 13),
        1 + Math.floor(uniform() * 7),
        1 + Math.floor(uniform() * 5),
      ];
      const length = dimensions[0] * dimensions[1] * dimensions[2];
      // Place the mask at a byte offset of 0 to 3 in its buffer, so both the aligned and the
      // byte-by-byte paths run.
      const shift = trial % 4;
      const voxels = new Uint8Array(new ArrayBuffer(length + 4), shift, length);
      const density = uniform() * 0.2;
      for (let index = 0; index < length; index++) {
        if (uniform() < density) voxels[index] = uniform() < 0.5 ? 1 : 2;
      }
      const box = labelBoundingBox(voxels, dimensions, 1);
      const expected = plainBox(voxels, dimensions, 1);
      expect(box.voxelCount).toBe(expected.voxelCount);
      if (expected.voxelCount > 0) {
        expect(box.lower).toEqual(expected.lower);
        expect(box.upper).toEqual(expected.upper);
      }
    }
  });

  it('finds one voxel in the last byte of a 512 × 512 × 3 mask', () => {
    const voxels = new Uint8Array(512 * 512 * 3);
    voxels[voxels.length - 1] = 1;
    expect(labelBoundingBox(voxels, [512, 512, 3], 1)).toEqual({
      lower: [511, 511, 2],
      upper: [511, 511, 2],
      voxelCount: 1,
    });
  });
});

describe('sortedCopy', () => {
  it('equals a comparison sort for integer HU values', () => {
    const uniform = uniformSource(11);
    const values = Float64Array.from({ length: 5000 }, () => Math.round(-1000 + 3000 * uniform()));
    expect(Array.from(sortedCopy(values))).toEqual(Array.from(Float64Array.from(values).sort()));
  });

  it('keeps −0 before +0 and fractional values in order', () => {
    const sorted = sortedCopy(Float64Array.from([3, 0, -0, 2.5, -1]));
    expect(Array.from(sorted)).toEqual([-1, -0, 0, 2.5, 3]);
    expect(Object.is(sorted[1], -0)).toBe(true);
  });
});
