/**
 * Axial pictures of the regions the features were computed on. A radiologist uses them to check that
 * the right lesion and series were used. Each slice that the dilated region reaches is cropped around
 * that region and shows the CT in a liver window. The tumour outline and the outer outline of the
 * tumour dilated by the model's margin are drawn over it.
 *
 * Display: column index i runs left to right and row index j top to bottom, as a DICOM image is shown
 * (the row direction of ImageOrientationPatient points right on screen). For a standard axial CT
 * this is the radiological view, the patient's left on the viewer's right.
 *
 * Greyscale: a pixel of value v in Hounsfield units becomes 255 · clamp((v − (L − W/2)) / W, 0, 1)
 * for window level L and width W (PS3.3 C.11.2.1.2.1 gives the same linear form). The default
 * liver window is W 200, L 60 HU.
 *
 * Outlines are drawn on the voxel edges, one output pixel wide, along each edge between a voxel in
 * the mask and an in-plane 4-neighbour outside it, so they lie exactly on the mask's border.
 */

import { Nqo1Error } from '../errors.js';
import { encodeRgbaPng } from '../plots/png-encode.js';
import type { ImageVolume, MaskVolume } from './volume.js';

/** Window level and width in Hounsfield units. */
export interface HuWindow {
  readonly levelHu: number;
  readonly widthHu: number;
}

/** A window that separates enhancing lesions from liver parenchyma. */
export const LIVER_WINDOW: HuWindow = { levelHu: 60, widthHu: 200 };

export interface RoiOverlayOptions {
  readonly window?: HuWindow;
  /** Context around the dilated region, in mm on each side. Default 10 mm. */
  readonly marginMm?: number;
  /** The longer side of each picture is scaled up to about this many pixels. Default 256. */
  readonly targetSidePx?: number;
}

/** One rendered slice. */
export interface RoiOverlaySlice {
  /** Slice index k in the CT volume, from 0. */
  readonly sliceIndex: number;
  readonly tumourVoxelCount: number;
  readonly widthPx: number;
  readonly heightPx: number;
  readonly png: Uint8Array;
}

export interface RoiOverlay {
  readonly window: HuWindow;
  /** Voxel box of the crop, inclusive, along i and j. */
  readonly cropVoxels: {
    readonly iMin: number;
    readonly iMax: number;
    readonly jMin: number;
    readonly jMax: number;
  };
  /** Output pixels per voxel along i and j. */
  readonly pixelsPerVoxel: readonly [number, number];
  readonly slices: readonly RoiOverlaySlice[];
}

/** RGBA of the tumour outline (orange-red) and of the outer outline of the dilated region (cyan). */
const TUMOUR_RGB = [0xff, 0x5a, 0x1f] as const;
const MARGIN_RGB = [0x22, 0xd3, 0xee] as const;

/** Maximum output pixels per voxel along one axis. */
const MAX_SCALE = 8;

/**
 * Renders one picture per slice that `dilated` reaches, ordered by slice index.
 *
 * @param tumour - The tumour mask, on the CT grid.
 * @param dilated - The tumour dilated by the model's margin, on the same grid; it contains `tumour`.
 * @throws Nqo1Error ERR_MASK_GEOMETRY when a mask is on another grid than the image;
 *   ERR_MASK_EMPTY when the dilated region is empty.
 */
export function renderRoiOverlay(
  image: ImageVolume,
  tumour: MaskVolume,
  dilated: MaskVolume,
  options: RoiOverlayOptions = {},
): RoiOverlay {
  checkSameGrid(image, tumour, 'tumour');
  checkSameGrid(image, dilated, 'dilated region');
  const window = options.window ?? LIVER_WINDOW;
  const [nx, ny, nz] = image.grid.dimensions;
  const [spacingI, spacingJ] = image.grid.spacingMm;

  // The crop: the dilated region's in-plane box over all slices, widened by the margin.
  const box = planeBox(dilated);
  if (box === null) {
    throw new Nqo1Error('ERR_MASK_EMPTY', 'The dilated region has no voxel, so there is nothing to draw.');
  }
  const marginMm = options.marginMm ?? 10;
  const crop = {
    iMin: Math.max(0, box.iMin - Math.ceil(marginMm / spacingI)),
    iMax: Math.min(nx - 1, box.iMax + Math.ceil(marginMm / spacingI)),
    jMin: Math.max(0, box.jMin - Math.ceil(marginMm / spacingJ)),
    jMax: Math.min(ny - 1, box.jMax + Math.ceil(marginMm / spacingJ)),
  };

  // Pixels per voxel, keeping the physical aspect ratio when the two spacings differ.
  const widthMm = (crop.iMax - crop.iMin + 1) * spacingI;
  const heightMm = (crop.jMax - crop.jMin + 1) * spacingJ;
  const pixelsPerMm = (options.targetSidePx ?? 256) / Math.max(widthMm, heightMm);
  const scale: [number, number] = [
    Math.min(MAX_SCALE, Math.max(1, Math.round(pixelsPerMm * spacingI))),
    Math.min(MAX_SCALE, Math.max(1, Math.round(pixelsPerMm * spacingJ))),
  ];

  const slices: RoiOverlaySlice[] = [];
  for (let k = 0; k < nz; k++) {
    if (!sliceHasVoxel(dilated, k, box)) continue;
    slices.push(renderSlice(image, tumour, dilated, k, crop, scale, window));
  }
  return { window, cropVoxels: crop, pixelsPerVoxel: scale, slices };
}

interface PlaneBox {
  readonly iMin: number;
  readonly iMax: number;
  readonly jMin: number;
  readonly jMax: number;
}

