/**
 * Cropping of a case to the part of the volume its regions can reach: the tumour's bounding box
 * widened by the reach of the peritumoral dilation on each axis, clipped at the volume edge.
 *
 * The crop changes no result. The structuring element of `dilateMaskMm` reaches at most `reach[axis]`
 * voxels along each axis, so the dilated tumour lies inside the widened box. Where the box meets the
 * volume edge, the dilation is clipped at that edge in both volumes alike. Features are computed on
 * each region's own bounding box in voxel index space, and TotalEnergy uses only the voxel volume.
 * The cropped grid (same spacing and axes, origin at the first kept voxel) therefore gives the same
 * values. Normalisation uses statistics of the whole image and resampling anchors its grid at the
 * origin, so a case whose settings enable either is not cropped.
 */
import { RADIUS_SQUARED_RELATIVE_SLACK } from '../imaging/dilate.js';
import type { Grid, ImageVolume, MaskVolume, Vec3 } from '../imaging/volume.js';
import { subGrid, type IndexBox } from '../radiomics/crop.js';
import { assertSameGrid, labelBoundingBox } from '../radiomics/roi.js';
import type { RadiomicsSettings } from '../radiomics/settings.js';

/** Image and tumour label mask of one case, on one grid. */
export interface CaseVolumes {
  readonly image: ImageVolume;
  readonly tumour: MaskVolume;
}

/**
 * Returns the image and tumour mask cut to the tumour's bounding box widened by the dilation reach.
 * Returns the inputs unchanged when the box covers the whole volume, when the tumour label is absent
 * (so the region code reports the empty mask as before), when the dilation radius is invalid (the
 * dilation rejects it) or when the settings enable normalisation or resampling.
 *
 * @throws Nqo1Error ERR_MASK_GEOMETRY when the mask is not on the image grid.
 */
export function cropCaseToTumour(
  volumes: CaseVolumes,
  settings: RadiomicsSettings,
  dilationMm: number,
): CaseVolumes {
  const { image, tumour } = volumes;
  assertSameGrid(image.grid, tumour.grid);
  if (settings.normalize || settings.resampledPixelSpacing !== undefined) return volumes;

  const dimensions = tumour.grid.dimensions;
  const box = labelBoundingBox(tumour.voxels, dimensions, settings.label);
  if (box.voxelCount === 0) return volumes;

  const reach = dilationReach(tumour.grid.spacingMm, dilationMm);
  const lower = [0, 1, 2].map((axis) => Math.max(0, box.lower[axis]! - reach[axis]!)) as unknown as Vec3;
  const upper = [0, 1, 2].map((axis) =>
    Math.min(dimensions[axis]! - 1, box.upper[axis]! + reach[axis]!),
  ) as unknown as Vec3;
  const whole = [0, 1, 2].every((axis) => lower[axis] === 0 && upper[axis] === dimensions[axis]! - 1);
  if (whole) return volumes;

  // Each volume keeps its own spacing and axes, and both origins move by the same vector, so the
  // grid check in the engine compares the same differences as on the whole volumes.
  const cropBox: IndexBox = { lower, upper };
  const imageGrid = subGrid(image.grid, cropBox);
  const shiftMm = [0, 1, 2].map((c) => imageGrid.originMm[c]! - image.grid.originMm[c]!);
  const tumourGrid: Grid = {
    ...imageGrid,
    spacingMm: tumour.grid.spacingMm,
    axes: tumour.grid.axes,
    originMm: [0, 1, 2].map((c) => tumour.grid.originMm[c]! + shiftMm[c]!) as unknown as Vec3,
  };
  const count = imageGrid.dimensions[0] * imageGrid.dimensions[1] * imageGrid.dimensions[2];
  return {
    image: { grid: imageGrid, voxels: cropBox3d(image.voxels, dimensions, cropBox, new Float64Array(count)) },
    tumour: {
      grid: tumourGrid,
      voxels: cropBox3d(tumour.voxels, dimensions, cropBox, new Uint8Array(count)),
    },
  };
}

/**
 * Returns the largest index offset of the dilation's structuring element along i, j and k,
 * ⌊r·√(1 + 1e-9) / spacing⌋ as in `structuringElement`, or zero for a radius the dilation rejects.
 */
function dilationReach(spacingMm: Vec3, dilationMm: number): Vec3 {
  if (!Number.isFinite(dilationMm) || dilationMm < 0) return [0, 0, 0];
  const reachMm = Math.sqrt(dilationMm * dilationMm * (1 + RADIUS_SQUARED_RELATIVE_SLACK));
  return spacingMm.map((spacing) => Math.floor(reachMm / spacing)) as unknown as Vec3;
}

/** Copies the voxels of the inclusive `box` out of a volume of `dimensions` into `out`, one i row at a time. */
function cropBox3d<T extends Float64Array | Uint8Array>(
  voxels: T,
  dimensions: Vec3,
  box: IndexBox,
  out: T,
): T {
  const [nx, ny] = dimensions;
  const rowLength = box.upper[0] - box.lower[0] + 1;
  let target = 0;
  for (let k = box.lower[2]; k <= box.upper[2]; k++) {
    for (let j = box.lower[1]; j <= box.upper[1]; j++) {
      const source = box.lower[0] + nx * (j + ny * k);
      out.set(voxels.subarray(source, source + rowLength), target);
      target += rowLength;
    }
  }
  return out;
}
