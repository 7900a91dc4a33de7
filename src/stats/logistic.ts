/**
 * Logistic regression by iteratively reweighted least squares (Fisher scoring, which for the logit
 * link equals Newton–Raphson), repeating R's `glm(y ~ ., family = binomial)` (`glm.fit`, R 4.2.2)
 * step for step, so that coefficients, standard errors and deviances agree with R to rounding.
 *
 * Model: logit Pr(y = 1 | x) = η = β₀ + xᵀβ. Each iteration, with μ = 1/(1 + e^−η):
 *   working response  z = η + (y − μ)/μ′(η),   μ′(η) = μ(1 − μ),
 *   working weight    w = μ′(η)²/(μ(1 − μ)) = μ(1 − μ),
 *   β ← argmin Σ w (z − Xβ)²   (weighted least squares by QR).
 * Start: μ = (y + 1/2)/2, as binomial()$initialize sets it. Stop when
 * |D − D_old|/(|D| + 0.1) < 1e-8, at most 25 iterations (glm.control defaults), with the deviance
 *   D = 2 Σ [y log(y/μ) + (1 − y) log((1 − y)/(1 − μ))].
 * Standard errors are the square roots of the diagonal of (XᵀWX)⁻¹ with the weights W of the last
 * iteration, as summary.glm takes them from the last QR; z = β/SE, p = 2Φ(−|z|) (Wald).
 * AIC = D + 2p for 0/1 outcomes.
 */

import { validateBinaryOutcome, validateLabels, validateProbabilities } from './binary-outcome.js';
import { normalTwoSidedP } from './distributions.js';
import { RankDeficientDesign, solveWeightedLeastSquares } from './least-squares.js';
import { Nqo1Error, type Nqo1ErrorOptions } from '../errors.js';

/** Options of {@link fitLogistic}. */
export interface LogisticOptions {
  /** Add an intercept column of ones before the design columns; default true. */
  readonly intercept?: boolean;
}

/** A fitted logistic regression, as `summary(glm(...))` reports it. */
export interface LogisticFit {
  /** β, intercept first when fitted, then one per design column. */
  readonly coefficients: number[];
  readonly standardErrors: number[];
  /** Wald z = β/SE. */
  readonly zValues: number[];
  /** Two-sided Wald p-values. */
  readonly pValues: number[];
  /** Residual deviance −2 log L. */
  readonly deviance: number;
  /** Deviance of the intercept-only model (of μ = 1/2 without intercept). */
  readonly nullDeviance: number;
  /** deviance + 2 × number of coefficients. */
  readonly aic: number;
  /** IRLS iterations, as glm's `iter`. */
  readonly iterations: number;
  /** Always true: a fit that does not converge throws instead. */
  readonly converged: boolean;
}

/** Calibration intercept and slope of predicted probabilities on a cohort. */
export interface LogisticRecalibration {
  /** α of logit Pr(y = 1) = α + β·logit(p); 0 when the probabilities are calibrated. */
  readonly intercept: number;
  /** β of the same model; 1 when calibrated, below 1 when predictions are too extreme. */
  readonly slope: number;
}

const MAX_ITERATIONS = 25;
const CONVERGENCE_EPSILON = 1e-8;
const DOUBLE_EPSILON = Number.EPSILON;
/** R's logit link clamps η beyond ±30 (C constants THRESH and MTHRESH of family.c). */
const ETA_THRESHOLD = 30;

/** Inverse logit as R's C_logit_linkinv computes it, clamped to [ε/(1 + ε), 1/(1 + ε)]. */
function inverseLogit(eta: number): number {
  let odds = Math.exp(eta);
  if (eta < -ETA_THRESHOLD) odds = DOUBLE_EPSILON;
  else if (eta > ETA_THRESHOLD) odds = 1 / DOUBLE_EPSILON;
  return odds / (1 + odds);
}

/** dμ/dη as R's C_logit_mu_eta computes it, ε beyond |η| > 30. */
function inverseLogitDerivative(eta: number): number {
  if (eta > ETA_THRESHOLD || eta < -ETA_THRESHOLD) return DOUBLE_EPSILON;
  const onePlusOdds = 1 + Math.exp(eta);
  return Math.exp(eta) / (onePlusOdds * onePlusOdds);
}

/** Binomial deviance of 0/1 outcomes, as R's C_binomial_dev_resids summed. */
function binomialDeviance(labels: readonly number[], mu: readonly number[]): number {
  let deviance = 0;
  for (let i = 0; i < labels.length; i++) {
    deviance += labels[i] === 1 ? 2 * Math.log(1 / mu[i]!) : 2 * Math.log(1 / (1 - mu[i]!));
  }
  return deviance;
}

