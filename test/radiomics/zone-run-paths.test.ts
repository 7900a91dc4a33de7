/**
 * The GLSZM and GLRLM builders against plain definitions on random boxes: zones found by a
 * breadth-first search with bounds checks over all 26 (or 8 in-plane) neighbours, and runs found by
 * walking each line of the box. Level counts below and above 256 run both the 8-bit and the 32-bit
 * cell paths.
 */
import { describe, expect, it } from 'vitest';

import type { Vec3 } from '../../src/imaging/volume.js';
import type { Offset } from '../../src/radiomics/angles.js';
import { buildGlrlm } from '../../src/radiomics/glrlm.js';
import { buildGlszm } from '../../src/radiomics/glszm.js';
import type { TextureInput } from '../../src/radiomics/texture.js';

/** Returns deterministic uniform draws in [0, 1). */
function uniformSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

/** Returns a random box whose ROI voxels take bins 1..levels (bin `levels` always occurs), 0 outside. */
function randomInput(uniform: () => number, levels: number, force2D: boolean): TextureInput {
  const size: Vec3 = [
    2 + Math.floor(uniform() * 9),
    2 + Math.floor(uniform() * 7),
    2 + Math.floor(uniform() * 5),
  ];
  const bins = new Int32Array(size[0] * size[1] * size[2]);
  const density = 0.3 + uniform() * 0.7;
  for (let index = 0; index < bins.length; index++) {
    if (uniform() >= density) continue;
    // Two levels dominate, so that zones and runs longer than one voxel occur.
    bins[index] = uniform() < 0.7 ? 1 + Math.floor(uniform() * 2) : 1 + Math.floor(uniform() * levels);
  }
  bins[0] = levels;
  const levelCount = levels;
  const histogram = new Float64Array(levelCount + 1);
  for (const bin of bins) histogram[bin]!++;
  return { bins, size, levelCount, histogram, force2D, force2Ddimension: 0, spacingMm: [1, 1, 1] };
}

/** Lists zone (level, size) pairs found by breadth-first search, sorted. */
function plainZones(input: TextureInput): string[] {
  const [sx, sy, sz] = input.size;
  const seen = new Uint8Array(input.bins.length);
  const zones: string[] = [];
  for (let seed = 0; seed < input.bins.length; seed++) {
    const level = input.bins[seed]!;
    if (level === 0 || seen[seed] === 1) continue;
    seen[seed] = 1;
    const queue = [seed];
    for (let head = 0; head < queue.length; head++) {
      const voxel = queue[head]!;
      const i = voxel % sx;
      const j = Math.floor(voxel / sx) % sy;
      const k = Math.floor(voxel / (sx * sy));
      for (let dk = input.force2D ? 0 : -1; dk <= (input.force2D ? 0 : 1); dk++) {
        for (let dj = -1; dj <= 1; dj++) {
          for (let di = -1; di <= 1; di++) {
            const [ni, nj, nk] = [i + di, j + dj, k + dk];
            if (ni < 0 || nj < 0 || nk < 0 || ni >= sx || nj >= sy || nk >= sz) continue;
            const neighbour = ni + sx * (nj + sy * nk);
            if (seen[neighbour] === 1 || input.bins[neighbour] !== level) continue;
            seen[neighbour] = 1;
            queue.push(neighbour);
          }
        }
      }
    }
    zones.push(`${level}:${queue.length}`);
  }
  return zones.sort();
}

/** Lists zone (level, size) pairs read back from the GLSZM, sorted. */
function matrixZones(input: TextureInput): string[] {
  const glszm = buildGlszm(input);
  const zones: string[] = [];
  glszm.grayLevels.forEach((level, row) => {
    glszm.zoneSizes.forEach((size, column) => {
      const count = glszm.counts[row * glszm.zoneSizes.length + column]!;
      for (let zone = 0; zone < count; zone++) zones.push(`${level}:${size}`);
    });
  });
  return zones.sort();
}

/** Lists run (level, length) pairs along `offset`, found by walking every line of the box, sorted. */
function plainRuns(input: TextureInput, [di, dj, dk]: Offset): string[] {
  const [sx, sy, sz] = input.size;
  const inside = (i: number, j: number, k: number) =>
    i >= 0 && j >= 0 && k >= 0 && i < sx && j < sy && k < sz;
  const runs: string[] = [];
  for (let k = 0; k < sz; k++) {
    for (let j = 0; j < sy; j++) {
      for (let i = 0; i < sx; i++) {
        if (inside(i - di, j - dj, k - dk)) continue;
        let [ci, cj, ck] = [i, j, k];
        let level = -1;
        let length = 0;
        while (inside(ci, cj, ck)) {
          const bin = input.bins[ci + sx * (cj + sy * ck)]!;
          if (bin !== level) {
            if (level > 0) runs.push(`${level}:${length}`);
            level = bin;
            length = 0;
          }
          length++;
          [ci, cj, ck] = [ci + di, cj + dj, ck + dk];
        }
        if (level > 0) runs.push(`${level}:${length}`);
      }
    }
  }
  return runs.sort();
}

/** Lists run (level, length) pairs of one kept direction read back from its matrix, sorted. */
function matrixRuns(grayLevels: Float64Array, maxRunLength: number, matrix: Float64Array): string[] {
  const runs: string[] = [];
  grayLevels.forEach((level, row) => {
    for (let length = 1; length <= maxRunLength; length++) {
      const count = matrix[row * maxRunLength + length - 1]!;
      for (let run = 0; run < count; run++) runs.push(`${level}:${length}`);
    }
  });
  return runs.sort();
}

describe('GLSZM zones and GLRLM runs on random boxes', () => {
  for (const levels of [3, 40, 300, 70_000]) {
    it(`match plain definitions, ${levels} levels`, () => {
      const uniform = uniformSource(levels);
      for (let trial = 0; trial < 40; trial++) {
        const input = randomInput(uniform, levels, trial % 5 === 4);
        expect(matrixZones(input)).toEqual(plainZones(input));

        const glrlm = buildGlrlm(input);
        expect(glrlm.angles.length).toBeGreaterThan(0);
        glrlm.angles.forEach((offset, a) => {
          expect(matrixRuns(glrlm.grayLevels, glrlm.maxRunLength, glrlm.counts[a]!)).toEqual(
            plainRuns(input, offset),
          );
        });
      }
    });
  }
});
