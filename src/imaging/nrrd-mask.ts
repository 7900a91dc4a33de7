/**
 * NRRD label maps (and other label volumes, such as NIfTI) as binary masks on the CT grid.
 *
 * A label map on the CT grid is used as it is. Same grid means equal dimensions, spacings within
 * 0.001 mm, axis directions within 1e-4 per component, and the origin within the position
 * tolerance along each axis. That tolerance is max(0.01 mm, 1 % of the spacing) unless
 * `toleranceMm` sets it. A label map on any other grid (other spacing, shifted origin, cropped, other orientation)
 * is resampled onto the CT grid by nearest neighbour, see `mask-on-grid.ts`.
 */

import { Nqo1Error } from '../errors.js';

import {
  boundingBoxMm,
  checkRoiOnGrid,
  countOutside,
  maskToleranceMm,
  resampleLabels,
} from './mask-on-grid.js';
import { maskFromLabelVolume } from './nrrd.js';
import { GEOMETRY_TOLERANCE, dot, subtract, vectorsAgree } from './slice-geometry.js';

import type { MaskGridOptions } from './mask-on-grid.js';
import type { NrrdVolume } from './nrrd.js';
import type { Grid, MaskVolume } from './volume.js';

export type { MaskGridOptions } from './mask-on-grid.js';

/** Number of distinct label values listed in the error for an absent label. */
const LISTED_LABELS = 10;

/**
 * Returns the voxels of `nrrd` equal to `label` as a 0/1 mask on `grid`, resampled by nearest
 * neighbour when the label map lies on another grid.
 *
 * Label values are truncated to integers before the comparison, as in {@link maskFromLabelVolume}.
 *
 * @param options - `toleranceMm`: position tolerance for treating both grids as one
 * @throws Nqo1Error ERR_MASK_EMPTY when every voxel is zero, or, listing the labels present, when
 *   no voxel has `label`; ERR_MASK_GEOMETRY when the label lies wholly outside the image, giving
 *   both bounding boxes in mm; ERR_ROI_TOO_SMALL when one image voxel carries the label.
 */
export function maskFromNrrdOnGrid(
  nrrd: NrrdVolume,
  grid: Grid,
  label: number,
  options: MaskGridOptions = {},
): MaskVolume {
  const source = maskFromLabelVolume(nrrd, label);
  let sourceVoxels = 0;
  const voxels = source.voxels;
  for (let index = 0; index < voxels.length; index++) sourceVoxels += voxels[index]!;
  if (sourceVoxels === 0) throw absentLabelError(nrrd, label);

  const mask = isOnImageGrid(nrrd.grid, grid, options)
    ? { grid, voxels: source.voxels }
    : { grid, voxels: resampleLabels(source.voxels, nrrd.grid, grid, options) };
  checkRoiOnGrid(mask, {
    description: `The label ${label} of the label map`,
    sourceVoxels,
    sourceBoxMm: boundingBoxMm(nrrd.grid, (index) => source.voxels[index] === 1),
    outsideVoxels: countOutside(nrrd.grid, (index) => source.voxels[index] === 1, grid, options),
  });
  return mask;
}

function absentLabelError(nrrd: NrrdVolume, label: number): Nqo1Error {
  if (nrrd.voxels.every((value) => value === 0)) {
    return new Nqo1Error(
      'ERR_MASK_EMPTY',
      `The label map is empty because no voxel is non-zero, so it contains no label ${label}. ` +
        'Check the segmentation, and export it again once the tumour is drawn on it.',
      { details: { label } },
    );
  }
  const present = new Set<number>();
  for (const value of nrrd.voxels) {
    if (present.size > LISTED_LABELS) break;
    present.add(Math.trunc(value));
  }
  const listed = [...present].sort((a, b) => a - b).slice(0, LISTED_LABELS);
  return new Nqo1Error(
    'ERR_MASK_EMPTY',
    `The label map has no voxel with label ${label}; it holds the values ${listed.join(', ')} (after truncation to integers)` +
      `${present.size > LISTED_LABELS ? ', ...' : ''}. Pass the label of the tumour.`,
    { details: { label } },
  );
}

/**
 * True when the mask grid equals the image grid within the tolerances above, so the mask is taken
 * voxel for voxel; false when it is resampled.
 */
export function isOnImageGrid(mask: Grid, image: Grid, options: MaskGridOptions = {}): boolean {
  if (!vectorsAgree(mask.dimensions, image.dimensions, 0)) return false;
  if (!vectorsAgree(mask.spacingMm, image.spacingMm, GEOMETRY_TOLERANCE.spacingMm)) return false;
  for (let axis = 0; axis < 3; axis++) {
    if (!vectorsAgree(mask.axes[axis]!, image.axes[axis]!, GEOMETRY_TOLERANCE.directionCosine)) return false;
  }
  const offset = subtract(mask.originMm, image.originMm);
  for (let axis = 0; axis < 3; axis++) {
    const along = dot(offset, image.axes[axis]!);
    if (Math.abs(along) > maskToleranceMm(image.spacingMm[axis]!, options)) return false;
  }
  return true;
}
