/**
 * The discretised bounding box surrounded by a border of zeros, for neighbour lookups without bounds
 * checks.
 *
 * A texture builder that visits the neighbours of each ROI voxel at infinity-norm distance ≤ d can
 * read them at fixed flat offsets in a box padded by d voxels on every side. A neighbour outside the
 * original box then reads 0, which every builder already treats as "not in the ROI". The values and
 * the visiting order stay those of the unpadded box, so every count is unchanged.
 */

import type { Offset } from './angles.js';
import type { TextureInput } from './texture.js';

/** Bins of the box with `pad` zero voxels added on each side of each axis. */
export interface PaddedBins {
  readonly bins: Int32Array;
  readonly pad: number;
  /** Voxel counts of the padded box along i, j and k. */
  readonly paddedSize: readonly [number, number, number];
}

const cache = new WeakMap<Int32Array, Map<number, PaddedBins>>();

/** Returns the bins of `input` padded by `pad` voxels; built once per bins array and pad. */
export function paddedBins(input: TextureInput, pad: number): PaddedBins {
  let byPad = cache.get(input.bins);
  if (byPad === undefined) {
    byPad = new Map();
    cache.set(input.bins, byPad);
  }
  const cached = byPad.get(pad);
  if (cached !== undefined) return cached;

  const [sx, sy, sz] = input.size;
  const px = sx + 2 * pad;
  const py = sy + 2 * pad;
  const pz = sz + 2 * pad;
  const bins = new Int32Array(px * py * pz);
  const source = input.bins;
  for (let k = 0; k < sz; k++) {
    for (let j = 0; j < sy; j++) {
      const from = sx * (j + sy * k);
      bins.set(source.subarray(from, from + sx), pad + px * (j + pad + py * (k + pad)));
    }
  }
  const padded: PaddedBins = { bins, pad, paddedSize: [px, py, pz] };
  byPad.set(pad, padded);
  return padded;
}

/** Flat index of box voxel (i, j, k) in the padded array. */
export function paddedIndex(padded: PaddedBins, i: number, j: number, k: number): number {
  const [px, py] = padded.paddedSize;
  const pad = padded.pad;
  return i + pad + px * (j + pad + py * (k + pad));
}

/** Flat index step of `offset` in the padded array. */
export function paddedStride(padded: PaddedBins, offset: Offset): number {
  const [px, py] = padded.paddedSize;
  return offset[0] + px * (offset[1] + py * offset[2]);
}

/** Largest infinity-norm length among `offsets` (0 for none). */
export function offsetReach(offsets: readonly Offset[]): number {
  let reach = 0;
  for (const [di, dj, dk] of offsets) reach = Math.max(reach, Math.abs(di), Math.abs(dj), Math.abs(dk));
  return reach;
}
