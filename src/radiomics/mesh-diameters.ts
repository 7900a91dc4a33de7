/**
 * Maximum 3-D and planar diameters of a mask's marching-cubes mesh, as in pyradiomics
 * (`cshape.c`, calculate_meshDiameter).
 *
 * The mesh vertices are the midpoints of the grid edges whose two voxels differ (mask padded with
 * zeros). pyradiomics compares all pairs of vertices, O(V²):
 * - Maximum3DDiameter: the largest distance.
 * - Maximum2DDiameterSlice: the largest distance between vertices with equal k (z) coordinate.
 * - Maximum2DDiameterColumn: the same with equal j (y); Maximum2DDiameterRow: equal i (x).
 * The value is 0 where no pair qualifies.
 *
 * Here only extreme points are compared, which gives the same maxima:
 * 1. The distance to a fixed point is convex, so over a finite set it is largest at an extreme point
 *    of the set (a vertex of its convex hull). Applied to both ends, the diameter of a set is the
 *    largest distance between two of its extreme points.
 * 2. A planar diameter is the diameter of the vertices in one plane, so it is found among the
 *    extreme points of that plane's 2-D convex hull.
 * 3. A point that is extreme in the whole set is extreme in every subset containing it, in particular
 *    in each of its three axis planes. So the pairs for the 3-D diameter are drawn from the vertices
 *    that are extreme in all three of their planes, which contains every 3-D hull vertex.
 * Coordinates are kept as doubled voxel indices (integers), so hull tests are exact; distances are
 * converted to millimetres with the spacing. Hulls are affine-invariant, so the spacing does not
 * change which points are extreme.
 */

import type { Vec3 } from '../imaging/volume.js';
import { convexHull2d } from './convex-hull.js';

/** The four diameters in millimetres. */
export interface MeshDiameters {
  readonly maximum3dMm: number;
  /** Equal k (axial plane). */
  readonly sliceMm: number;
  /** Equal j (coronal plane). */
  readonly columnMm: number;
  /** Equal i (sagittal plane). */
  readonly rowMm: number;
}

/** Mesh vertices as doubled voxel coordinates (a midpoint between i − 1 and i has x = 2i − 1). */
export interface MeshVertices {
  readonly count: number;
  readonly x: Int32Array;
  readonly y: Int32Array;
  readonly z: Int32Array;
}

/** Lists the mesh vertices of `mask` (1 = inside, i fastest) of `size` voxels, padded with zeros. */
export function meshVertices(mask: Uint8Array, size: Vec3): MeshVertices {
  const [nx, ny, nz] = size;
  const rowStride = nx;
  const sliceStride = nx * ny;
  let capacity = 1024;
  let x = new Int32Array(capacity);
  let y = new Int32Array(capacity);
  let z = new Int32Array(capacity);
  let count = 0;
  const emit = (vx: number, vy: number, vz: number): void => {
    if (count === capacity) {
      capacity *= 2;
      const grow = (old: Int32Array): Int32Array<ArrayBuffer> => {
        const next = new Int32Array(capacity);
        next.set(old);
        return next;
      };
      x = grow(x);
      y = grow(y);
      z = grow(z);
    }
    x[count] = vx;
    y[count] = vy;
    z[count] = vz;
    count++;
  };

  // A voxel at (i, j, k) differs from its lower neighbour along an axis (outside = 0): vertex halfway.
  // The upper end of each line is closed against the padding after the loop over that axis.
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const row = rowStride * j + sliceStride * k;
      for (let i = 0; i < nx; i++) {
        const value = mask[row + i]!;
        const lowerI = i === 0 ? 0 : mask[row + i - 1]!;
        const lowerJ = j === 0 ? 0 : mask[row + i - rowStride]!;
        const lowerK = k === 0 ? 0 : mask[row + i - sliceStride]!;
        if (value !== lowerI) emit(2 * i - 1, 2 * j, 2 * k);
        if (value !== lowerJ) emit(2 * i, 2 * j - 1, 2 * k);
        if (value !== lowerK) emit(2 * i, 2 * j, 2 * k - 1);
        if (value === 1 && i === nx - 1) emit(2 * nx - 1, 2 * j, 2 * k);
        if (value === 1 && j === ny - 1) emit(2 * i, 2 * ny - 1, 2 * k);
        if (value === 1 && k === nz - 1) emit(2 * i, 2 * j, 2 * nz - 1);
      }
    }
  }
  return { count, x, y, z };
}

