/**
 * Region of interest: mask checks, bounding box and cropping.
 *
 * Follows pyradiomics 3.x `imageoperations.checkMask` and `_checkROI`. The ROI is the set of mask
 * voxels equal to `label`. Texture classes run on the image cropped to the ROI bounding box without
 * padding. An ROI that spans fewer axes than `minimumROIDimensions` is rejected. Unlike pyradiomics
 * there is no `correctMask`, so the mask must already lie on the image grid.
 */

import { Nqo1Error } from '../errors.js';
import type { Grid, ImageVolume, MaskVolume, Vec3 } from '../imaging/volume.js';
import type { RadiomicsSettings } from './settings.js';

/**
 * Relative tolerance of the grid comparison. SimpleITK compares origins and spacings with a
 * coordinate tolerance of 1e-6 times the spacing, and direction cosines with 1e-6.
 */
export const GRID_TOLERANCE = 1e-6;

/** The ROI cropped to its bounding box, in the voxel order of {@link Grid} (i fastest). */
export interface Roi {
  /** Index of the first bounding-box voxel along i, j and k in the full grid. */
  readonly lower: Vec3;
  /** Voxel counts of the bounding box along i, j and k. */
  readonly size: Vec3;
  /** 1 where the cropped voxel belongs to the ROI, else 0. */
  readonly mask: Uint8Array;
  /** Image values of the ROI voxels only, in storage order. */
  readonly roiIntensities: Float64Array;
  /** Number of ROI voxels. */
  readonly voxelCount: number;
  /** Centre-to-centre distances of the full grid in millimetres along i, j and k. */
  readonly spacingMm: Vec3;
}

/**
 * Checks that `mask` lies on the grid of `image`: same dimensions, and origin, spacing and axes equal
 * within {@link GRID_TOLERANCE}.
 *
 * @throws Nqo1Error ERR_MASK_GEOMETRY naming the first differing property and both values.
 */
export function assertSameGrid(image: Grid, mask: Grid): void {
  const fail = (property: string, imageValue: readonly number[], maskValue: readonly number[]): never => {
    throw new Nqo1Error(
      'ERR_MASK_GEOMETRY',
      `The mask ${property} [${maskValue.join(', ')}] differs from the image ${property} ` +
        `[${imageValue.join(', ')}]. Resample the mask onto the image grid (nearest neighbour) before extraction.`,
      { details: { property, image: imageValue, mask: maskValue } },
    );
  };

  for (let axis = 0; axis < 3; axis++) {
    if (image.dimensions[axis] !== mask.dimensions[axis])
      fail('dimensions', image.dimensions, mask.dimensions);
  }

  for (let axis = 0; axis < 3; axis++) {
    const tolerance = GRID_TOLERANCE * image.spacingMm[axis]!;
    if (Math.abs(image.spacingMm[axis]! - mask.spacingMm[axis]!) > tolerance) {
      fail('spacingMm', image.spacingMm, mask.spacingMm);
    }
  }

  const originTolerance = GRID_TOLERANCE * Math.min(...image.spacingMm);
  for (let axis = 0; axis < 3; axis++) {
    if (Math.abs(image.originMm[axis]! - mask.originMm[axis]!) > originTolerance) {
      fail('originMm', image.originMm, mask.originMm);
    }
  }

  for (let axis = 0; axis < 3; axis++) {
    const imageAxis = image.axes[axis]!;
    const maskAxis = mask.axes[axis]!;
    for (let c = 0; c < 3; c++) {
      if (Math.abs(imageAxis[c]! - maskAxis[c]!) > GRID_TOLERANCE) fail(`axes[${axis}]`, imageAxis, maskAxis);
    }
  }
}

/** Returns the distinct nonzero values of a mask in ascending order. */
export function labelsPresent(mask: MaskVolume): number[] {
  const seen = new Uint8Array(256);
  const voxels = mask.voxels;
  for (let index = 0; index < voxels.length; index++) seen[voxels[index]!] = 1;
  const labels: number[] = [];
  for (let value = 1; value < 256; value++) if (seen[value] === 1) labels.push(value);
  return labels;
}

