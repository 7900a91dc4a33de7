/**
 * Shape features (pyradiomics `shape.py`, 3-D): mesh volume and area, diameters, and the principal
 * axes of the ROI. They depend on the mask and the voxel spacing only, never on intensities.
 *
 * - Mesh: marching cubes at the 0.5 level with vertices at edge midpoints (`marching-cubes.ts`).
 * - Diameters: largest vertex distances overall and within axis planes (`mesh-diameters.ts`).
 * - Principal axes: eigenvalues λ1 ≤ λ2 ≤ λ3 of the population covariance (divisor N) of the
 *   voxel-centre coordinates in millimetres. Coordinates are index × spacing, because the origin and
 *   the axis directions do not change the eigenvalues.
 *   Eigenvalues in (−1e-10, 0) are set to 0; an axis length or ratio that involves a remaining
 *   negative eigenvalue is NaN, as in pyradiomics.
 */

import type { Vec3 } from '../imaging/volume.js';
import { symmetricEigenvalues } from './eigen.js';
import { measureMesh, type MeshMeasures } from './marching-cubes.js';
import { meshDiameters, meshVertices, type MeshDiameters } from './mesh-diameters.js';
import type { Roi } from './roi.js';

/** Everything the shape features need, computed lazily and at most once per part. */
export interface ShapeInput {
  /** Number of ROI voxels. */
  readonly voxelCount: number;
  /** Voxel spacing along i, j and k in millimetres. */
  readonly spacingMm: Vec3;
  mesh(): MeshMeasures;
  diameters(): MeshDiameters;
  /** Covariance eigenvalues in ascending order, after the (−1e-10, 0) → 0 correction. */
  eigenvalues(): Float64Array;
}

/** Eigenvalues above this negative bound count as 0 (numerical noise of a flat ROI). */
const EIGENVALUE_NOISE = -1e-10;

/** Prepares the shape input of an ROI cropped to its bounding box. */
export function prepareShape(roi: Pick<Roi, 'mask' | 'size' | 'spacingMm' | 'voxelCount'>): ShapeInput {
  let mesh: MeshMeasures | undefined;
  let diameters: MeshDiameters | undefined;
  let eigenvalues: Float64Array | undefined;
  return {
    voxelCount: roi.voxelCount,
    spacingMm: roi.spacingMm,
    mesh: () => (mesh ??= measureMesh(roi.mask, roi.size, roi.spacingMm)),
    diameters: () => (diameters ??= meshDiameters(meshVertices(roi.mask, roi.size), roi.spacingMm)),
    eigenvalues: () => (eigenvalues ??= principalEigenvalues(roi.mask, roi.size, roi.spacingMm)),
  };
}

/**
 * Eigenvalues of the population covariance of the ROI voxel centres in millimetres, ascending.
 * Centring uses exact integer index sums, so an axis along which the ROI is one voxel thick has
 * exactly zero variance, and its eigenvalue is exactly 0.
 */
export function principalEigenvalues(mask: Uint8Array, size: Vec3, spacingMm: Vec3): Float64Array {
  const [nx, ny, nz] = size;
  let count = 0;
  let sumI = 0,
    sumJ = 0,
    sumK = 0;
  let index = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, index++) {
        if (mask[index] !== 1) continue;
        count++;
        sumI += i;
        sumJ += j;
        sumK += k;
      }
    }
  }
  const meanI = sumI / count,
    meanJ = sumJ / count,
    meanK = sumK / count;

  // Second pass: centred products in millimetres.
  const [sx, sy, sz] = spacingMm;
  let xx = 0,
    xy = 0,
    xz = 0,
    yy = 0,
    yz = 0,
    zz = 0;
  index = 0;
  for (let k = 0; k < nz; k++) {
    const dz = (k - meanK) * sz;
    for (let j = 0; j < ny; j++) {
      const dy = (j - meanJ) * sy;
      for (let i = 0; i < nx; i++, index++) {
        if (mask[index] !== 1) continue;
        const dx = (i - meanI) * sx;
        xx += dx * dx;
        xy += dx * dy;
        xz += dx * dz;
        yy += dy * dy;
        yz += dy * dz;
        zz += dz * dz;
      }
    }
  }
  const covariance = Float64Array.from([xx, xy, xz, xy, yy, yz, xz, yz, zz].map((sum) => sum / count));

  const values = eigenvalues3(covariance);
  for (let axis = 0; axis < 3; axis++) {
    if (values[axis]! < 0 && values[axis]! > EIGENVALUE_NOISE) values[axis] = 0;
  }
  return values;
}

/**
 * Eigenvalues of a symmetric 3×3 matrix, ascending. A row whose off-diagonal entries are exactly 0
 * splits off its diagonal entry exactly; the remaining 2×2 block is solved in closed form. Otherwise
 * the general solver is used.
 */
function eigenvalues3(matrix: Float64Array): Float64Array {
  for (let row = 0; row < 3; row++) {
    const p = (row + 1) % 3;
    const q = (row + 2) % 3;
    if (matrix[row * 3 + p] !== 0 || matrix[row * 3 + q] !== 0) continue;
    const a = matrix[p * 3 + p]!;
    const d = matrix[q * 3 + q]!;
    const b = matrix[p * 3 + q]!;
    const half = (a + d) / 2;
    const radius = Math.hypot((a - d) / 2, b);
    const values = Float64Array.from([matrix[row * 3 + row]!, half - radius, half + radius]);
    return values.sort();
  }
  return symmetricEigenvalues(matrix, 3);
}

