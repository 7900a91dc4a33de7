/**
 * Volumes on a physical grid: the shared currency of the imaging, radiomics and model modules.
 *
 * Voxel (i, j, k) lies at `originMm + i·spacingMm[0]·axisI + j·spacingMm[1]·axisJ + k·spacingMm[2]·axisK`
 * in DICOM patient coordinates (LPS, millimetres). Voxels are stored with i fastest:
 * `index = i + nx·(j + ny·k)`, which is the (z, y, x) C order that pyradiomics and NumPy use.
 */

export type Vec3 = readonly [number, number, number];

/** Geometry of a regular 3-D voxel grid. */
export interface Grid {
  /** Voxel counts along i (columns), j (rows) and k (slices). */
  readonly dimensions: Vec3;
  /** Centre-to-centre distance in millimetres along i, j and k. */
  readonly spacingMm: Vec3;
  /** Patient-coordinate position of the centre of voxel (0, 0, 0), in millimetres. */
  readonly originMm: Vec3;
  /**
   * Unit vectors of the i, j and k axes in patient coordinates, concatenated:
   * for DICOM, i is the row direction and j the column direction of ImageOrientationPatient,
   * and k the slice normal pointing towards increasing slice index.
   */
  readonly axes: readonly [Vec3, Vec3, Vec3];
}

/** A scalar image, such as CT in Hounsfield units. */
export interface ImageVolume {
  readonly grid: Grid;
  readonly voxels: Float64Array;
}

/** A binary or label mask on a grid: 0 is background. */
export interface MaskVolume {
  readonly grid: Grid;
  readonly voxels: Uint8Array;
}

/** Returns the number of voxels of a grid. */
export function voxelCount(grid: Grid): number {
  return grid.dimensions[0] * grid.dimensions[1] * grid.dimensions[2];
}

/** Returns the flat index of voxel (i, j, k). */
export function voxelIndex(grid: Grid, i: number, j: number, k: number): number {
  return i + grid.dimensions[0] * (j + grid.dimensions[1] * k);
}

/** Returns the patient-coordinate centre of voxel (i, j, k) in millimetres. */
export function voxelCentreMm(grid: Grid, i: number, j: number, k: number): Vec3 {
  const [u, v, w] = grid.axes;
  const di = i * grid.spacingMm[0];
  const dj = j * grid.spacingMm[1];
  const dk = k * grid.spacingMm[2];
  return [
    grid.originMm[0] + di * u[0] + dj * v[0] + dk * w[0],
    grid.originMm[1] + di * u[1] + dj * v[1] + dk * w[1],
    grid.originMm[2] + di * u[2] + dj * v[2] + dk * w[2],
  ];
}

/** Counts voxels whose mask value equals `label`. */
export function countLabel(mask: MaskVolume, label = 1): number {
  let count = 0;
  const voxels = mask.voxels;
  for (let index = 0; index < voxels.length; index++) if (voxels[index] === label) count++;
  return count;
}
