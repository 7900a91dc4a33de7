/**
 * Synthetic arterial-phase liver CT with an enhancing tumour, built in physical space so that the
 * same anatomy can be sampled on any grid. Values are plausible, not realistic. Soft tissue is about
 * 40 HU, subcutaneous fat about −100 HU and arterial-phase liver parenchyma about 65 HU. The tumour
 * is hyper-enhancing, as HCC is in the arterial phase, with smooth heterogeneity and Gaussian
 * quantum noise. Everything is driven by a seeded generator, so a seed gives one volume.
 */
import type { Grid, ImageVolume, MaskVolume } from '../../imaging/volume.js';

/** Parameters of one synthetic case. */
export interface PhantomCase {
  readonly seed: number;
  /** Tumour radius in millimetres before the random lobulation. */
  readonly tumourRadiusMm: number;
  /** Mean tumour attenuation in the arterial phase, in HU. */
  readonly tumourMeanHu: number;
  /** Amplitude of the smooth tumour heterogeneity, in HU. */
  readonly heterogeneityHu: number;
  /** Standard deviation of the voxel noise, in HU. */
  readonly noiseSdHu: number;
}

/** Seeded uniform generator on [0, 1): mulberry32. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal deviate by the Box–Muller transform. */
function normal(random: () => number): number {
  const u = Math.max(random(), Number.MIN_VALUE);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Axial grid of the demo study: 160 × 128 pixels of 0.78 mm, 32 slices 1.25 mm apart. */
export const DEMO_GRID: Grid = {
  dimensions: [160, 128, 32],
  spacingMm: [0.78, 0.78, 1.25],
  originMm: [-62.4, -49.92, -20],
  axes: [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ],
};

interface Wave {
  readonly kx: number;
  readonly ky: number;
  readonly kz: number;
  readonly phase: number;
}

/**
 * Samples one case on a grid: returns the CT in HU (integers, as a scanner stores them) and the
 * tumour mask.
 */
export function renderPhantom(
  grid: Grid,
  parameters: PhantomCase,
): { image: ImageVolume; tumour: MaskVolume } {
  const random = createRandom(parameters.seed);
  const [nx, ny, nz] = grid.dimensions;
  const [sx, sy, sz] = grid.spacingMm;
  const [ox, oy, oz] = grid.originMm;

  // Tumour centre near the middle of the liver, with a lobulated outline and smooth texture.
  const centre = [8 + 6 * (random() - 0.5), 4 + 6 * (random() - 0.5), 6 * (random() - 0.5)] as const;
  const lobes = Array.from({ length: 3 }, () => ({
    amplitude: 0.12 * random(),
    order: 2 + Math.floor(random() * 3),
    phase: 2 * Math.PI * random(),
  }));
  const waves: Wave[] = Array.from({ length: 4 }, () => ({
    kx: (random() - 0.5) * 0.8,
    ky: (random() - 0.5) * 0.8,
    kz: (random() - 0.5) * 0.8,
    phase: 2 * Math.PI * random(),
  }));

  const voxels = new Float64Array(nx * ny * nz);
  const mask = new Uint8Array(nx * ny * nz);
  for (let k = 0; k < nz; k++) {
    const z = oz + k * sz;
    for (let j = 0; j < ny; j++) {
      const y = oy + j * sy;
      for (let i = 0; i < nx; i++) {
        const x = ox + i * sx;
        const index = i + nx * (j + ny * k);

        // Body outline (ellipse), fat layer, then liver (ellipsoid), then tumour.
        const body = (x / 60) ** 2 + (y / 47) ** 2;
        let hu = -1000;
        if (body <= 1) hu = body > 0.8 ? -100 : 40;
        const liver = ((x - 8) / 45) ** 2 + ((y - 4) / 34) ** 2 + (z / 60) ** 2;
        if (liver <= 1) hu = 65;

        const dx = x - centre[0];
        const dy = y - centre[1];
        const dz = z - centre[2];
        const distance = Math.hypot(dx, dy, dz);
        const azimuth = Math.atan2(dy, dx);
        let radius = parameters.tumourRadiusMm;
        for (const lobe of lobes) radius *= 1 + lobe.amplitude * Math.sin(lobe.order * azimuth + lobe.phase);
        if (distance <= radius) {
          let texture = 0;
          for (const wave of waves) texture += Math.sin(wave.kx * x + wave.ky * y + wave.kz * z + wave.phase);
          hu = parameters.tumourMeanHu + (parameters.heterogeneityHu * texture) / waves.length;
          mask[index] = 1;
        }

        if (hu > -1000) hu += parameters.noiseSdHu * normal(random);
        voxels[index] = Math.max(-1024, Math.min(3071, Math.round(hu)));
      }
    }
  }
  return { image: { grid, voxels }, tumour: { grid, voxels: mask } };
}

/** Parameters of the demo study and of a cohort of `count` varied cases for calibration. */
export function demoCases(count: number): { study: PhantomCase; cohort: PhantomCase[] } {
  const random = createRandom(20_231_109);
  const draw = (seed: number): PhantomCase => ({
    seed,
    tumourRadiusMm: 8 + 8 * random(),
    tumourMeanHu: 90 + 60 * random(),
    heterogeneityHu: 10 + 40 * random(),
    noiseSdHu: 8 + 10 * random(),
  });
  const study = draw(1);
  const cohort = Array.from({ length: count }, (_, index) => draw(100 + index));
  return { study, cohort };
}
