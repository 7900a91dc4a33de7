/**
 * NRRD label maps as binary masks on the CT grid.
 *
 * The label map must already lie on the CT grid. Dimensions must be equal, spacings within 0.001 mm,
 * and axis directions within 1e-4 per component. The origin may be off by at most
 * max(0.01 mm, 1 % of the spacing) along each axis.
 *
 * LIMITATION: a label map on another grid is rejected rather than resampled, because
 * nearest-neighbour resampling onto the CT grid is not written yet. Resampling voxel centres
 * through both grids' index-to-patient transforms would lift this.
 */

import { Nqo1Error } from '../errors.js';

import { maskFromLabelVolume } from './nrrd.js';
import {
  GEOMETRY_TOLERANCE,
  dot,
  formatVector,
  positionToleranceMm,
  subtract,
  vectorsAgree,
} from './slice-geometry.js';

import type { NrrdVolume } from './nrrd.js';
import type { Grid, MaskVolume } from './volume.js';

/** Number of distinct label values listed in the error for an absent label. */
const LISTED_LABELS = 10;

/**
 * Returns the voxels of `nrrd` equal to `label` as a 0/1 mask on `grid`.
 *
 * Label values are truncated to integers before the comparison, as in {@link maskFromLabelVolume}.
 *
 * @throws Nqo1Error ERR_MASK_GEOMETRY naming the first property (dimensions, spacing, axis or
 *   origin) that differs; ERR_MASK_EMPTY when every voxel is zero, or, listing the labels present,
 *   when no voxel has `label`.
 */
export function maskFromNrrdOnGrid(nrrd: NrrdVolume, grid: Grid, label: number): MaskVolume {
  checkSameGrid(nrrd.grid, grid);

  const mask = maskFromLabelVolume({ grid, voxels: nrrd.voxels }, label);
  if (!mask.voxels.includes(1) && nrrd.voxels.every((value) => value === 0)) {
    throw new Nqo1Error(
      'ERR_MASK_EMPTY',
      `The NRRD label map is empty because no voxel is non-zero, so it contains no label ${label}. ` +
        'Check the segmentation, and export it again once the tumour is drawn on it.',
      { details: { label } },
    );
  }
  if (!mask.voxels.includes(1)) {
    const present = new Set<number>();
    for (const value of nrrd.voxels) {
      if (present.size > LISTED_LABELS) break;
      present.add(Math.trunc(value));
    }
    const listed = [...present].sort((a, b) => a - b).slice(0, LISTED_LABELS);
    throw new Nqo1Error(
      'ERR_MASK_EMPTY',
      `The NRRD label map has no voxel with label ${label}; it holds the values ${listed.join(', ')}` +
        `${present.size > LISTED_LABELS ? ', ...' : ''}. Pass the label of the tumour.`,
      { details: { label } },
    );
  }
  return mask;
}

function checkSameGrid(mask: Grid, image: Grid): void {
  if (!vectorsAgree(mask.dimensions, image.dimensions, 0)) {
    throw geometryError(
      `its dimensions are ${mask.dimensions.join('×')}, the image's ${image.dimensions.join('×')}`,
    );
  }
  if (!vectorsAgree(mask.spacingMm, image.spacingMm, GEOMETRY_TOLERANCE.spacingMm)) {
    throw geometryError(
      `its spacing is ${formatVector(mask.spacingMm)} mm, the image's ${formatVector(image.spacingMm)} mm ` +
        `(tolerance ${GEOMETRY_TOLERANCE.spacingMm} mm)`,
    );
  }
  for (let axis = 0; axis < 3; axis++) {
    const maskAxis = mask.axes[axis]!;
    const imageAxis = image.axes[axis]!;
    if (!vectorsAgree(maskAxis, imageAxis, GEOMETRY_TOLERANCE.directionCosine)) {
      throw geometryError(
        `its axis ${'ijk'[axis]} points along ${formatVector(maskAxis)}, the image's along ${formatVector(imageAxis)}`,
      );
    }
  }
  const offset = subtract(mask.originMm, image.originMm);
  for (let axis = 0; axis < 3; axis++) {
    const along = dot(offset, image.axes[axis]!);
    const tolerance = positionToleranceMm(image.spacingMm[axis]!);
    if (Math.abs(along) > tolerance) {
      throw geometryError(
        `its origin ${formatVector(mask.originMm)} mm is ${along.toFixed(4)} mm from the image's ` +
          `${formatVector(image.originMm)} mm along axis ${'ijk'[axis]} (tolerance ${tolerance.toFixed(4)} mm)`,
      );
    }
  }
}

function geometryError(problem: string): Nqo1Error {
  return new Nqo1Error(
    'ERR_MASK_GEOMETRY',
    `The NRRD label map does not lie on the image grid: ${problem}. Export the label map on the grid of the ` +
      'CT series (resampling is not supported yet).',
  );
}
