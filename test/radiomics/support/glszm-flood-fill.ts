/**
 * The GLSZM builder as it was before run-based labelling, kept as a reference for the property test
 * and the bench: region growing with an explicit stack over an 8-bit (or 32-bit) copy of the box
 * padded with zeros, visiting the neighbour offsets of `buildOffsets` at every zone voxel.
 */

import { buildOffsets } from '../../../src/radiomics/angles.js';
import { tabulateZones, type Glszm } from '../../../src/radiomics/glszm.js';
import { offsetReach, paddedBins, paddedIndex, paddedStride } from '../../../src/radiomics/padded-bins.js';
import type { TextureInput } from '../../../src/radiomics/texture.js';

/** Finds the zones by flood fill and tabulates them. */
export function buildGlszmByFloodFill(input: TextureInput): Glszm {
  const [sx, sy, sz] = input.size;
  const offsets = buildOffsets(input.size, [1], {
    bidirectional: true,
    force2D: input.force2D,
    force2Ddimension: input.force2Ddimension,
  });

  // A voxel is set to 0 once it joins a zone. Border voxels hold bin 0 and so never join a zone.
  const padded = paddedBins(input, offsetReach(offsets));
  const bins = input.levelCount < 2 ** 8 ? new Uint8Array(padded.bins) : padded.bins.slice();
  const strides = Int32Array.from(offsets, (offset) => paddedStride(padded, offset));
  const offsetCount = strides.length;
  const stack = new Int32Array(input.bins.length);
  const zoneLevels: number[] = [];
  const zoneSizes: number[] = [];

  for (let k = 0; k < sz; k++) {
    for (let j = 0; j < sy; j++) {
      const rowStart = paddedIndex(padded, 0, j, k);
      for (let seed = rowStart; seed < rowStart + sx; seed++) {
        const level = bins[seed]!;
        if (level === 0) continue;

        let top = 0;
        stack[top++] = seed;
        bins[seed] = 0;
        let zoneSize = 0;
        while (top > 0) {
          const current = stack[--top]!;
          zoneSize++;
          for (let a = 0; a < offsetCount; a++) {
            const neighbour = current + strides[a]!;
            if (bins[neighbour] !== level) continue;
            bins[neighbour] = 0;
            stack[top++] = neighbour;
          }
        }
        zoneLevels.push(level);
        zoneSizes.push(zoneSize);
      }
    }
  }

  return tabulateZones(input.histogram, zoneLevels, zoneSizes);
}
