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
  const at = (i: number, j: number, k: number): number =>
    i < 0 || j < 0 || k < 0 || i >= nx || j >= ny || k >= nz ? 0 : mask[i + nx * (j + ny * k)]!;

  // Count first so the coordinate arrays are allocated once.
  let count = 0;
  const visit = (emit: (x: number, y: number, z: number) => void): void => {
    for (let k = 0; k <= nz; k++) {
      for (let j = 0; j <= ny; j++) {
        for (let i = 0; i <= nx; i++) {
          const here = at(i, j, k);
          if (j < ny && k < nz && at(i - 1, j, k) !== here) emit(2 * i - 1, 2 * j, 2 * k);
          if (i < nx && k < nz && at(i, j - 1, k) !== here) emit(2 * i, 2 * j - 1, 2 * k);
          if (i < nx && j < ny && at(i, j, k - 1) !== here) emit(2 * i, 2 * j, 2 * k - 1);
        }
      }
    }
  };
  visit(() => count++);
  const x = new Int32Array(count);
  const y = new Int32Array(count);
  const z = new Int32Array(count);
  let index = 0;
  visit((vx, vy, vz) => {
    x[index] = vx;
    y[index] = vy;
    z[index] = vz;
    index++;
  });
  return { count, x, y, z };
}

/** Computes the four diameters of the vertex set with voxel spacing `spacingMm` (i, j, k). */
export function meshDiameters(vertices: MeshVertices, spacingMm: Vec3): MeshDiameters {
  const { count, x, y, z } = vertices;
  const [sx, sy, sz] = spacingMm;
  // Doubled coordinates: one doubled unit is half a voxel.
  const hx = sx / 2,
    hy = sy / 2,
    hz = sz / 2;
  const squared = (a: number, b: number): number => {
    const dx = (x[a]! - x[b]!) * hx;
    const dy = (y[a]! - y[b]!) * hy;
    const dz = (z[a]! - z[b]!) * hz;
    return dx * dx + dy * dy + dz * dz;
  };

  // extremeIn[v] has bit a set when vertex v is extreme in its plane normal to axis a.
  const extremeIn = new Uint8Array(count);
  const planeMaximum = (plane: Int32Array, u: Int32Array, v: Int32Array, bit: number): number =>
    planeDiameters(plane, u, v, count, (hullPoint) => (extremeIn[hullPoint]! |= bit), squared);

  const rowSquared = planeMaximum(x, y, z, 1);
  const columnSquared = planeMaximum(y, x, z, 2);
  const sliceSquared = planeMaximum(z, x, y, 4);

  // Candidates for the 3-D diameter: extreme in all three planes.
  let candidateCount = 0;
  for (let vertex = 0; vertex < count; vertex++) if (extremeIn[vertex] === 7) candidateCount++;
  const candidates = new Int32Array(candidateCount);
  candidateCount = 0;
  for (let vertex = 0; vertex < count; vertex++)
    if (extremeIn[vertex] === 7) candidates[candidateCount++] = vertex;

  let maximumSquared = 0;
  for (let a = 0; a < candidateCount; a++) {
    const p = candidates[a]!;
    for (let b = a + 1; b < candidateCount; b++) {
      const distance = squared(p, candidates[b]!);
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
 * Groups the vertices by their `plane` coordinate, finds each group's 2-D hull in (u, v), reports
 * every hull point through `markExtreme` and returns the largest squared distance within a group.
 */
function planeDiameters(
  plane: Int32Array,
  u: Int32Array,
  v: Int32Array,
  count: number,
  markExtreme: (vertex: number) => void,
  squared: (a: number, b: number) => number,
): number {
  // Counting sort of the vertices by plane coordinate (which starts at −1).
  let maximumPlane = -1;
  for (let vertex = 0; vertex < count; vertex++)
    if (plane[vertex]! > maximumPlane) maximumPlane = plane[vertex]!;
  const starts = new Int32Array(maximumPlane + 3);
  for (let vertex = 0; vertex < count; vertex++) starts[plane[vertex]! + 2]!++;
  for (let bucket = 1; bucket < starts.length; bucket++) starts[bucket]! += starts[bucket - 1]!;
  const order = new Int32Array(count);
  const fill = starts.slice();
  for (let vertex = 0; vertex < count; vertex++) order[fill[plane[vertex]! + 1]!++] = vertex;

  const hull = new Int32Array(count + 1);
  let maximumSquared = 0;
  for (let bucket = 0; bucket + 1 < starts.length; bucket++) {
    const members = order.subarray(starts[bucket], starts[bucket + 1]);
    if (members.length === 0) continue;
    const hullSize = convexHull2d(u, v, members, hull);
    for (let a = 0; a < hullSize; a++) {
      markExtreme(hull[a]!);
      for (let b = a + 1; b < hullSize; b++) {
        const distance = squared(hull[a]!, hull[b]!);
        if (distance > maximumSquared) maximumSquared = distance;
      }
    }
  }
  return maximumSquared;
}
