/**
 * Physical-distance dilation of a mask, for the peritumoral region.
 *
 * The dilated mask contains every voxel whose centre lies within `radiusMm` (Euclidean distance in
 * millimetres, from the grid spacing) of the centre of a mask voxel, the mask included. The grid
 * axes must be orthonormal, so that the distance between voxels (i, j, k) and (i+di, j+dj, k+dk) is
 * √((di·sx)² + (dj·sy)² + (dk·sz)²) wherever they are.
 */

import { Nqo1Error } from '../errors.js';

import { GEOMETRY_TOLERANCE, dot } from './slice-geometry.js';

import type { Grid, MaskVolume } from './volume.js';

/**
 * Relative slack on r² in the structuring element test, so that offsets exactly on the sphere
 * (such as 3 voxels of 1 mm for r = 3 mm, or 3 × 0.8 mm for r = 2.4 mm) stay inside despite
 * floating-point rounding: an offset is kept when d² ≤ r² · (1 + 1e-9).
 */
export const RADIUS_SQUARED_RELATIVE_SLACK = 1e-9;

/** Index offsets of an ellipsoidal structuring element. */
export interface StructuringElement {
  readonly offsets: readonly (readonly [number, number, number])[];
  /** Largest |di|, |dj|, |dk| among the offsets. */
  readonly reach: readonly [number, number, number];
}

/**
 * Lists the index offsets (di, dj, dk) with (di·sx)² + (dj·sy)² + (dk·sz)² ≤ r² · (1 + 1e-9).
 */
export function structuringElement(
  spacingMm: readonly [number, number, number],
  radiusMm: number,
): StructuringElement {
  const limit = radiusMm * radiusMm * (1 + RADIUS_SQUARED_RELATIVE_SLACK);
  const reach = spacingMm.map((spacing) => Math.floor(Math.sqrt(limit) / spacing)) as [
    number,
    number,
    number,
  ];
  const offsets: [number, number, number][] = [];
  for (let dk = -reach[2]; dk <= reach[2]; dk++) {
    for (let dj = -reach[1]; dj <= reach[1]; dj++) {
      for (let di = -reach[0]; di <= reach[0]; di++) {
        const x = di * spacingMm[0];
        const y = dj * spacingMm[1];
        const z = dk * spacingMm[2];
        if (x * x + y * y + z * z <= limit) offsets.push([di, dj, dk]);
      }
    }
  }
  return { offsets, reach };
}

/**
 * Dilates `mask` (non-zero voxels) by `radiusMm` and returns a 0/1 mask on the same grid.
 *
 * The result is the union of the structuring element placed on every mask voxel, clipped at the
 * volume edge. It is built row by row. The element is convex, so each of its rows (fixed dj, dk) is
 * one interval of di. A run of consecutive mask voxels along i, placed on that row, therefore covers
 * one interval of the target row. Only the bounding box of the mask is scanned.
 *
 * @throws Nqo1Error ERR_SETTINGS_INVALID for a negative or non-finite radius; ERR_MASK_GEOMETRY when
 *   the grid axes are not orthonormal.
 */
