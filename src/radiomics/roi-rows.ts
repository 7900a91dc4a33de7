/**
 * The ROI part of each row of the texture box, shared by the builders that skip the empty ends of
 * the rows (GLRLM and NGTDM). Rows are numbered j + sy·k (j fastest); the ROI voxels of row r lie at
 * i in [lower[r], upper[r]), and lower[r] = upper[r] for a row without ROI voxels. Non-ROI voxels
 * may still occur inside that range.
 */

import type { TextureInput } from './texture.js';

/** Bounds along i of the ROI voxels of each box row. */
export interface RoiRows {
  /** Lowest i of an ROI voxel per row. */
  readonly lower: Int32Array;
  /** One past the highest i of an ROI voxel per row; equal to `lower` for an empty row. */
  readonly upper: Int32Array;
}

const cache = new WeakMap<Int32Array, RoiRows>();

/**
 * Returns the ROI part of each row of `input`, found once per bins array by scanning each row from
 * both ends up to its first and last ROI voxel.
 */
export function roiRows(input: TextureInput): RoiRows {
  const cached = cache.get(input.bins);
  if (cached !== undefined) return cached;

  const [sx, sy, sz] = input.size;
  const bins = input.bins;
  const lower = new Int32Array(sy * sz);
  const upper = new Int32Array(sy * sz);
  for (let row = 0; row < sy * sz; row++) {
    const from = sx * row;
    let low = 0;
    while (low < sx && bins[from + low] === 0) low++;
    let high = sx;
    while (high > low && bins[from + high - 1] === 0) high--;
    lower[row] = low;
    upper[row] = high;
  }

  const rows: RoiRows = { lower, upper };
  cache.set(input.bins, rows);
  return rows;
}
