/**
 * Cox proportional hazards regression, matching R `coxph(Surv(time, event) ~ x1 + …)` and its
 * `summary()` (survival 3.5.3, defaults: `ties = "efron"`, `coxph.control()`).
 *
 * Fitting: Newton–Raphson on the Efron log partial likelihood (see `cox-partial-likelihood.ts`),
 * starting at β = 0, step β ← β + I(β)⁻¹ U(β). It stops when |1 − log L_best / log L_new| ≤ 1e-9
 * (`eps`), at most 20 iterations (`iter.max`). A step that lowers the likelihood is shortened as
 * coxph does: at the h-th consecutive failure β_new ← (β_new + h β) / (h + 1). Covariates are centred
 * on their means first, which changes no reported value but keeps exp(xᵀβ) in range.
 *
 * Reported, for coefficient β_i with V = I(β̂)⁻¹ and z = Φ⁻¹(0.975) for 95 % limits:
 *   hazard ratio exp(β_i), se_i = sqrt(V_ii), z_i = β_i / se_i, p_i = 2 (1 − Φ(|z_i|)),
 *   limits exp(β_i ∓ z se_i);
 *   likelihood-ratio test 2 (log L(β̂) − log L(0)), Wald test β̂ᵀ V⁻¹ β̂,
 *   score (log-rank) test U(0)ᵀ I(0)⁻¹ U(0), each chi-square with p degrees of freedom.
 *
 * Monotone likelihood (a covariate that separates deaths from survivors, so β̂ is infinite) is
 * detected as coxph does after convergence: |(U(β̂)ᵀ V)_i| > eps and > sqrt(eps) · |β̂_i|. coxph
 * then only warns ("Loglik converged before variable i; coefficient may be infinite"); here it is
 * an error, because a finite-looking hazard ratio would mislead.
 */
import { Nqo1Error } from '../errors.js';
import { concordance, type Concordance } from './concordance.js';
import { efronPartialLikelihood, type SortedCoxData } from './cox-partial-likelihood.js';
import { chiSquareSurvival, normalQuantile, normalTwoSidedP } from './distributions.js';
import { validateCovariates, validateSurvivalData } from './survival-input.js';
import { choleskyFactor, choleskyInverse, choleskySolve } from './symmetric-matrix.js';

/** Convergence tolerance on the relative change of the log partial likelihood (`eps`). */
export const COX_EPSILON = 1e-9;
/** Maximum Newton–Raphson iterations (`iter.max`). */
export const COX_MAX_ITERATIONS = 20;

export interface ChiSquareTest {
  readonly statistic: number;
  readonly df: number;
  readonly pValue: number;
}

export interface CoxResult {
  readonly coefficients: readonly number[];
  readonly hazardRatios: readonly number[];
  readonly standardErrors: readonly number[];
  readonly zValues: readonly number[];
  readonly pValues: readonly number[];
  /** 95 % confidence limits of each hazard ratio. */
  readonly ci: readonly { readonly lower: number; readonly upper: number }[];
  /** Covariance matrix of the coefficients, I(β̂)⁻¹ (`fit$var`). */
  readonly variance: readonly (readonly number[])[];
  /** Log partial likelihood at β = 0 and at β̂ (`fit$loglik`). */
  readonly logLikelihood: readonly [number, number];
  readonly likelihoodRatio: ChiSquareTest;
  readonly wald: ChiSquareTest;
  readonly score: ChiSquareTest;
  /** Newton–Raphson iterations (`fit$iter`). */
  readonly iterations: number;
  /** Harrell's concordance of the linear predictor (`fit$concordance`). */
  readonly concordance: Concordance;
}

function modelError(message: string): Nqo1Error {
  return new Nqo1Error('ERR_CALIBRATION_COHORT', message);
}

/**
 * Fits a Cox model of the survival times on the covariates.
 *
 * @param covariates - One row per case, for example `[highNqo1]` or `[highNqo1, ageYears]`.
 * @throws Nqo1Error ERR_CALIBRATION_COHORT when the data are invalid, a covariate is constant or
 *   collinear, the fit does not converge, or a coefficient is infinite (monotone likelihood).
 */