/**
 * Crops `image` and `mask` to the bounding box of the voxels equal to `settings.label`, after checking
 * the grids, the label and the ROI size.
 *
 * @throws Nqo1Error ERR_MASK_GEOMETRY when the grids differ (see {@link assertSameGrid}).
 * @throws Nqo1Error ERR_MASK_EMPTY when no voxel carries the label. The message lists the labels present.
 * @throws Nqo1Error ERR_ROI_TOO_SMALL for a single voxel, for fewer spanned axes than
 *   `minimumROIDimensions`, or for no more voxels than `minimumROISize`.
 * @throws Nqo1Error ERR_IMAGE_VALUES when an ROI intensity is NaN or infinite.
 */
export function extractRoi(image: ImageVolume, mask: MaskVolume, settings: RadiomicsSettings): Roi {
  assertSameGrid(image.grid, mask.grid);

  const [nx, ny] = mask.grid.dimensions;
  const label = settings.label;

  const box = labelBoundingBox(mask.voxels, mask.grid.dimensions, label);
  const voxelCount = box.voxelCount;
  const [minI, minJ, minK] = box.lower;
  const [maxI, maxJ, maxK] = box.upper;

  if (voxelCount === 0) {
    const present = labelsPresent(mask);
    const presentText =
      present.length === 0 ? 'the mask contains only 0' : `labels present: ${present.join(', ')}`;
    throw new Nqo1Error(
      'ERR_MASK_EMPTY',
      `The mask contains no voxel with label ${label} (${presentText}). Set the label setting to the value that marks the region.`,
      { details: { label, labelsPresent: present } },
    );
  }

  const size: Vec3 = [maxI - minI + 1, maxJ - minJ + 1, maxK - minK + 1];
  checkRoiSize(size, voxelCount, settings);

  // Crop the mask to the box and gather the ROI values in storage order.
  const [sx, sy, sz] = size;
  const boxMask = new Uint8Array(sx * sy * sz);
  const roiIntensities = new Float64Array(voxelCount);
  const imageVoxels = image.voxels;
  const maskVoxels = mask.voxels;
  let roiIndex = 0;
  for (let k = 0; k < sz; k++) {
    for (let j = 0; j < sy; j++) {
      const source = minI + nx * (minJ + j + ny * (minK + k));
      const boxRow = sx * (j + sy * k);
      for (let i = 0; i < sx; i++) {
        if (maskVoxels[source + i] !== label) continue;
        const value = imageVoxels[source + i]!;
        if (!Number.isFinite(value)) {
          throw new Nqo1Error(
            'ERR_IMAGE_VALUES',
            `The image value at voxel (${minI + i}, ${minJ + j}, ${minK + k}) inside the region is ${value}. ` +
              'Check the image decoding or exclude such voxels from the mask.',
          );
        }
        boxMask[boxRow + i] = 1;
        roiIntensities[roiIndex++] = value;
      }
    }
  }

  return {
    lower: [minI, minJ, minK],
    size,
    mask: boxMask,
    roiIntensities,
    voxelCount,
    spacingMm: image.grid.spacingMm,
  };
}

/** Bounding box (inclusive) and voxel count of the voxels equal to `label`. */
export interface LabelBox {
  readonly lower: Vec3;
  readonly upper: Vec3;
  readonly voxelCount: number;
}

/**
 * Finds the bounding box of the voxels equal to `label` (1..255) in a mask of `dimensions`.
 *
 * The scan reads the mask four voxels at a time through a 32-bit view and looks at single voxels only
 * in rows that hold a nonzero word, between the first and the last such word. Rows of a CT volume are
 * mostly empty, so this touches each byte of the volume once, in word loads. An empty label gives
 * `voxelCount` 0 and `lower` above `upper`.
 */
