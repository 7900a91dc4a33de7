/**
 * Cubic B-spline interpolation as SimpleITK's sitkBSpline performs it (ITK
 * BSplineDecompositionImageFilter + BSplineInterpolateImageFunction, spline order 3).
 *
 * Prefilter (Unser 1999, "Splines: a perfect fit for signal and image processing", Box 2): along i,
 * then j, then k, every line of the whole image is multiplied by the gain (1 − z)(1 − 1/z) = 6 and
 * filtered with the pole z = √3 − 2 by a causal then an anti-causal recursion, with mirror boundaries:
 * - causal start c⁺[0] = Σ_{n<H} zⁿ·s[n], truncated at H = ceil(ln(1e-10)/ln|z|) = 18 terms when the line
 *   is longer than H, else the exact mirror sum (Σ (zⁿ + z^(2N−2−n))·s[n] + …)/(1 − z^(2N−2));
 * - c⁺[n] = s[n] + z·c⁺[n−1];
 * - anti-causal start c⁻[N−1] = z/(z² − 1)·(z·c⁺[N−2] + c⁺[N−1]); c⁻[n] = z·(c⁻[n+1] − c⁺[n]).
 * A line of length 1 is left unchanged.
 *
 * Evaluation at continuous index x: the 4 coefficients from floor(x) − 1 on each axis, indices
 * mirrored with period 2N − 2, weighted with w = x − floor(x):
 *   w₃ = w³/6, w₀ = 1/6 + w(w − 1)/2 − w₃, w₂ = w + w₀ − 2w₃, w₁ = 1 − w₀ − w₂ − w₃,
 * and summed with axis i fastest.
 */

import type { ImageVolume, Vec3 } from '../imaging/volume.js';

const POLE = Math.sqrt(3) - 2;
const TOLERANCE = 1e-10;

/** Returns the cubic B-spline coefficients of `image` (same layout, float64). */
export function bsplineCoefficients(image: ImageVolume): Float64Array {
  const [nx, ny, nz] = image.grid.dimensions;
  const coefficients = Float64Array.from(image.voxels);
  const lengths = [nx, ny, nz];
  const strides = [1, nx, nx * ny];

  for (let axis = 0; axis < 3; axis++) {
    const length = lengths[axis]!;
    if (length === 1) continue;
    const stride = strides[axis]!;
    const scratch = new Float64Array(length);
    const others = [0, 1, 2].filter((other) => other !== axis);
    const [a, b] = others as [number, number];
    for (let ib = 0; ib < lengths[b]!; ib++) {
      for (let ia = 0; ia < lengths[a]!; ia++) {
        const start = ia * strides[a]! + ib * strides[b]!;
        for (let n = 0; n < length; n++) scratch[n] = coefficients[start + n * stride]!;
        filterLine(scratch);
        for (let n = 0; n < length; n++) coefficients[start + n * stride] = scratch[n]!;
      }
    }
  }
  return coefficients;
}

/** Applies the gain and the causal and anti-causal recursions to one line in place. */
function filterLine(line: Float64Array): void {
  const length = line.length;
  const z = POLE;

  let gain = 1;
  gain = gain * (1 - z) * (1 - 1 / z);
  for (let n = 0; n < length; n++) line[n]! *= gain;

  line[0] = initialCausal(line, z);
  for (let n = 1; n < length; n++) line[n]! += z * line[n - 1]!;

  line[length - 1] = (z / (z * z - 1)) * (z * line[length - 2]! + line[length - 1]!);
  for (let n = length - 2; n >= 0; n--) line[n] = z * (line[n + 1]! - line[n]!);
}

/** Causal initial coefficient with mirror boundaries (see the module comment). */
function initialCausal(line: Float64Array, z: number): number {
  const length = line.length;
  const horizon = Math.ceil(Math.log(TOLERANCE) / Math.log(Math.abs(z)));
  let zn = z;
  if (horizon < length) {
    let sum = line[0]!;
    for (let n = 1; n < horizon; n++) {
      sum += zn * line[n]!;
      zn *= z;
    }
    return sum;
  }

  const iz = 1 / z;
  let z2n = Math.pow(z, length - 1);
  let sum = line[0]! + z2n * line[length - 1]!;
  z2n *= z2n * iz;
  for (let n = 1; n <= length - 2; n++) {
    sum += (zn + z2n) * line[n]!;
    zn *= z;
    z2n *= iz;
  }
  return sum / (1 - zn * zn);
}

/** Returns a sampler of the spline with `coefficients` on a grid of `dimensions`. */
export function bsplineSampler(coefficients: Float64Array, dimensions: Vec3): (index: Vec3) => number {
  const [nx, ny] = dimensions;
  const indices = [new Int32Array(4), new Int32Array(4), new Int32Array(4)];
  const weights = [new Float64Array(4), new Float64Array(4), new Float64Array(4)];

  return (x) => {
    for (let axis = 0; axis < 3; axis++) {
      const length = dimensions[axis]!;
      const first = Math.floor(x[axis]!) - 1;
      const w = x[axis]! - (first + 1);
      const weight = weights[axis]!;
      weight[3] = (1 / 6) * w * w * w;
      weight[0] = 1 / 6 + 0.5 * w * (w - 1) - weight[3];
      weight[2] = w + weight[0] - 2 * weight[3];
      weight[1] = 1 - weight[0] - weight[2] - weight[3];
      const index = indices[axis]!;
      for (let k = 0; k < 4; k++) index[k] = mirror(first + k, length);
    }

    let interpolated = 0;
    for (let p = 0; p < 64; p++) {
      const i0 = p & 3;
      const i1 = (p >> 2) & 3;
      const i2 = p >> 4;
      let w = 1;
      w *= weights[0]![i0]!;
      w *= weights[1]![i1]!;
      w *= weights[2]![i2]!;
      const at = indices[0]![i0]! + nx * (indices[1]![i1]! + ny * indices[2]![i2]!);
      interpolated += w * coefficients[at]!;
    }
    return interpolated;
  };
}

/** Mirror index into [0, length) with period 2·length − 2 (0 for a single-voxel axis). */
function mirror(index: number, length: number): number {
  if (length === 1) return 0;
  const period = 2 * length - 2;
  let folded =
    index < 0 ? -index - period * Math.floor(-index / period) : index - period * Math.floor(index / period);
  if (length <= folded) folded = period - folded;
  return folded;
}