export function coxRegression(
  times: readonly number[],
  events: readonly number[],
  covariates: readonly (readonly number[])[],
): CoxResult {
  validateSurvivalData(times, events);
  const p = validateCovariates(covariates, times.length);
  const data = sortAndCentre(times, events, covariates, p);

  // Iteration 0 at β = 0 gives the initial log-likelihood and the score test.
  let beta = new Array<number>(p).fill(0);
  const initial = efronPartialLikelihood(data, beta);
  const initialFactor = choleskyFactor(initial.information);
  if (initialFactor === null) throw singularError(p);
  const firstStep = choleskySolve(initialFactor, initial.score);
  const scoreStatistic = initial.score.reduce((sum, value, i) => sum + value * firstStep[i]!, 0);

  let best = initial.logLikelihood;
  let candidate = beta.map((value, i) => value + firstStep[i]!);
  let halving = 0;
  let converged: { iterations: number; logLikelihood: number; score: number[]; factor: number[][] } | null =
    null;
  for (let iteration = 1; iteration <= COX_MAX_ITERATIONS; iteration++) {
    const current = efronPartialLikelihood(data, candidate);
    const factor = choleskyFactor(current.information);
    const finite =
      Number.isFinite(current.logLikelihood) &&
      current.score.every(Number.isFinite) &&
      current.information.every((row) => row.every(Number.isFinite));

    if (finite && Math.abs(1 - best / current.logLikelihood) <= COX_EPSILON) {
      if (factor === null) throw singularError(p);
      beta = candidate;
      converged = {
        iterations: iteration,
        logLikelihood: current.logLikelihood,
        score: current.score,
        factor,
      };
      break;
    }

    if (!finite || factor === null || current.logLikelihood < best) {
      // Step halving towards the last accepted β.
      halving++;
      candidate = candidate.map((value, i) => (value + halving * beta[i]!) / (halving + 1));
    } else {
      halving = 0;
      best = current.logLikelihood;
      const step = choleskySolve(factor, current.score);
      beta = candidate;
      candidate = candidate.map((value, i) => value + step[i]!);
    }
  }
  if (converged === null) {
    throw modelError(
      `The Cox model did not converge in ${COX_MAX_ITERATIONS} Newton–Raphson iterations, which usually ` +
        'means a coefficient is infinite. Check whether a covariate separates deaths from survivors.',
    );
  }

  const variance = choleskyInverse(converged.factor);
  checkFiniteCoefficients(beta, converged.score, variance);
  return summarise(data, beta, variance, initial.logLikelihood, converged, scoreStatistic);
}

function singularError(p: number): Nqo1Error {
  return modelError(
    `The information matrix of the ${p} Cox covariate(s) is singular: a covariate is constant among the ` +
      'cases at risk or the covariates are collinear. Remove or recode that covariate.',
  );
}

/** coxph's infinite-coefficient check: the remaining Newton step is large relative to β̂. */
function checkFiniteCoefficients(
  beta: readonly number[],
  score: readonly number[],
  variance: readonly (readonly number[])[],
): void {
  const tolerance = Math.sqrt(COX_EPSILON);
  beta.forEach((coefficient, i) => {
    let remainingStep = 0;
    for (let k = 0; k < beta.length; k++) remainingStep += score[k]! * variance[k]![i]!;
    remainingStep = Math.abs(remainingStep);
    if (remainingStep > COX_EPSILON && remainingStep > tolerance * Math.abs(coefficient)) {
      throw modelError(
        `Covariate ${i + 1} has an infinite Cox coefficient (monotone likelihood: the estimate ran to ` +
          `${coefficient.toPrecision(4)} while the likelihood kept rising), typically because no death ` +
          'occurred in one of its groups. Report the groups with Kaplan–Meier and the log-rank test instead.',
      );
    }
  });
}

/** Sorts the cases by decreasing time and centres each covariate on its mean. */
function sortAndCentre(
  times: readonly number[],
  events: readonly number[],
  covariates: readonly (readonly number[])[],
  p: number,
): SortedCoxData {
  const means = new Array<number>(p).fill(0);
  for (const row of covariates) for (let a = 0; a < p; a++) means[a]! += row[a]! / covariates.length;

  const order = times.map((_, index) => index).sort((a, b) => times[b]! - times[a]!);
  return {
    times: order.map((index) => times[index]!),
    events: order.map((index) => events[index]!),
    covariates: order.map((index) => covariates[index]!.map((value, a) => value - means[a]!)),
  };
}

function summarise(
  data: SortedCoxData,
  beta: readonly number[],
  variance: readonly (readonly number[])[],
  initialLogLikelihood: number,
  converged: { iterations: number; logLikelihood: number },
  scoreStatistic: number,
): CoxResult {
  const p = beta.length;
  const z = normalQuantile(0.975);
  const standardErrors = beta.map((_, i) => Math.sqrt(variance[i]![i]!));
  const zValues = beta.map((value, i) => value / standardErrors[i]!);

  // Wald statistic βᵀ V⁻¹ β, solved against V as coxph does.
  const varianceFactor = choleskyFactor(variance);
  if (varianceFactor === null) throw singularError(p);
  const solved = choleskySolve(varianceFactor, beta);
  const waldStatistic = beta.reduce((sum, value, i) => sum + value * solved[i]!, 0);
  const likelihoodRatioStatistic = 2 * (converged.logLikelihood - initialLogLikelihood);

  const linearPredictors = data.covariates.map((row) => row.reduce((sum, x, a) => sum + x * beta[a]!, 0));
  return {
    coefficients: beta,
    hazardRatios: beta.map(Math.exp),
    standardErrors,
    zValues,
    pValues: zValues.map(normalTwoSidedP),
    ci: beta.map((value, i) => ({
      lower: Math.exp(value - z * standardErrors[i]!),
      upper: Math.exp(value + z * standardErrors[i]!),
    })),
    variance,
    logLikelihood: [initialLogLikelihood, converged.logLikelihood],
    likelihoodRatio: test(likelihoodRatioStatistic, p),
    wald: test(waldStatistic, p),
    score: test(scoreStatistic, p),
    iterations: converged.iterations,
    concordance: concordance(data.times, data.events, linearPredictors),
  };
}

function test(statistic: number, df: number): ChiSquareTest {
  return { statistic, df, pValue: chiSquareSurvival(statistic, df) };
}
