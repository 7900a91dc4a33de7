/**
 * Shape features on a generated 512 × 512 × 120 volume (spacing 0.7 × 0.7 × 1.25 mm) holding a
 * sphere of radius 40 mm. Reports the median of `RUNS` runs after one warm-up, for the 14 shape
 * features alone (ROI already cropped) and for the whole `computeFeatures` call with shape names only
 * (adds the mask scan and crop over 31 million voxels).
 */
import type { ImageVolume, MaskVolume, Vec3 } from '../src/imaging/volume.js';
import { computeFeatures } from '../src/radiomics/extract.js';
import { FEATURE_REGISTRY } from '../src/radiomics/registry.js';
import { extractRoi } from '../src/radiomics/roi.js';
import { parseRadiomicsSettings } from '../src/radiomics/settings.js';
import * as shape from '../src/radiomics/shape.js';

const RUNS = 5;
const DIMENSIONS: Vec3 = [512, 512, 120];
const SPACING_MM: Vec3 = [0.7, 0.7, 1.25];
const RADIUS_MM = 40;

export interface ShapeBenchRow {
  readonly voxels: number;
  readonly shapeOnlyMs: number;
  readonly computeFeaturesMs: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Builds a sphere of `RADIUS_MM` centred in the volume, and a zero image on the same grid. */
export function sphereCase(): { image: ImageVolume; mask: MaskVolume } {
  const [nx, ny, nz] = DIMENSIONS;
  const [sx, sy, sz] = SPACING_MM;
  const grid = {
    dimensions: DIMENSIONS,
    spacingMm: SPACING_MM,
    originMm: [0, 0, 0] as Vec3,
    axes: [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ] as [Vec3, Vec3, Vec3],
  };
  const voxels = new Uint8Array(nx * ny * nz);
  const [cx, cy, cz] = [((nx - 1) / 2) * sx, ((ny - 1) / 2) * sy, ((nz - 1) / 2) * sz];
  let index = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, index++) {
        const d2 = (i * sx - cx) ** 2 + (j * sy - cy) ** 2 + (k * sz - cz) ** 2;
        if (d2 <= RADIUS_MM * RADIUS_MM) voxels[index] = 1;
      }
    }
  }
  return { image: { grid, voxels: new Float64Array(voxels.length) }, mask: { grid, voxels } };
}

/**
 * The sphere of {@link sphereCase} on a CT-like image of integer HU values: soft tissue of about
 * 40 HU around a lesion of about 80 HU, each with deterministic noise (sum of three uniform draws,
 * σ ≈ 12 HU outside and 20 HU inside), so that the texture classes see realistic gray levels.
 */
export function ctSphereCase(): { image: ImageVolume; mask: MaskVolume } {
  const { image, mask } = sphereCase();
  let state = 20261204;
  const uniform = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const voxels = image.voxels;
  for (let index = 0; index < voxels.length; index++) {
    const noise = uniform() + uniform() + uniform() - 1.5;
    voxels[index] = mask.voxels[index] === 1 ? Math.round(80 + 40 * noise) : Math.round(40 + 24 * noise);
  }
  return { image, mask };
}

/** Runs the shape benchmark. */
export function benchShape(): ShapeBenchRow {
  const { image, mask } = sphereCase();
  const settings = parseRadiomicsSettings({});
  const names = [...FEATURE_REGISTRY.keys()].filter((name) => name.startsWith('original_shape_'));
  const roi = extractRoi(image, mask, settings);

  const features = [
    shape.meshVolume,
    shape.voxelVolume,
    shape.surfaceArea,
    shape.surfaceVolumeRatio,
    shape.sphericity,
    shape.maximum3dDiameter,
    shape.maximum2dDiameterSlice,
    shape.maximum2dDiameterColumn,
    shape.maximum2dDiameterRow,
    shape.majorAxisLength,
    shape.minorAxisLength,
    shape.leastAxisLength,
    shape.elongation,
    shape.flatness,
  ];
  const shapeOnly = (): void => {
    const input = shape.prepareShape(roi);
    for (const feature of features) feature(input);
  };
  const whole = (): void => {
    computeFeatures(image, mask, names, settings);
  };

  const time = (run: () => void): number => {
    run();
    const durations: number[] = [];
    for (let attempt = 0; attempt < RUNS; attempt++) {
      const started = performance.now();
      run();
      durations.push(performance.now() - started);
    }
    return median(durations);
  };

  return { voxels: roi.voxelCount, shapeOnlyMs: time(shapeOnly), computeFeaturesMs: time(whole) };
}
