import { describe, expect, test } from 'vitest';

import { dilateMaskMm } from '../../src/imaging/dilate.js';
import { renderRoiOverlay } from '../../src/imaging/roi-overlay.js';
import type { Grid, ImageVolume, MaskVolume } from '../../src/imaging/volume.js';
import { encodeRgbaPng } from '../../src/plots/png-encode.js';
import { axisAlignedGrid } from '../support/grid.js';
import { decodePng, readPngSize } from '../support/png-pixels.js';

/** 30 × 30 × 7 voxels of 1 mm, axis-aligned. */
const GRID: Grid = axisAlignedGrid([30, 30, 7]);
const [NX, NY, NZ] = GRID.dimensions;
/** Output pixels per voxel in the overlay under test. */
const S = 8;
const index = (i: number, j: number, k: number): number => i + NX * (j + NY * k);

/** CT of 60 HU (the window's level) everywhere, with a 160 HU tumour of 4 × 4 voxels on slices 2 to 4. */
function phantom(): { image: ImageVolume; tumour: MaskVolume } {
  const image = new Float64Array(NX * NY * NZ).fill(60);
  const tumour = new Uint8Array(NX * NY * NZ);
  for (let k = 2; k <= 4; k++) {
    for (let j = 13; j <= 16; j++) {
      for (let i = 13; i <= 16; i++) {
        image[index(i, j, k)] = 160;
        tumour[index(i, j, k)] = 1;
      }
    }
  }
  return { image: { grid: GRID, voxels: image }, tumour: { grid: GRID, voxels: tumour } };
}

/** RGBA of output pixel (x, y). */
function pixel(png: Uint8Array, x: number, y: number): number[] {
  const decoded = decodePng(png);
  const p = (y * decoded.width + x) * 4;
  return [...decoded.rgba.subarray(p, p + 4)];
}

describe('renderRoiOverlay', () => {
  const { image, tumour } = phantom();
  const dilated = dilateMaskMm(tumour, 3);
  const overlay = renderRoiOverlay(image, tumour, dilated, { marginMm: 2, targetSidePx: 112 });

  test('draws each slice the 3 mm region reaches', () => {
    // The tumour spans slices 2–4; 3 mm at 1 mm spacing reaches slices 0–6, clipped by the volume.
    expect(overlay.slices.map((slice) => slice.sliceIndex)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(overlay.slices.map((slice) => slice.tumourVoxelCount)).toEqual([0, 0, 16, 16, 16, 0, 0]);
  });

  test('crops to the dilated region plus the margin and scales up', () => {
    // Dilated in-plane box: 10..19 on both axes; 2 mm margin: 8..21, 14 voxels; 112 px / 14 mm = 8.
    expect(overlay.cropVoxels).toEqual({ iMin: 8, iMax: 21, jMin: 8, jMax: 21 });
    expect(overlay.pixelsPerVoxel).toEqual([S, S]);
    expect(readPngSize(overlay.slices[2]!.png)).toMatchObject({ width: 112, height: 112, colourType: 6 });
    // A larger target is capped at 8 pixels per voxel.
    expect(
      renderRoiOverlay(image, tumour, dilated, { marginMm: 2, targetSidePx: 400 }).pixelsPerVoxel,
    ).toEqual([8, 8]);
  });

  test('maps Hounsfield units through the liver window', () => {
    const middle = overlay.slices[3]!.png;
    // Voxel (9, 9), far from both outlines: 60 HU is the level, so mid grey (255 · 0.5 rounded).
    expect(pixel(middle, 15, 15)).toEqual([128, 128, 128, 255]);
    // Voxel (14, 14), inside the tumour away from its edge: 160 HU is the top of the window.
    expect(pixel(middle, (14 - 8) * S + 5, (14 - 8) * S + 5)).toEqual([255, 255, 255, 255]);
  });

  test('draws the tumour and margin outlines on the voxel edges', () => {
    const middle = overlay.slices[3]!.png;
    // The tumour's left edge is the left pixel column of voxel i = 13.
    const tumourLeftX = (13 - 8) * S;
    expect(pixel(middle, tumourLeftX, (14 - 8) * S + 5)).toEqual([0xff, 0x5a, 0x1f, 255]);
    expect(pixel(middle, tumourLeftX + 1, (14 - 8) * S + 5)).toEqual([255, 255, 255, 255]);
    // The dilated region's left edge on row j = 14 is voxel i = 10.
    expect(pixel(middle, (10 - 8) * S, (14 - 8) * S + 5)).toEqual([0x22, 0xd3, 0xee, 255]);
    // A slice with only the margin has no tumour colour at all.
    const top = decodePng(overlay.slices[0]!.png).rgba;
    let tumourPixels = 0;
    for (let p = 0; p < top.length; p += 4) if (top[p] === 0xff && top[p + 1] === 0x5a) tumourPixels++;
    expect(tumourPixels).toBe(0);
  });

  test('refuses a mask on another grid', () => {
    const other: MaskVolume = {
      grid: { ...GRID, dimensions: [30, 30, 6] },
      voxels: new Uint8Array(NX * NY * 6),
    };

    expect(() => renderRoiOverlay(image, other, dilated)).toThrow(
      expect.objectContaining({ code: 'ERR_MASK_GEOMETRY' }) as Error,
    );
  });

  test('refuses an empty region', () => {
    const empty: MaskVolume = { grid: GRID, voxels: new Uint8Array(NX * NY * NZ) };

    expect(() => renderRoiOverlay(image, empty, empty)).toThrow(
      expect.objectContaining({ code: 'ERR_MASK_EMPTY' }) as Error,
    );
  });
});

describe('encodeRgbaPng', () => {
  test('round-trips the pixels through a PNG decoder', () => {
    const rgba = Uint8Array.from({ length: 3 * 2 * 4 }, (_value, position) => (position * 37) % 256);

    const decoded = decodePng(encodeRgbaPng(3, 2, rgba));

    expect(decoded.width).toBe(3);
    expect(decoded.height).toBe(2);
    expect([...decoded.rgba]).toEqual([...rgba]);
  });

  test('refuses a buffer of the wrong length', () => {
    expect(() => encodeRgbaPng(3, 2, new Uint8Array(23))).toThrow('needs 24 RGBA bytes');
  });
});