export function dilateMaskMm(mask: MaskVolume, radiusMm: number): MaskVolume {
  if (!Number.isFinite(radiusMm) || radiusMm < 0) {
    throw new Nqo1Error(
      'ERR_SETTINGS_INVALID',
      `The dilation radius is ${radiusMm} mm; it must be a finite distance of 0 mm or more.`,
      { details: { radiusMm } },
    );
  }
  checkOrthonormalAxes(mask.grid);

  const [nx, ny, nz] = mask.grid.dimensions;
  const source = mask.voxels;
  const result = new Uint8Array(source.length);
  const box = nonzeroBox(source, mask.grid.dimensions);
  if (box === undefined) return { grid: mask.grid, voxels: result };
  const [, lowJ, lowK, , highJ, highK] = box;

  // The element is convex, so for each (dj, dk) its offsets cover one interval of di.
  const element = structuringElement(mask.grid.spacingMm, radiusMm);
  const elementRows = new Map<string, [number, number, number, number]>();
  for (const [di, dj, dk] of element.offsets) {
    const key = `${dj},${dk}`;
    const row = elementRows.get(key);
    if (row === undefined) elementRows.set(key, [dj, dk, di, di]);
    else {
      row[2] = Math.min(row[2], di);
      row[3] = Math.max(row[3], di);
    }
  }
  const rows = Int32Array.from([...elementRows.values()].flat());

  const runs = maskRuns(source, mask.grid.dimensions, box);
  const boxRows = highJ - lowJ + 1;
  const [, reachJ, reachK] = element.reach;

  // Each target row is the union of intervals: every run of a source row, placed on the element row
  // that maps that source row onto the target row. The intervals are added to a difference array
  // (+1 at the start, −1 after the end) and the row is written once from its prefix sums.
  const difference = new Int32Array(nx + 1);
  for (let kk = Math.max(0, lowK - reachK); kk <= Math.min(nz - 1, highK + reachK); kk++) {
    for (let jj = Math.max(0, lowJ - reachJ); jj <= Math.min(ny - 1, highJ + reachJ); jj++) {
      let first = nx;
      let last = -1;
      for (let r = 0; r < rows.length; r += 4) {
        const j = jj - rows[r]!;
        const k = kk - rows[r + 1]!;
        if (j < lowJ || j > highJ || k < lowK || k > highK) continue;
        const boxRow = j - lowJ + boxRows * (k - lowK);
        for (let run = runs.firstRun[boxRow]!; run < runs.firstRun[boxRow + 1]!; run++) {
          const from = Math.max(0, runs.starts[run]! + rows[r + 2]!);
          const to = Math.min(nx - 1, runs.ends[run]! + rows[r + 3]!);
          difference[from]!++;
          difference[to + 1]!--;
          if (from < first) first = from;
          if (to > last) last = to;
        }
      }
      if (last < 0) continue;

      const target = nx * (jj + ny * kk);
      let cover = 0;
      for (let i = first; i <= last; i++) {
        cover += difference[i]!;
        difference[i] = 0;
        if (cover > 0) result[target + i] = 1;
      }
      difference[last + 1] = 0;
    }
  }
  return { grid: mask.grid, voxels: result };
}

/** Runs of nonzero voxels along i, row by row over the mask's bounding box. */
interface MaskRuns {
  /** Index of the first run of each box row (j fastest, then k), plus one entry for the end. */
  readonly firstRun: Int32Array;
  /** First and last i of each run, inclusive. */
  readonly starts: Int32Array;
  readonly ends: Int32Array;
}

/** Lists the runs of nonzero voxels of every row of `box` = [lowI, lowJ, lowK, highI, highJ, highK]. */
function maskRuns(
  source: Uint8Array,
  dimensions: readonly [number, number, number],
  box: readonly [number, number, number, number, number, number],
): MaskRuns {
  const [nx, ny] = dimensions;
  const [lowI, lowJ, lowK, highI, highJ, highK] = box;
  const firstRun = new Int32Array((highJ - lowJ + 1) * (highK - lowK + 1) + 1);
  const starts: number[] = [];
  const ends: number[] = [];
  let boxRow = 0;
  for (let k = lowK; k <= highK; k++) {
    for (let j = lowJ; j <= highJ; j++, boxRow++) {
      firstRun[boxRow] = starts.length;
      const row = nx * (j + ny * k);
      let i = lowI;
      while (i <= highI) {
        if (source[row + i] === 0) {
          i++;
          continue;
        }
        starts.push(i);
        while (i <= highI && source[row + i] !== 0) i++;
        ends.push(i - 1);
      }
    }
  }
  firstRun[boxRow] = starts.length;
  return { firstRun, starts: Int32Array.from(starts), ends: Int32Array.from(ends) };
}

/**
 * Returns the inclusive index box [lowI, lowJ, lowK, highI, highJ, highK] of the nonzero voxels, or
 * undefined for an all-zero mask. Each row is tested four voxels at a time through a 32-bit view
 * when the buffer is aligned, and only a row with a nonzero word is searched voxel by voxel.
 */
