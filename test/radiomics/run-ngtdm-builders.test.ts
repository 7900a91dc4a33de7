/**
 * The GLRLM and NGTDM builders against the builders they replaced (test/radiomics/support), on many
 * small random boxes. The boxes have random gray levels (some bin numbers left empty), holes, one
 * voxel thick sides, force2D along each dimension, every weightingNorm and NGTDM distances other
 * than 1. The matrices must be identical, element for element. A box that one builder rejects must
 * be rejected by the other with the same error code.
 */
import { describe, expect, it } from 'vitest';

import { Nqo1Error } from '../../src/errors.js';
import type { Vec3 } from '../../src/imaging/volume.js';
import { buildGlrlm } from '../../src/radiomics/glrlm.js';
import { buildNgtdm } from '../../src/radiomics/ngtdm.js';
import type { WeightingNorm } from '../../src/radiomics/settings.js';
import type { TextureInput } from '../../src/radiomics/texture.js';
import { buildGlrlmReference } from './support/glrlm-reference.js';
import { buildNgtdmReference } from './support/ngtdm-reference.js';

/** Returns deterministic uniform draws in [0, 1). */
function uniformSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

const NORMS: readonly (WeightingNorm | undefined)[] = [
  undefined,
  'no_weighting',
  'infinity',
  'euclidean',
  'manhattan',
];

/**
 * Builds a random box of `size` whose ROI voxels take a random subset of the bins 1..levelCount, so
 * that some bins are empty, with holes at a random density.
 */
function randomInput(uniform: () => number, size: Vec3, levelCount: number, trial: number): TextureInput {
  const usedBins = Array.from(
    { length: 1 + Math.floor(uniform() * Math.min(levelCount, 12)) },
    () => 1 + Math.floor(uniform() * levelCount),
  );
  const bins = new Int32Array(size[0] * size[1] * size[2]);
  const holes = uniform() * 0.6;
  const smooth = uniform() < 0.5;
  for (let index = 0; index < bins.length; index++) {
    if (uniform() < holes) continue;
    // Half the boxes repeat the previous level often, so that long runs occur.
    const previous = bins[index - 1] ?? 0;
    bins[index] =
      smooth && previous > 0 && uniform() < 0.7
        ? previous
        : usedBins[Math.floor(uniform() * usedBins.length)]!;
  }
  bins[Math.floor(uniform() * bins.length)] = usedBins[0]!;
  const histogram = new Float64Array(levelCount + 1);
  for (const bin of bins) histogram[bin]!++;
  const norm = NORMS[trial % NORMS.length];
  return {
    bins,
    size,
    levelCount,
    histogram,
    force2D: trial % 7 === 3,
    force2Ddimension: Math.floor(trial / 7) % 3,
    spacingMm: [0.5 + uniform(), 0.5 + uniform(), 0.5 + 3 * uniform()],
    ...(norm === undefined ? {} : { weightingNorm: norm }),
  };
}

/** Draws a box size of 1..9 voxels per axis, one voxel thick along a random axis in a quarter of the trials. */
function randomSize(uniform: () => number): Vec3 {
  const size: [number, number, number] = [
    1 + Math.floor(uniform() * 9),
    1 + Math.floor(uniform() * 9),
    1 + Math.floor(uniform() * 6),
  ];
  if (uniform() < 0.25) size[Math.floor(uniform() * 3)] = 1;
  return size;
}

/** Returns the result of `build`, or the code of the Nqo1Error it throws. */
function outcome<T>(build: () => T): T | { code: string } {
  try {
    return build();
  } catch (error) {
    if (error instanceof Nqo1Error) return { code: error.code };
    throw error;
  }
}

/** Compares two outcomes element for element, matrices as plain arrays so that −0 and 0 differ. */
function expectSame(actual: unknown, expected: unknown): void {
  const plain = (value: unknown): unknown =>
    JSON.parse(
      JSON.stringify(value, (_key, item: unknown) =>
        ArrayBuffer.isView(item)
          ? Array.from(item as Float64Array, (x) => (Object.is(x, -0) ? '-0' : x))
          : item,
      ),
    );
  expect(plain(actual)).toEqual(plain(expected));
}

describe('GLRLM builder against the previous builder', () => {
  for (const levelCount of [2, 9, 300]) {
    it(`gives identical matrices on 400 random boxes, bins up to ${levelCount}`, () => {
      const uniform = uniformSource(levelCount * 7919);
      let built = 0;
      for (let trial = 0; trial < 400; trial++) {
        const input = randomInput(uniform, randomSize(uniform), levelCount, trial);
        const expected = outcome(() => buildGlrlmReference(input));
        expectSame(
          outcome(() => buildGlrlm(input)),
          expected,
        );
        if (!('code' in expected)) built++;
      }
      // Most boxes give a matrix; the rest exercise the rejection of a region too small.
      expect(built).toBeGreaterThan(300);
    });
  }

  it('matches on long runs and many levels', () => {
    const uniform = uniformSource(4242);
    const sizes: Vec3[] = [
      [300, 2, 2],
      [3, 290, 1],
      [2, 2, 270],
      [40, 30, 3],
    ];
    for (const [index, size] of sizes.entries()) {
      // Runs longer than 255 voxels and 256 or more occupied levels take the voxel-by-voxel paths.
      // 600 levels drawn over 870 to 3,600 voxels occupy more than 255 of them.
      for (const levelCount of [2, 600]) {
        const input = randomInput(uniform, size, levelCount, index);
        const wide = { ...input, bins: input.bins.map(() => 1 + Math.floor(uniform() * levelCount)) };
        const histogram = new Float64Array(levelCount + 1);
        for (const bin of wide.bins) histogram[bin]!++;
        if (levelCount === 600) expect(histogram.filter((count) => count > 0).length).toBeGreaterThan(255);
        // One level everywhere but a single voxel: runs as long as the box.
        const flat = { ...input, bins: input.bins.map(() => 1) };
        flat.bins[Math.floor(uniform() * flat.bins.length)] = levelCount;
        const flatHistogram = new Float64Array(levelCount + 1);
        for (const bin of flat.bins) flatHistogram[bin]!++;
        for (const case_ of [input, { ...wide, histogram }, { ...flat, histogram: flatHistogram }]) {
          expectSame(
            outcome(() => buildGlrlm(case_)),
            outcome(() => buildGlrlmReference(case_)),
          );
        }
      }
    }
  });
});

describe('NGTDM builder against the previous builder', () => {
  for (const distances of [[1], [2], [1, 3]]) {
    it(`gives identical matrices on 300 random boxes, distances ${distances.join(', ')}`, () => {
      const uniform = uniformSource(distances.length * 31 + distances[0]!);
      for (let trial = 0; trial < 300; trial++) {
        const levelCount = [2, 9, 300][trial % 3]!;
        const input = randomInput(uniform, randomSize(uniform), levelCount, trial);
        expectSame(buildNgtdm(input, distances), buildNgtdmReference(input, distances));
      }
    });
  }
});
