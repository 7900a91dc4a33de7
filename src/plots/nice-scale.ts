/**
 * Axis scales with "nice" tick steps: 1, 2 or 5 times a power of ten, the rule of Heckbert's
 * "Nice numbers for graph labels" (Graphics Gems, 1990), so that tick labels stay short and round.
 */

/** A linear axis: its domain in data units, its tick values and the decimals its labels need. */
export interface AxisScale {
  readonly min: number;
  readonly max: number;
  readonly step: number;
  readonly ticks: readonly number[];
  readonly decimals: number;
}

/** Number of intervals an axis aims for. The nice step gives at most this many. */
const TARGET_INTERVALS = 5;

/**
 * Returns the smallest step of the form m · 10^e, m ∈ {1, 2, 5}, that is at least `roughStep`,
 * together with the decimals its multiples need (max(0, −e)).
 */
export function niceStep(roughStep: number): { step: number; decimals: number } {
  if (!(roughStep > 0) || !Number.isFinite(roughStep)) {
    throw new TypeError(`niceStep needs a positive finite step, got ${roughStep}`);
  }
  let exponent = Math.floor(Math.log10(roughStep));
  const fraction = roughStep / 10 ** exponent;

  // A fraction just above 1, 2 or 5 from rounding error must not push the step up a size.
  const epsilon = 1e-9;
  let mantissa: number;
  if (fraction <= 1 + epsilon) mantissa = 1;
  else if (fraction <= 2 + epsilon) mantissa = 2;
  else if (fraction <= 5 + epsilon) mantissa = 5;
  else {
    mantissa = 1;
    exponent += 1;
  }
  return {
    step: roundToDecimals(mantissa * 10 ** exponent, Math.max(0, -exponent)),
    decimals: Math.max(0, -exponent),
  };
}

/**
 * Builds an axis over [min, max]. With `fixed` the domain stays exactly [min, max], as a probability
 * axis stays [0, 1], and the ticks are the step multiples inside it. Otherwise the domain widens
 * outward to the nearest step multiples. A zero-width range widens to ±1 around zero, or ±10 % of
 * a non-zero value, so that a constant series still gets an axis.
 */
export function linearAxis(min: number, max: number, fixed = false): AxisScale {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
    throw new TypeError(`an axis needs finite min ≤ max, got [${min}, ${max}]`);
  }
  if (min === max) {
    const halfWidth = min === 0 ? 1 : Math.abs(min) * 0.1;
    return linearAxis(min - halfWidth, max + halfWidth, fixed);
  }
  const { step, decimals } = niceStep((max - min) / TARGET_INTERVALS);

  const domainMin = fixed ? min : roundToDecimals(Math.floor(min / step + 1e-9) * step, decimals);
  const domainMax = fixed ? max : roundToDecimals(Math.ceil(max / step - 1e-9) * step, decimals);
  const ticks: number[] = [];
  const first = Math.ceil(domainMin / step - 1e-9);
  const last = Math.floor(domainMax / step + 1e-9);
  for (let multiple = first; multiple <= last; multiple++)
    ticks.push(roundToDecimals(multiple * step, decimals));
  return { min: domainMin, max: domainMax, step, ticks, decimals };
}

/** Writes a number with a fixed count of decimals, and "0.00" rather than "-0.00". */
export function formatFixed(value: number, decimals: number): string {
  const text = value.toFixed(decimals);
  return Number(text) === 0 ? (0).toFixed(decimals) : text;
}

/** Removes binary rounding noise such as 0.30000000000000004 from a multiple of a decimal step. */
function roundToDecimals(value: number, decimals: number): number {
  return Number(value.toFixed(Math.min(decimals + 6, 20)));
}
