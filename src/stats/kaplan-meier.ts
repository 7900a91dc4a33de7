/**
 * Kaplan–Meier estimate of the survival function with Greenwood standard errors, log-scale
 * confidence limits and the median survival time, matching R `survfit(Surv(time, event) ~ 1)`
 * (survival 3.5.3) with its defaults (`stype = 1`, `ctype = 1`, `conf.type = "log"`) and the
 * median of `summary(fit)$table`.
 *
 * At each distinct time t_j (event or censoring) with n_j cases at risk (time ≥ t_j) and d_j events:
 *   S(t_j) = Π_{i ≤ j} (1 − d_i / n_i)
 *   Var[log S(t_j)] = Σ_{i ≤ j} d_i / (n_i (n_i − d_i))                      (Greenwood)
 *   se[S(t_j)] = S(t_j) · sqrt(Var[log S(t_j)])                                (`summary(fit)$std.err`)
 *   lower, upper = S(t_j) · exp(∓ z · sqrt(Var[log S(t_j)])), upper capped at 1, z = Φ⁻¹((1 + level) / 2)
 * Where S(t_j) = 0 the variance is infinite and R reports NA limits; here they are null.
 *
 * Median (R's rule in `survival:::survmean`): the smallest time with S(t) ≤ 0.5, where "≤" allows
 * a tolerance of sqrt(machine epsilon) ≈ 1.5e-8. When S equals 0.5 (within that tolerance) over an
 * interval [t_a, t_b), the median is the midpoint (t_a + t_b) / 2, t_b being the first time where S
 * drops below 0.5. The same rule applied to the lower confidence curve gives the lower limit of the
 * median (that curve reaches 0.5 first), and applied to the upper curve gives its upper limit. Each
 * is null when its curve never reaches 0.5.
 *
 * Times are compared exactly. R merges times that differ only by rounding error (`timefix = TRUE`),
 * which makes no difference for times in whole days.
 */
import { normalQuantile } from './distributions.js';
import { validateGroups, validateSurvivalData } from './survival-input.js';

/** One row of the estimate, at a distinct observed time. */
export interface KaplanMeierStep {
  readonly time: number;
  /** Cases with time ≥ this time (`n.risk`). */
  readonly atRisk: number;
  /** Events at this time (`n.event`). */
  readonly events: number;
  /** Cases censored at this time (`n.censor`). */
  readonly censored: number;
  /** Survival probability S(t) just after this time. */
  readonly survival: number;
  /** Greenwood standard error of S(t); null where S(t) = 0 (R reports NaN). */
  readonly standardError: number | null;
  /** Lower confidence limit of S(t) on the log scale; null where S(t) = 0. */
  readonly lower: number | null;
  /** Upper confidence limit of S(t), capped at 1; null where S(t) = 0. */
  readonly upper: number | null;
}

/** Median survival time with its confidence limits; a null limit means "not reached". */
export interface MedianSurvival {
  readonly value: number;
  readonly lower: number | null;
  readonly upper: number | null;
}

export interface KaplanMeierResult {
  /** Confidence level of the limits, for example 0.95. */
  readonly level: number;
  readonly steps: readonly KaplanMeierStep[];
  /** Null when the survival curve never falls to 0.5. */
  readonly median: MedianSurvival | null;
}

export interface KaplanMeierGroup extends KaplanMeierResult {
  readonly group: string;
  /** Number of cases in the group. */
  readonly n: number;
}

/** Tolerance of the "S(t) ≤ 0.5" test, as in R: sqrt(.Machine$double.eps). */
const MEDIAN_TOLERANCE = Math.sqrt(Number.EPSILON);

/**
 * Estimates the survival function of one cohort.
 *
 * @param times - Follow-up times (days), finite and ≥ 0.
 * @param events - 1 = death, 0 = censored.
 * @param level - Confidence level of the pointwise limits and of the median's limits.
 * @throws Nqo1Error ERR_CALIBRATION_COHORT when the data are invalid or have no event.
 */
export function kaplanMeier(
  times: readonly number[],
  events: readonly number[],
  level = 0.95,
): KaplanMeierResult {
  checkLevel(level);
  validateSurvivalData(times, events);
  return estimate(times, events, level);
}

