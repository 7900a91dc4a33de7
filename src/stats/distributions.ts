/**
 * Distribution functions the evaluation statistics need: the standard normal distribution and the
 * chi-square upper tail, accurate to about 1e-14 relative, so that p-values and confidence limits
 * agree with R's `pnorm`, `qnorm` and `pchisq` to the 1e-8 the evaluation tests ask for.
 *
 * Both rest on the regularised incomplete gamma functions P(a, x) and Q(a, x) = 1 − P(a, x):
 *   Φ(z) = Q(1/2, z²/2) / 2 for z < 0,   Pr(χ²_k > x) = Q(k/2, x/2).
 * P is summed from its power series when x < a + 1 and Q from its continued fraction otherwise
 * (modified Lentz evaluation), which keeps each of them away from cancellation.
 */

/** Lanczos coefficients for g = 7, nine terms: ln Γ to about 1e-15 relative for x > 0. */
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** Natural logarithm of the gamma function for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) {
    // Reflection: Γ(x)Γ(1 − x) = π / sin(πx).
    return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  }
  const shifted = x - 1;
  let series = LANCZOS[0]!;
  for (let term = 1; term < LANCZOS.length; term++) series += LANCZOS[term]! / (shifted + term);
  const t = shifted + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (shifted + 0.5) * Math.log(t) - t + Math.log(series);
}

const MAX_ITERATIONS = 10_000;
const RELATIVE_EPSILON = 1e-16;
const TINY = 1e-300;

/** Regularised lower incomplete gamma P(a, x) by its power series; for x < a + 1. */
function lowerGammaSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < MAX_ITERATIONS; n++) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * RELATIVE_EPSILON) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

/** Regularised upper incomplete gamma Q(a, x) by its continued fraction; for x ≥ a + 1. */
function upperGammaFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let fraction = d;
  for (let n = 1; n < MAX_ITERATIONS; n++) {
    const an = -n * (n - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    fraction *= delta;
    if (Math.abs(delta - 1) < RELATIVE_EPSILON) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * fraction;
}

/** Regularised upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a), for a > 0 and x ≥ 0. */
export function upperRegularizedGamma(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) return Number.NaN;
  if (x === 0) return 1;
  return x < a + 1 ? 1 - lowerGammaSeries(a, x) : upperGammaFraction(a, x);
}

/** Upper tail of the chi-square distribution with `degreesOfFreedom`: Pr(χ² > x). */
export function chiSquareSurvival(x: number, degreesOfFreedom: number): number {
  if (x <= 0) return 1;
  return upperRegularizedGamma(degreesOfFreedom / 2, x / 2);
}

/** Standard normal distribution function Φ(z) = Pr(Z ≤ z). */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  if (z === 0) return 0.5;
  const tail = 0.5 * upperRegularizedGamma(0.5, (z * z) / 2);
  return z < 0 ? tail : 1 - tail;
}

/** Two-sided p-value of a standard normal statistic: 2 · Pr(Z > |z|). */
export function normalTwoSidedP(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  return upperRegularizedGamma(0.5, (z * z) / 2);
}

/** Standard normal density φ(z). */
function normalDensity(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/**
 * Standard normal quantile Φ⁻¹(p) for 0 < p < 1: a rational starting value (central region and
 * tails) refined by Newton steps on Φ(z) − p, computed on the smaller tail for accuracy.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return -Infinity;
    if (p === 1) return Infinity;
    return Number.NaN;
  }
  if (p > 0.5) return -normalQuantile(1 - p);

  // Starting value: the tail approximation z ≈ −sqrt(−2 ln p) corrected by its leading term.
  const t = Math.sqrt(-2 * Math.log(p));
  let z = -(
    t -
    (2.515517 + 0.802853 * t + 0.010328 * t * t) /
      (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t)
  );
  for (let step = 0; step < 50; step++) {
    const error = normalCdf(z) - p;
    const next = z - error / normalDensity(z);
    if (Math.abs(next - z) <= 1e-15 * Math.max(1, Math.abs(z))) {
      z = next;
      break;
    }
    z = next;
  }
  return z;
}