function cohortError(message: string, options: Nqo1ErrorOptions = {}): Nqo1Error {
  return new Nqo1Error('ERR_CALIBRATION_COHORT', message, options);
}

/** Coefficients after an IRLS step, the (XᵀWX)⁻¹ of that step, and the η and μ they give. */
interface IrlsState {
  readonly coefficients: number[];
  readonly unscaledCovariance: number[][];
  readonly eta: number[];
  readonly mu: number[];
}

/**
 * Takes one IRLS step from the current η and μ, as one pass of glm.fit's loop. R halves the step
 * when the deviance is not finite or μ leaves (0, 1). The clamped logit link rules out both, so that
 * branch of glm.fit is left out.
 */
function irlsStep(
  x: readonly number[][],
  labels: readonly number[],
  state: IrlsState,
  intercept: boolean,
): IrlsState {
  const { eta, mu } = state;
  const derivative = eta.map(inverseLogitDerivative);
  const workingResponse = eta.map((value, i) => value + (labels[i]! - mu[i]!) / derivative[i]!);
  const rootWeights = derivative.map((d, i) => Math.sqrt((d * d) / (mu[i]! * (1 - mu[i]!))));

  let step;
  try {
    step = solveWeightedLeastSquares(x, workingResponse, rootWeights);
  } catch (error) {
    if (!(error instanceof RankDeficientDesign)) throw error;
    const name =
      intercept && error.column === 0 ? 'the intercept' : `feature ${error.column + (intercept ? 0 : 1)}`;
    throw cohortError(
      `The design is rank deficient: ${name} is a linear combination of the columns before it (a constant or duplicated feature). Remove that feature.`,
      { cause: error },
    );
  }

  const nextEta = x.map((row) => row.reduce((sum, value, j) => sum + value * step.coefficients[j]!, 0));
  return { ...step, eta: nextEta, mu: nextEta.map(inverseLogit) };
}

/**
 * Largest change of a coefficient, relative to max(1, |β|), that one more IRLS step may make
 * after convergence. Near a maximum-likelihood estimate Newton steps shrink quadratically, so the
 * step after glm's stopping rule is far below this (at most 4e-9 on the test cohorts); under
 * separation the likelihood keeps rising as |β| grows and each step adds about 0.5 to |β|.
 */
const SEPARATION_STEP = 1e-3;

/**
 * Rejects a converged fit that shows complete or quasi-complete separation. One sign is a fitted
 * probability within 10ε of 0 or 1, where R warns "fitted probabilities numerically 0 or 1
 * occurred". The other is coefficients that keep growing when one more IRLS step is taken; R
 * reports convergence there without a warning, with huge standard errors.
 */
function checkSeparation(
  x: readonly number[][],
  labels: readonly number[],
  state: IrlsState,
  intercept: boolean,
): void {
  const separatedMessage =
    'the features separate the classes (completely or quasi-completely), so the maximum-likelihood coefficients do not exist. Use fewer features or more cases.';
  const boundary = state.mu.findIndex(
    (value) => value > 1 - 10 * DOUBLE_EPSILON || value < 10 * DOUBLE_EPSILON,
  );
  if (boundary >= 0) {
    throw cohortError(
      `The fitted probability of case ${boundary + 1} is numerically 0 or 1: ${separatedMessage}`,
    );
  }

  const next = irlsStep(x, labels, state, intercept);
  const moving = state.coefficients.findIndex(
    (beta, j) => Math.abs(next.coefficients[j]! - beta) > SEPARATION_STEP * Math.max(1, Math.abs(beta)),
  );
  if (moving >= 0) {
    throw cohortError(
      `Coefficient ${moving + 1} (${state.coefficients[moving]}) keeps growing after the fit converged: ${separatedMessage}`,
    );
  }
}

/** Checks the design: one row per label, the same number of finite columns in every row. */
function validateDesign(design: readonly (readonly number[])[], labels: readonly number[]): number {
  if (design.length !== labels.length) {
    throw cohortError(`Got ${design.length} design rows but ${labels.length} labels. Give one row per case.`);
  }
  const columns = design[0]?.length ?? 0;
  design.forEach((row, i) => {
    if (row.length !== columns) {
      throw cohortError(
        `Design row ${i + 1} has ${row.length} values, row 1 has ${columns}. Give every case the same features.`,
      );
    }
    row.forEach((value, j) => {
      if (!Number.isFinite(value)) {
        throw cohortError(
          `Feature ${j + 1} of case ${i + 1} is ${value}, not a finite number. Remove the case or compute the feature.`,
        );
      }
    });
  });
  return columns;
}