/**
 * Estimates one survival function per group (`survfit(Surv(time, event) ~ group)`), groups in sorted
 * label order. A group without events has S(t) = 1 throughout and no median.
 *
 * @throws Nqo1Error ERR_CALIBRATION_COHORT when the data are invalid, the cohort has no event or
 *   fewer than two groups.
 */
export function kaplanMeierByGroup(
  times: readonly number[],
  events: readonly number[],
  groups: readonly string[],
  level = 0.95,
): KaplanMeierGroup[] {
  checkLevel(level);
  validateSurvivalData(times, events);
  const labels = validateGroups(groups, times.length, 2);

  return labels.map((group) => {
    const groupTimes: number[] = [];
    const groupEvents: number[] = [];
    for (let index = 0; index < times.length; index++) {
      if (groups[index] !== group) continue;
      groupTimes.push(times[index]!);
      groupEvents.push(events[index]!);
    }
    return { group, n: groupTimes.length, ...estimate(groupTimes, groupEvents, level) };
  });
}

function checkLevel(level: number): void {
  if (!(level > 0 && level < 1)) {
    throw new TypeError(`Confidence level must lie strictly between 0 and 1, got ${level}.`);
  }
}

/** Product-limit estimate for validated data; a cohort without events gives S = 1 throughout. */
function estimate(times: readonly number[], events: readonly number[], level: number): KaplanMeierResult {
  const z = normalQuantile((1 + level) / 2);
  const order = times.map((_, index) => index).sort((a, b) => times[a]! - times[b]!);

  const steps: KaplanMeierStep[] = [];
  let atRisk = times.length;
  let survival = 1;
  let greenwoodSum = 0;
  let position = 0;
  while (position < order.length) {
    // Count the events and censorings tied at this time.
    const time = times[order[position]!]!;
    let deaths = 0;
    let censored = 0;
    while (position < order.length && times[order[position]!] === time) {
      if (events[order[position]!] === 1) deaths++;
      else censored++;
      position++;
    }

    // Product-limit step and Greenwood sum; d = n makes the sum infinite and S zero.
    survival *= 1 - deaths / atRisk;
    if (deaths > 0) {
      greenwoodSum += deaths === atRisk ? Infinity : deaths / (atRisk * (atRisk - deaths));
    }

    const logStandardError = Math.sqrt(greenwoodSum);
    const positive = survival > 0 && Number.isFinite(logStandardError);
    steps.push({
      time,
      atRisk,
      events: deaths,
      censored,
      survival,
      standardError: positive ? survival * logStandardError : null,
      lower: positive ? Math.exp(Math.log(survival) - z * logStandardError) : null,
      upper: positive ? Math.min(1, Math.exp(Math.log(survival) + z * logStandardError)) : null,
    });
    atRisk -= deaths + censored;
  }

  return { level, steps, median: medianSurvival(steps) };
}

function medianSurvival(steps: readonly KaplanMeierStep[]): MedianSurvival | null {
  const value = firstTimeAtOrBelowHalf(steps, (step) => step.survival);
  if (value === null) return null;
  return {
    value,
    lower: firstTimeAtOrBelowHalf(steps, (step) => step.lower),
    upper: firstTimeAtOrBelowHalf(steps, (step) => step.upper),
  };
}

/**
 * Finds the smallest time where curve(t) ≤ 0.5 within the tolerance. When the curve equals 0.5 there
 * and later falls below it, returns the midpoint rule instead, and null when it never reaches 0.5.
 */
function firstTimeAtOrBelowHalf(
  steps: readonly KaplanMeierStep[],
  curve: (step: KaplanMeierStep) => number | null,
): number | null {
  const atOrBelowHalf = steps.filter((step) => {
    const value = curve(step);
    return value !== null && value < 0.5 + MEDIAN_TOLERANCE;
  });
  const first = atOrBelowHalf[0];
  if (first === undefined) return null;

  const firstValue = curve(first)!;
  if (Math.abs(firstValue - 0.5) < MEDIAN_TOLERANCE) {
    const below = atOrBelowHalf.find((step) => curve(step)! < firstValue);
    if (below !== undefined) return (first.time + below.time) / 2;
  }
  return first.time;
}