/** Computes the four diameters of the vertex set with voxel spacing `spacingMm` (i, j, k). */
export function meshDiameters(vertices: MeshVertices, spacingMm: Vec3): MeshDiameters {
  const { count, x, y, z } = vertices;
  const [sx, sy, sz] = spacingMm;

  // Positions in millimetres; one doubled unit is half a voxel.
  const physical = (coordinates: Int32Array, spacing: number): Float64Array => {
    const result = new Float64Array(count);
    for (let vertex = 0; vertex < count; vertex++) result[vertex] = coordinates[vertex]! * (spacing / 2);
    return result;
  };
  const px = physical(x, sx);
  const py = physical(y, sy);
  const pz = physical(z, sz);

  // extremeIn[v] has bit a set when vertex v is extreme in its plane normal to axis a.
  const extremeIn = new Uint8Array(count);
  const rowSquared = planeDiameters(x, y, z, py, pz, count, extremeIn, 1);
  const columnSquared = planeDiameters(y, x, z, px, pz, count, extremeIn, 2);
  const sliceSquared = planeDiameters(z, x, y, px, py, count, extremeIn, 4);

  // Candidates for the 3-D diameter: extreme in all three planes.
  let candidateCount = 0;
  for (let vertex = 0; vertex < count; vertex++) if (extremeIn[vertex] === 7) candidateCount++;
  const cx = new Float64Array(candidateCount);
  const cy = new Float64Array(candidateCount);
  const cz = new Float64Array(candidateCount);
  candidateCount = 0;
  for (let vertex = 0; vertex < count; vertex++) {
    if (extremeIn[vertex] !== 7) continue;
    cx[candidateCount] = px[vertex]!;
    cy[candidateCount] = py[vertex]!;
    cz[candidateCount] = pz[vertex]!;
    candidateCount++;
  }

  let maximumSquared = 0;
  for (let a = 0; a < candidateCount; a++) {
    const ax = cx[a]!,
      ay = cy[a]!,
      az = cz[a]!;
    for (let b = a + 1; b < candidateCount; b++) {
      const dx = ax - cx[b]!,
        dy = ay - cy[b]!,
        dz = az - cz[b]!;
      const distance = dx * dx + dy * dy + dz * dz;
      if (distance > maximumSquared) maximumSquared = distance;
    }
  }

  return {
    maximum3dMm: Math.sqrt(maximumSquared),
    sliceMm: Math.sqrt(sliceSquared),
    columnMm: Math.sqrt(columnSquared),
    rowMm: Math.sqrt(rowSquared),
  };
}

/**
 * Groups the vertices by their `plane` coordinate, finds each group's 2-D hull in (u, v), sets `bit`
 * in `extremeIn` for every hull point and returns the largest squared distance (mm²) within a group.
 *
 * Only the smallest and largest u of each (plane, v) line can be extreme, since the points between
 * them on that line are not. Visiting v in increasing order lists those candidates already sorted by
 * (v, u), which is the order the monotone chain needs.
 */
function planeDiameters(
  plane: Int32Array,
  u: Int32Array,
  v: Int32Array,
  uMm: Float64Array,
  vMm: Float64Array,
  count: number,
  extremeIn: Uint8Array,
  bit: number,
): number {
  // Doubled coordinates run from −1 to their maximum; shift by 1 to index arrays.
  let planeCount = 0;
  let lineCount = 0;
  for (let vertex = 0; vertex < count; vertex++) {
    if (plane[vertex]! + 2 > planeCount) planeCount = plane[vertex]! + 2;
    if (v[vertex]! + 2 > lineCount) lineCount = v[vertex]! + 2;
  }
  const lowest = new Int32Array(planeCount * lineCount).fill(-1);
  const highest = new Int32Array(planeCount * lineCount).fill(-1);
  for (let vertex = 0; vertex < count; vertex++) {
    const slot = (plane[vertex]! + 1) * lineCount + v[vertex]! + 1;
    const low = lowest[slot]!;
    if (low < 0 || u[vertex]! < u[low]!) lowest[slot] = vertex;
    const high = highest[slot]!;
    if (high < 0 || u[vertex]! > u[high]!) highest[slot] = vertex;
  }

  const members = new Int32Array(2 * lineCount);
  const hull = new Int32Array(2 * lineCount + 1);
  let maximumSquared = 0;
  for (let planeIndex = 0; planeIndex < planeCount; planeIndex++) {
    let memberCount = 0;
    for (let line = 0; line < lineCount; line++) {
      const slot = planeIndex * lineCount + line;
      const low = lowest[slot]!;
      if (low < 0) continue;
      members[memberCount++] = low;
      if (highest[slot] !== low) members[memberCount++] = highest[slot]!;
    }
    if (memberCount === 0) continue;
    // Sorted by (v, u): v is the hull's first coordinate.
    const hullSize = convexHull2d(v, u, members.subarray(0, memberCount), hull);
    for (let a = 0; a < hullSize; a++) {
      const first = hull[a]!;
      extremeIn[first]! |= bit;
      const au = uMm[first]!,
        av = vMm[first]!;
      for (let b = a + 1; b < hullSize; b++) {
        const du = au - uMm[hull[b]!]!,
          dv = av - vMm[hull[b]!]!;
        const distance = du * du + dv * dv;
        if (distance > maximumSquared) maximumSquared = distance;
      }
    }
  }
  return maximumSquared;
}