function nonzeroBox(
  voxels: Uint8Array,
  dimensions: readonly [number, number, number],
): [number, number, number, number, number, number] | undefined {
  const [nx, ny, nz] = dimensions;
  const words =
    voxels.byteOffset % 4 === 0
      ? new Uint32Array(voxels.buffer, voxels.byteOffset, voxels.length >>> 2)
      : undefined;
  let lowI = nx,
    lowJ = ny,
    lowK = nz,
    highI = -1,
    highJ = -1,
    highK = -1;

  let rowStart = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++, rowStart += nx) {
      const rowEnd = rowStart + nx;

      // Skip a row whose whole words and loose bytes at both ends are all 0.
      if (words !== undefined) {
        const firstWord = (rowStart + 3) >>> 2;
        const endWord = rowEnd >>> 2;
        let word = firstWord;
        while (word < endWord && words[word] === 0) word++;
        if (word >= endWord) {
          let loose = 0;
          for (let index = rowStart; index < Math.min(firstWord << 2, rowEnd); index++)
            loose |= voxels[index]!;
          for (let index = Math.max(endWord << 2, rowStart); index < rowEnd; index++) loose |= voxels[index]!;
          if (loose === 0) continue;
        }
      }

      let first = rowStart;
      while (first < rowEnd && voxels[first] === 0) first++;
      if (first === rowEnd) continue;
      let last = rowEnd - 1;
      while (voxels[last] === 0) last--;
      if (first - rowStart < lowI) lowI = first - rowStart;
      if (last - rowStart > highI) highI = last - rowStart;
      if (j < lowJ) lowJ = j;
      if (j > highJ) highJ = j;
      if (k < lowK) lowK = k;
      if (k > highK) highK = k;
    }
  }
  return highK < 0 ? undefined : [lowI, lowJ, lowK, highI, highJ, highK];
}

/**
 * Returns the voxels of `dilated` that are not in `tumour`: the peritumoral ring without the
 * tumour itself. Both masks must share one grid.
 *
 * @throws Nqo1Error ERR_MASK_GEOMETRY when the grids' dimensions differ.
 */
export function ringMask(dilated: MaskVolume, tumour: MaskVolume): MaskVolume {
  const a = dilated.grid.dimensions;
  const b = tumour.grid.dimensions;
  if (a[0] !== b[0] || a[1] !== b[1] || a[2] !== b[2] || dilated.voxels.length !== tumour.voxels.length) {
    throw new Nqo1Error(
      'ERR_MASK_GEOMETRY',
      `The dilated mask (${a.join('×')}) and the tumour mask (${b.join('×')}) are on different grids. ` +
        'Dilate the tumour mask itself.',
    );
  }
  const voxels = new Uint8Array(dilated.voxels.length);
  for (let index = 0; index < voxels.length; index++) {
    if (dilated.voxels[index] !== 0 && tumour.voxels[index] === 0) voxels[index] = 1;
  }
  return { grid: dilated.grid, voxels };
}

function checkOrthonormalAxes(grid: Grid): void {
  const tolerance = GEOMETRY_TOLERANCE.orthonormality;
  const [u, v, w] = grid.axes;
  const pairs = [dot(u, v), dot(u, w), dot(v, w)];
  const lengths = [dot(u, u), dot(v, v), dot(w, w)].map(Math.sqrt);
  const orthonormal =
    pairs.every((value) => Math.abs(value) <= tolerance) &&
    lengths.every((value) => Math.abs(value - 1) <= tolerance);
  if (!orthonormal) {
    throw new Nqo1Error(
      'ERR_MASK_GEOMETRY',
      `The mask grid axes are not orthonormal (dot products ${pairs.map((value) => value.toFixed(4)).join(', ')}), ` +
        'so index offsets do not map to one physical distance. Resample the image and mask to an orthogonal grid.',
    );
  }
}