export function labelBoundingBox(voxels: Uint8Array, dimensions: Vec3, label: number): LabelBox {
  const [nx, ny, nz] = dimensions;
  let minI = nx,
    minJ = ny,
    minK = nz;
  let maxI = -1,
    maxJ = -1,
    maxK = -1;
  let voxelCount = 0;

  // Word view of the whole buffer when aligned; rows are then scanned word by word.
  const aligned = voxels.byteOffset % 4 === 0;
  const words = aligned ? new Uint32Array(voxels.buffer, voxels.byteOffset, voxels.length >>> 2) : undefined;
  const wordCount = words === undefined ? 0 : words.length;

  let rowStart = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++, rowStart += nx) {
      const rowEnd = rowStart + nx;

      // First and last byte of the row that may be nonzero, found by words where possible.
      let first = rowStart;
      let last = rowEnd - 1;
      if (words !== undefined) {
        const firstWord = (rowStart + 3) >>> 2;
        const endWord = Math.min(rowEnd >>> 2, wordCount);
        if (endWord > firstWord) {
          let lowWord = firstWord;
          while (lowWord < endWord && words[lowWord] === 0) lowWord++;
          let highWord = endWord - 1;
          while (highWord >= lowWord && words[highWord] === 0) highWord--;
          // Bytes before the first whole word and after the last whole word are checked one by one.
          let headNonzero = false;
          for (let b = rowStart; b < firstWord << 2; b++) if (voxels[b] !== 0) headNonzero = true;
          let tailNonzero = false;
          for (let b = endWord << 2; b < rowEnd; b++) if (voxels[b] !== 0) tailNonzero = true;
          if (lowWord >= endWord && !headNonzero && !tailNonzero) continue;
          if (!headNonzero) first = lowWord >= endWord ? endWord << 2 : lowWord << 2;
          if (!tailNonzero) last = highWord < lowWord ? (firstWord << 2) - 1 : (highWord << 2) + 3;
        }
      }

      let rowCount = 0;
      let rowMin = -1;
      let rowMax = -1;
      for (let index = first; index <= last; index++) {
        if (voxels[index] !== label) continue;
        if (rowMin < 0) rowMin = index;
        rowMax = index;
        rowCount++;
      }
      if (rowCount === 0) continue;

      voxelCount += rowCount;
      const lowI = rowMin - rowStart;
      const highI = rowMax - rowStart;
      if (lowI < minI) minI = lowI;
      if (highI > maxI) maxI = highI;
      if (j < minJ) minJ = j;
      if (j > maxJ) maxJ = j;
      if (k < minK) minK = k;
      if (k > maxK) maxK = k;
    }
  }
  return { lower: [minI, minJ, minK], upper: [maxI, maxJ, maxK], voxelCount };
}

/** Rejects an ROI that spans too few axes or has too few voxels. */
function checkRoiSize(size: Vec3, voxelCount: number, settings: RadiomicsSettings): void {
  const spannedAxes = size.filter((extent) => extent > 1).length;
  if (spannedAxes === 0) {
    throw new Nqo1Error(
      'ERR_ROI_TOO_SMALL',
      `The region with label ${settings.label} is a single voxel; texture and statistics need at least two voxels. Check the segmentation.`,
      { details: { voxelCount, spannedAxes } },
    );
  }
  if (spannedAxes < settings.minimumROIDimensions) {
    throw new Nqo1Error(
      'ERR_ROI_TOO_SMALL',
      `The region with label ${settings.label} spans ${spannedAxes} axis/axes (bounding box ${size.join('×')} voxels) ` +
        `but minimumROIDimensions is ${settings.minimumROIDimensions}. Check the segmentation or lower minimumROIDimensions.`,
      { details: { voxelCount, spannedAxes, minimumROIDimensions: settings.minimumROIDimensions } },
    );
  }
  if (settings.minimumROISize !== undefined && voxelCount <= settings.minimumROISize) {
    throw new Nqo1Error(
      'ERR_ROI_TOO_SMALL',
      `The region with label ${settings.label} has ${voxelCount} voxels, not more than minimumROISize ` +
        `${settings.minimumROISize}. Check the segmentation or lower minimumROISize.`,
      { details: { voxelCount, minimumROISize: settings.minimumROISize } },
    );
  }
}
