/**
 * The GLSZM builder against the flood fill it replaced (test/radiomics/support/glszm-flood-fill.ts).
 * The random boxes have 1 to 6 voxels per axis, so one-voxel-thick boxes along each axis occur.
 * They have random holes and bins 1..4, or 1..300 for the 32-bit copy, and run with and without
 * force2D along each axis. The two builders must give identical matrices.
 */
import { describe, expect, it } from 'vitest';

import type { Vec3 } from '../../src/imaging/volume.js';
import { buildGlszm } from '../../src/radiomics/glszm.js';
import type { TextureInput } from '../../src/radiomics/texture.js';
import { buildGlszmByFloodFill } from './support/glszm-flood-fill.js';

/** Returns deterministic uniform draws in [0, 1). */
function uniformSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Returns a random box of `size` with a random hole density and bins 1..levels, 0 in holes. */
function randomInput(
  uniform: () => number,
  size: Vec3,
  levels: number,
  force2D: boolean,
  force2Ddimension: number,
): TextureInput {
  const bins = new Int32Array(size[0] * size[1] * size[2]);
  const holeDensity = uniform() * 0.6;
  for (let index = 0; index < bins.length; index++) {
    if (uniform() < holeDensity) continue;
    bins[index] = 1 + Math.floor(uniform() * levels);
  }
  bins[Math.floor(uniform() * bins.length)] = levels;
  const histogram = new Float64Array(levels + 1);
  for (const bin of bins) histogram[bin]!++;
  return { bins, size, levelCount: levels, histogram, force2D, force2Ddimension, spacingMm: [1, 1, 1] };
}

const SETTINGS = [
  { force2D: false, force2Ddimension: 0 },
  { force2D: true, force2Ddimension: 0 },
  { force2D: true, force2Ddimension: 1 },
  { force2D: true, force2Ddimension: 2 },
] as const;

describe('buildGlszm against the flood fill', () => {
  for (const { force2D, force2Ddimension } of SETTINGS) {
    for (const levels of [1, 2, 4, 300]) {
      it(`matches on random boxes, force2D ${force2D} dimension ${force2Ddimension}, ${levels} levels`, () => {
        const uniform = uniformSource(1 + levels + 7 * force2Ddimension + (force2D ? 100 : 0));
        let zoneTotal = 0;
        for (let trial = 0; trial < 60; trial++) {
          const size: Vec3 = [
            1 + Math.floor(uniform() * 6),
            1 + Math.floor(uniform() * 6),
            1 + Math.floor(uniform() * 6),
          ];
          const input = randomInput(uniform, size, levels, force2D, force2Ddimension);
          const expected = buildGlszmByFloodFill(input);
          const actual = buildGlszm(input);
          expect(actual.grayLevels).toEqual(expected.grayLevels);
          expect(actual.zoneSizes).toEqual(expected.zoneSizes);
          expect(actual.counts).toEqual(expected.counts);
          expect(actual.zoneCount).toBe(expected.zoneCount);
          expect(actual.voxelCount).toBe(expected.voxelCount);
          zoneTotal += actual.zoneCount;
        }
        // The trials must produce zones at all, or the comparison above would prove nothing.
        expect(zoneTotal).toBeGreaterThan(60);
      });
    }
  }

  it('matches on a one-voxel box', () => {
    const input = randomInput(uniformSource(5), [1, 1, 1], 1, false, 0);
    expect(buildGlszm(input).counts).toEqual(Float64Array.from([1]));
    expect(buildGlszmByFloodFill(input).counts).toEqual(Float64Array.from([1]));
  });
});