/**
 * Fits a logistic regression of the 0/1 `labels` on the columns of `design` (rows = cases, no
 * intercept column) by IRLS as R's glm does.
 *
 * @throws Nqo1Error ERR_CALIBRATION_COHORT for invalid input and in three cases where R returns a
 *   result. A design column that is a linear combination of the others gets NA in R. A fit that does
 *   not converge in 25 iterations only gets a warning. Complete or quasi-complete separation (see
 *   `checkSeparation`), where the maximum-likelihood estimate does not exist, gets a warning or
 *   none, with meaningless estimates.
 */
export function fitLogistic(
  design: readonly (readonly number[])[],
  labels: readonly number[],
  options: LogisticOptions = {},
): LogisticFit {
  const intercept = options.intercept ?? true;
  const columns = validateDesign(design, labels);
  validateLabels(labels);
  const x = intercept ? design.map((row) => [1, ...row]) : design.map((row) => [...row]);
  const p = columns + (intercept ? 1 : 0);
  if (p === 0) throw cohortError('The model has no intercept and no feature. Give at least one.');
  if (labels.length <= p) {
    throw cohortError(
      `A logistic model with ${p} coefficients needs more than ${p} cases, got ${labels.length}. Add cases or use fewer features.`,
    );
  }

  // Start as binomial()$initialize: μ = (y + 1/2)/2, η = logit(μ), then μ recomputed from η.
  const startEta = labels.map((y) => {
    const start = (y + 0.5) / 2;
    return Math.log(start / (1 - start));
  });
  let state: IrlsState = {
    coefficients: [],
    unscaledCovariance: [],
    eta: startEta,
    mu: startEta.map(inverseLogit),
  };
  let previousDeviance = binomialDeviance(labels, state.mu);
  let deviance = previousDeviance;
  let iterations = 0;
  let converged = false;
  while (iterations < MAX_ITERATIONS && !converged) {
    iterations++;
    state = irlsStep(x, labels, state, intercept);
    deviance = binomialDeviance(labels, state.mu);
    converged = Math.abs(deviance - previousDeviance) / (Math.abs(deviance) + 0.1) < CONVERGENCE_EPSILON;
    previousDeviance = deviance;
  }

  if (!converged) {
    throw cohortError(
      `The logistic fit did not converge in ${MAX_ITERATIONS} iterations (deviance ${deviance}). The classes are probably separated by the features; use fewer features or more cases.`,
    );
  }
  checkSeparation(x, labels, state, intercept);

  const { coefficients, unscaledCovariance } = state;
  const standardErrors = unscaledCovariance.map((row, j) => Math.sqrt(row[j]!));
  const zValues = coefficients.map((beta, j) => beta / standardErrors[j]!);
  const prevalence = labels.reduce((sum, y) => sum + y, 0) / labels.length;
  const nullMu = intercept ? prevalence : 0.5;
  return {
    coefficients,
    standardErrors,
    zValues,
    pValues: zValues.map(normalTwoSidedP),
    deviance,
    nullDeviance: binomialDeviance(
      labels,
      labels.map(() => nullMu),
    ),
    aic: deviance + 2 * p,
    iterations,
    converged,
  };
}

/**
 * Calibration intercept and slope of `probabilities` on this cohort: the coefficients of
 * `glm(y ~ qlogis(p), family = binomial)` (logistic recalibration). Note that this
 * intercept is estimated together with the slope; the "calibration-in-the-large" intercept of
 * `glm(y ~ offset(qlogis(p)))` with the slope fixed at 1 is a different number.
 *
 * @throws Nqo1Error ERR_CALIBRATION_COHORT for invalid input, probabilities of exactly 0 or 1 (logit
 *   ±∞), or a failed fit (see {@link fitLogistic}).
 */
export function logisticRecalibration(
  probabilities: readonly number[],
  labels: readonly number[],
): LogisticRecalibration {
  validateBinaryOutcome(probabilities, labels, 'probability');
  validateProbabilities(probabilities, true);
  const logits = probabilities.map((p) => [Math.log(p / (1 - p))]);
  const fit = fitLogistic(logits, labels);
  return { intercept: fit.coefficients[0]!, slope: fit.coefficients[1]! };
}
