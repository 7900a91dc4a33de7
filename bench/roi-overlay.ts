/**
 * Cost of the region pictures of one analysis (`src/imaging/roi-overlay.ts`). The case is a
 * 512 × 512 × 300 CT at 0.78 × 0.78 × 1.25 mm with noise of about σ 12 HU around 50 HU, and a 40 mm
 * radius spherical tumour dilated by 3 mm. Reports the median drawing time of 3 runs, the slice count, the picture size
 * and the bytes of all PNGs, which the result store keeps per analysis.
 *
 * Run alone: `node --import tsx bench/roi-overlay.ts`.
 */
import { fileURLToPath } from 'node:url';

import { dilateMaskMm } from '../src/imaging/dilate.js';
import { renderRoiOverlay } from '../src/imaging/roi-overlay.js';
import type { Grid } from '../src/imaging/volume.js';

export interface RoiOverlayBenchResult {
  readonly medianMs: number;
  readonly slices: number;
  readonly widthPx: number;
  readonly heightPx: number;
  readonly pngBytes: number;
}

/** Draws the pictures of the generated case 3 times. */
export function benchRoiOverlay(): RoiOverlayBenchResult {
  const [nx, ny, nz] = [512, 512, 300];
  const spacingMm = [0.78, 0.78, 1.25] as const;
  const grid: Grid = {
    dimensions: [nx, ny, nz],
    spacingMm,
    originMm: [0, 0, 0],
    axes: [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ],
  };

  // Noise: the sum of three uniform numbers, scaled to a standard deviation of 12 HU.
  const image = new Float64Array(nx * ny * nz);
  for (let index = 0; index < image.length; index++) {
    image[index] = 50 + 24 * (Math.random() + Math.random() + Math.random() - 1.5);
  }
  const tumour = new Uint8Array(nx * ny * nz);
  const centreMm = [256 * spacingMm[0], 256 * spacingMm[1], 150 * spacingMm[2]];
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const dx = i * spacingMm[0] - centreMm[0]!;
        const dy = j * spacingMm[1] - centreMm[1]!;
        const dz = k * spacingMm[2] - centreMm[2]!;
        if (dx * dx + dy * dy + dz * dz <= 40 * 40) tumour[i + nx * (j + ny * k)] = 1;
      }
    }
  }
  const mask = { grid, voxels: tumour };
  const dilated = dilateMaskMm(mask, 3);

  const times: number[] = [];
  let last = renderRoiOverlay({ grid, voxels: image }, mask, dilated);
  for (let run = 0; run < 3; run++) {
    const started = performance.now();
    last = renderRoiOverlay({ grid, voxels: image }, mask, dilated);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return {
    medianMs: times[1]!,
    slices: last.slices.length,
    widthPx: last.slices[0]?.widthPx ?? 0,
    heightPx: last.slices[0]?.heightPx ?? 0,
    pngBytes: last.slices.reduce((sum, slice) => sum + slice.png.length, 0),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(benchRoiOverlay()));
}
