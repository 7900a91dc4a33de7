/**
 * Sample quantiles by R's default rule, `quantile(x, probs, type = 7)` (Hyndman & Fan 1996,
 * definition 7): with the sorted values x₍₁₎ ≤ … ≤ x₍ₙ₎ and h = 1 + (n − 1)·p,
 *   Q(p) = x₍⌊h⌋₎ + (h − ⌊h⌋)·(x₍⌈h⌉₎ − x₍⌊h⌋₎),
 * evaluated as (1 − γ)·x₍⌊h⌋₎ + γ·x₍⌈h⌉₎ with γ = h − ⌊h⌋, in the order R evaluates it, so that
 * the results agree with R bit for bit and tied quantiles stay exactly equal.
 */

/**
 * Type-7 quantiles of `values` at each probability of `probabilities` (each clamped to [0, 1] as R
 * clamps it). `values` must be non-empty and finite; the caller checks that.
 */
export function quantileType7(values: readonly number[], probabilities: readonly number[]): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;

  return probabilities.map((probability) => {
    const p = Math.max(0, Math.min(1, probability));
    const index = 1 + (n - 1) * p;
    const lo = Math.floor(index);
    const hi = Math.ceil(index);
    const atLo = sorted[lo - 1]!;
    const atHi = sorted[hi - 1]!;
    if (!(index > lo && atHi !== atLo)) return atLo;
    const gamma = index - lo;
    return (1 - gamma) * atLo + gamma * atHi;
  });
}

/**
 * Computes the probabilities of R's `seq(0, 1, 1/g)`: k·(1/g) for k = 0 … g, capped at 1. They
 * differ from k/g in the last bit for some k (3·(1/10) = 0.30000000000000004), which moves quantiles.
 */
export function equalStepProbabilities(groups: number): number[] {
  const step = 1 / groups;
  return Array.from({ length: groups + 1 }, (_, k) => Math.min(k * step, 1));
}