/**
 * MeshVolume: V = Σ ±det(a, b, c) / 6 over the mesh triangles, mm³. pyradiomics
 * `original_shape_MeshVolume`, IBSI RNU0. IBSI's mesh may be triangulated differently.
 */
export function meshVolume(input: ShapeInput): number {
  return input.mesh().volumeMm3;
}

/** VoxelVolume: N·sx·sy·sz, mm³. pyradiomics `original_shape_VoxelVolume`, IBSI YEKZ. */
export function voxelVolume(input: ShapeInput): number {
  const [sx, sy, sz] = input.spacingMm;
  return input.voxelCount * sx * sy * sz;
}

/** SurfaceArea: A = Σ |(b − a) × (c − a)| / 2 over the mesh triangles, mm². pyradiomics `original_shape_SurfaceArea`, IBSI C0JK. */
export function surfaceArea(input: ShapeInput): number {
  return input.mesh().surfaceAreaMm2;
}

/** SurfaceVolumeRatio: A / V, mm⁻¹. pyradiomics `original_shape_SurfaceVolumeRatio`, IBSI 2PR5. */
export function surfaceVolumeRatio(input: ShapeInput): number {
  const { surfaceAreaMm2, volumeMm3 } = input.mesh();
  return surfaceAreaMm2 / volumeMm3;
}

/** Sphericity: (36π V²)^(1/3) / A. pyradiomics `original_shape_Sphericity`, IBSI QCFX. */
export function sphericity(input: ShapeInput): number {
  const { surfaceAreaMm2, volumeMm3 } = input.mesh();
  return Math.cbrt(36 * Math.PI * volumeMm3 * volumeMm3) / surfaceAreaMm2;
}

/** Maximum3DDiameter: largest distance between two mesh vertices, mm. pyradiomics `original_shape_Maximum3DDiameter`, IBSI L0JK. */
export function maximum3dDiameter(input: ShapeInput): number {
  return input.diameters().maximum3dMm;
}

/**
 * Maximum2DDiameterSlice: largest distance between mesh vertices with equal k (axial plane), mm;
 * 0 if no plane holds two vertices. pyradiomics `original_shape_Maximum2DDiameterSlice`, no IBSI code.
 */
export function maximum2dDiameterSlice(input: ShapeInput): number {
  return input.diameters().sliceMm;
}

/**
 * Maximum2DDiameterColumn: largest distance between mesh vertices with equal j (coronal plane), mm.
 * pyradiomics `original_shape_Maximum2DDiameterColumn`, no IBSI code.
 */
export function maximum2dDiameterColumn(input: ShapeInput): number {
  return input.diameters().columnMm;
}

/**
 * Maximum2DDiameterRow: largest distance between mesh vertices with equal i (sagittal plane), mm.
 * pyradiomics `original_shape_Maximum2DDiameterRow`, no IBSI code.
 */
export function maximum2dDiameterRow(input: ShapeInput): number {
  return input.diameters().rowMm;
}

/** 4·√λ, or NaN for a negative eigenvalue. */
function axisLength(eigenvalue: number): number {
  return eigenvalue < 0 ? Number.NaN : 4 * Math.sqrt(eigenvalue);
}

/**
 * MajorAxisLength: 4·√λ3, mm. pyradiomics `original_shape_MajorAxisLength`, IBSI TDIC. The covariance
 * divisor is N, where IBSI's reference values correspond to N − 1.
 */
export function majorAxisLength(input: ShapeInput): number {
  return axisLength(input.eigenvalues()[2]!);
}

/** MinorAxisLength: 4·√λ2, mm; 0 for a line. pyradiomics `original_shape_MinorAxisLength`, IBSI P9VJ (divisor N, not N − 1). */
export function minorAxisLength(input: ShapeInput): number {
  return axisLength(input.eigenvalues()[1]!);
}

/** LeastAxisLength: 4·√λ1, mm; 0 for a flat ROI. pyradiomics `original_shape_LeastAxisLength`, IBSI 7J51 (divisor N, not N − 1). */
export function leastAxisLength(input: ShapeInput): number {
  return axisLength(input.eigenvalues()[0]!);
}

/** √(λ / λ3): NaN when either is negative, and 0/0 = NaN when λ3 = 0. */
function axisRatio(eigenvalue: number, largest: number): number {
  if (eigenvalue < 0 || largest < 0) return Number.NaN;
  return Math.sqrt(eigenvalue / largest);
}

/** Elongation: √(λ2 / λ3); 0 for a line, NaN for a single voxel. pyradiomics `original_shape_Elongation`, IBSI Q3CK. */
export function elongation(input: ShapeInput): number {
  const values = input.eigenvalues();
  return axisRatio(values[1]!, values[2]!);
}

/** Flatness: √(λ1 / λ3); 0 for a flat ROI, NaN for a single voxel. pyradiomics `original_shape_Flatness`, IBSI N17B. */
export function flatness(input: ShapeInput): number {
  const values = input.eigenvalues();
  return axisRatio(values[0]!, values[2]!);
}
