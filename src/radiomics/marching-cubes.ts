/**
 * Surface area and enclosed volume of the marching-cubes mesh of a binary mask, computed the way
 * pyradiomics' shape class does (`cshape.c`), with the table of `marching-cubes-table.ts`.
 *
 * The mask is taken as padded by one voxel of zeros on every side, so the mesh is closed. Each 2×2×2
 * cell of voxel centres contributes the triangles of its case; vertices sit at edge midpoints and are
 * scaled by the spacing.
 * - Area: A = Σ |(b − a) × (c − a)| / 2 over triangles.
 * - Volume by the divergence theorem: V = Σ s·det(a, b, c) / 6, where s = −1 for a complemented case.
 *
 * The mesh is not always closed: where two cells share an ambiguous face and one of them is looked up
 * through its complement, the two resolve the face differently and leave a small gap. The volume sum
 * then depends on where the coordinate origin is, so the origin is pyradiomics' own: the first corner
 * of the padded, cropped mask (index −1 of the bounding box along each axis).
 * NOTE: for voxels that touch only along edges the sum can even be negative. For example, three voxels
 * at (1,1,0), (1,0,1) and (0,1,1) give −1/12 voxel. pyradiomics' table gives the same value, and
 * MeshVolume keeps it so that the results stay comparable.
 *
 * Both sums only depend on the case and the cell position, so they are gathered per case: for a cell
 * at p, det(p + u, p + v, p + w) = det(u, v, w) + p · (v × w + w × u + u × v). The mesh is never
 * materialised, and a cell costs one table look-up.
 */

import type { Vec3 } from '../imaging/volume.js';
import {
  COMPLEMENT_CORNER,
  EDGE_MIDPOINTS,
  MAX_TRIANGLES,
  TRIANGLE_COUNTS,
  TRIANGLE_EDGES,
} from './marching-cubes-table.js';

/** Area and volume of a mask's mesh. */
export interface MeshMeasures {
  /** Surface area in mm². */
  readonly surfaceAreaMm2: number;
  /** Enclosed volume in mm³. */
  readonly volumeMm3: number;
}

/**
 * Measures the mesh of the binary mask `mask` (1 = inside, i fastest) of `size` voxels with voxel
 * spacing `spacingMm` (i, j, k). The mask is padded with zeros implicitly.
 */
export function measureMesh(mask: Uint8Array, size: Vec3, spacingMm: Vec3): MeshMeasures {
  const [nx, ny, nz] = size;

  // Occurrences of each of the 256 cases, and the sum of their cell origins in voxel units, counted
  // from the padding corner (bounding-box index −1), as pyradiomics does.
  const counts = new Float64Array(256);
  const originSums = new Float64Array(256 * 3);

  // Cells span voxel centres (i − 1 .. i) × (j − 1 .. j) × (k − 1 .. k) for i = 0..nx, so the
  // implicit padding supplies the outer layer.
  const at = (i: number, j: number, k: number): number =>
    i < 0 || j < 0 || k < 0 || i >= nx || j >= ny || k >= nz ? 0 : mask[i + nx * (j + ny * k)]!;

  for (let k = 0; k <= nz; k++) {
    for (let j = 0; j <= ny; j++) {
      // Corner values of the cell's left face (i − 1) carried over as the cell moves along i.
      let left =
        at(-1, j - 1, k - 1) | (at(-1, j, k - 1) << 2) | (at(-1, j - 1, k) << 4) | (at(-1, j, k) << 6);
      const interior = j >= 1 && j < ny && k >= 1 && k < nz;
      const row00 = nx * (j - 1 + ny * (k - 1));
      const row10 = nx * (j + ny * (k - 1));
      const row01 = nx * (j - 1 + ny * k);
      const row11 = nx * (j + ny * k);
      for (let i = 0; i <= nx; i++) {
        let right: number;
        if (interior && i < nx) {
          right =
            mask[row00 + i]! | (mask[row10 + i]! << 2) | (mask[row01 + i]! << 4) | (mask[row11 + i]! << 6);
        } else {
          right = at(i, j - 1, k - 1) | (at(i, j, k - 1) << 2) | (at(i, j - 1, k) << 4) | (at(i, j, k) << 6);
        }
        // Corner c = x + 2y + 4z: x = 0 bits come from `left`, x = 1 bits from `right`.
        const caseIndex = left | (right << 1);
        left = right;
        if (caseIndex === 0 || caseIndex === 255) continue;
        counts[caseIndex]! += 1;
        originSums[3 * caseIndex]! += i;
        originSums[3 * caseIndex + 1]! += j;
        originSums[3 * caseIndex + 2]! += k;
      }
    }
  }

  return sumCases(counts, originSums, spacingMm);
}

/** Adds up area and volume from per-case counts and origin sums. */
function sumCases(counts: Float64Array, originSums: Float64Array, spacingMm: Vec3): MeshMeasures {
  const [sx, sy, sz] = spacingMm;
  let surfaceAreaMm2 = 0;
  let sixVolume = 0;

  for (let caseIndex = 1; caseIndex < 255; caseIndex++) {
    const count = counts[caseIndex]!;
    if (count === 0) continue;
    const complemented = ((caseIndex >> COMPLEMENT_CORNER) & 1) === 1;
    const tableCase = complemented ? caseIndex ^ 0xff : caseIndex;
    const sign = complemented ? -1 : 1;

    let area = 0;
    let constant = 0;
    let nx = 0,
      ny = 0,
      nz = 0;
    for (let t = 0; t < TRIANGLE_COUNTS[tableCase]!; t++) {
      const base = tableCase * MAX_TRIANGLES * 3 + 3 * t;
      const a = EDGE_MIDPOINTS[TRIANGLE_EDGES[base]!]!;
      const b = EDGE_MIDPOINTS[TRIANGLE_EDGES[base + 1]!]!;
      const c = EDGE_MIDPOINTS[TRIANGLE_EDGES[base + 2]!]!;
      const ax = a[0] * sx,
        ay = a[1] * sy,
        az = a[2] * sz;
      const bx = b[0] * sx,
        by = b[1] * sy,
        bz = b[2] * sz;
      const cx = c[0] * sx,
        cy = c[1] * sy,
        cz = c[2] * sz;

      // Area from the edge vectors.
      const ux = bx - ax,
        uy = by - ay,
        uz = bz - az;
      const vx = cx - ax,
        vy = cy - ay,
        vz = cz - az;
      const crossX = uy * vz - uz * vy;
      const crossY = uz * vx - ux * vz;
      const crossZ = ux * vy - uy * vx;
      area += 0.5 * Math.sqrt(crossX * crossX + crossY * crossY + crossZ * crossZ);

      // det(a, b, c) and b × c + c × a + a × b (= (b − a) × (c − a)).
      constant += ax * (by * cz - bz * cy) + ay * (bz * cx - bx * cz) + az * (bx * cy - by * cx);
      nx += crossX;
      ny += crossY;
      nz += crossZ;
    }

    surfaceAreaMm2 += count * area;
    const px = originSums[3 * caseIndex]! * sx;
    const py = originSums[3 * caseIndex + 1]! * sy;
    const pz = originSums[3 * caseIndex + 2]! * sz;
    sixVolume += sign * (count * constant + px * nx + py * ny + pz * nz);
  }

  return { surfaceAreaMm2, volumeMm3: sixVolume / 6 };
}