function renderSlice(
  image: ImageVolume,
  tumour: MaskVolume,
  dilated: MaskVolume,
  k: number,
  crop: PlaneBox,
  scale: readonly [number, number],
  window: HuWindow,
): RoiOverlaySlice {
  const [nx, ny] = image.grid.dimensions;
  const [sx, sy] = scale;
  const cropWidth = crop.iMax - crop.iMin + 1;
  const cropHeight = crop.jMax - crop.jMin + 1;
  const widthPx = cropWidth * sx;
  const heightPx = cropHeight * sy;
  const rgba = new Uint8Array(widthPx * heightPx * 4);
  const low = window.levelHu - window.widthHu / 2;
  const sliceOffset = k * nx * ny;

  // Greyscale CT, each voxel a block of sx × sy pixels.
  for (let j = crop.jMin; j <= crop.jMax; j++) {
    for (let i = crop.iMin; i <= crop.iMax; i++) {
      const hu = image.voxels[sliceOffset + j * nx + i]!;
      const grey = Math.round(255 * Math.min(1, Math.max(0, (hu - low) / window.widthHu)));
      const x0 = (i - crop.iMin) * sx;
      const y0 = (j - crop.jMin) * sy;
      for (let y = y0; y < y0 + sy; y++) {
        for (let x = x0; x < x0 + sx; x++) {
          const p = (y * widthPx + x) * 4;
          rgba[p] = grey;
          rgba[p + 1] = grey;
          rgba[p + 2] = grey;
          rgba[p + 3] = 255;
        }
      }
    }
  }

  // The margin's outer outline first, so the tumour outline stays on top where they touch.
  drawOutline(rgba, widthPx, dilated, sliceOffset, nx, ny, crop, scale, MARGIN_RGB);
  const tumourVoxelCount = drawOutline(rgba, widthPx, tumour, sliceOffset, nx, ny, crop, scale, TUMOUR_RGB);

  return { sliceIndex: k, tumourVoxelCount, widthPx, heightPx, png: encodeRgbaPng(widthPx, heightPx, rgba) };
}

/**
 * Paints, for every mask voxel of the slice inside the crop, the one-pixel-wide edge of its block
 * that faces an in-plane 4-neighbour outside the mask (or outside the volume). Returns the number of
 * mask voxels in the slice within the crop.
 */
function drawOutline(
  rgba: Uint8Array,
  widthPx: number,
  mask: MaskVolume,
  sliceOffset: number,
  nx: number,
  ny: number,
  crop: PlaneBox,
  scale: readonly [number, number],
  rgb: readonly [number, number, number],
): number {
  const [sx, sy] = scale;
  const inMask = (i: number, j: number): boolean =>
    i >= 0 && i < nx && j >= 0 && j < ny && mask.voxels[sliceOffset + j * nx + i] !== 0;
  const paint = (x: number, y: number): void => {
    const p = (y * widthPx + x) * 4;
    rgba[p] = rgb[0];
    rgba[p + 1] = rgb[1];
    rgba[p + 2] = rgb[2];
    rgba[p + 3] = 255;
  };

  let count = 0;
  for (let j = crop.jMin; j <= crop.jMax; j++) {
    for (let i = crop.iMin; i <= crop.iMax; i++) {
      if (!inMask(i, j)) continue;
      count++;
      const x0 = (i - crop.iMin) * sx;
      const y0 = (j - crop.jMin) * sy;
      if (!inMask(i - 1, j)) for (let y = y0; y < y0 + sy; y++) paint(x0, y);
      if (!inMask(i + 1, j)) for (let y = y0; y < y0 + sy; y++) paint(x0 + sx - 1, y);
      if (!inMask(i, j - 1)) for (let x = x0; x < x0 + sx; x++) paint(x, y0);
      if (!inMask(i, j + 1)) for (let x = x0; x < x0 + sx; x++) paint(x, y0 + sy - 1);
    }
  }
  return count;
}

/** Returns the in-plane voxel box of a mask over all slices, or null when the mask is empty. */
function planeBox(mask: MaskVolume): PlaneBox | null {
  const [nx, ny, nz] = mask.grid.dimensions;
  let iMin = nx;
  let iMax = -1;
  let jMin = ny;
  let jMax = -1;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      const rowOffset = (k * ny + j) * nx;
      for (let i = 0; i < nx; i++) {
        if (mask.voxels[rowOffset + i] === 0) continue;
        if (i < iMin) iMin = i;
        if (i > iMax) iMax = i;
        if (j < jMin) jMin = j;
        if (j > jMax) jMax = j;
      }
    }
  }
  return iMax < 0 ? null : { iMin, iMax, jMin, jMax };
}

function sliceHasVoxel(mask: MaskVolume, k: number, box: PlaneBox): boolean {
  const [nx, ny] = mask.grid.dimensions;
  for (let j = box.jMin; j <= box.jMax; j++) {
    const rowOffset = (k * ny + j) * nx;
    for (let i = box.iMin; i <= box.iMax; i++) if (mask.voxels[rowOffset + i] !== 0) return true;
  }
  return false;
}

function checkSameGrid(image: ImageVolume, mask: MaskVolume, name: string): void {
  const a = image.grid.dimensions;
  const b = mask.grid.dimensions;
  if (a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && mask.voxels.length === image.voxels.length) return;
  throw new Nqo1Error(
    'ERR_MASK_GEOMETRY',
    `The ${name} (${b.join('×')}) is not on the CT grid (${a.join('×')}); resample it onto the CT before drawing.`,
    { details: { imageDimensions: [...a], maskDimensions: [...b] } },
  );
}
