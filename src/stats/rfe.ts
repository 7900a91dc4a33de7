/**
 * Recursive feature elimination with a logistic model (Guyon et al. 2002): fit the model on the
 * current features, drop the one with the smallest absolute coefficient, and repeat until `keep`
 * features remain. The columns are z-scored first, so the coefficients are comparable.
 *
 * Each fit is a ridge-penalised logistic regression, maximising
 *   Σ_i [y_i·η_i − ln(1 + e^η_i)] − (λ/2)·Σ_j β_j²   (intercept not penalised),
 * by Newton–Raphson. The penalty keeps the ranking defined when the cases separate the classes,
 * which happens easily with many candidate features and few cases. The final model on the kept
 * features is fitted without penalty by the caller.
 */
import { Nqo1Error } from '../errors.js';
import { choleskyFactor, choleskySolve } from './symmetric-matrix.js';

/** Ridge strength λ of the elimination fits, on z-scored columns. */
export const RFE_RIDGE = 1;

/** One elimination step: the features fitted and the one dropped. */
export interface RfeStep {
  readonly columns: readonly number[];
  readonly coefficients: readonly number[];
  readonly dropped: number;
}

/** z-scores each column with its mean and sample SD (a constant column becomes all 0). */
export function standardiseColumns(rows: readonly (readonly number[])[]): number[][] {
  const n = rows.length;
  const p = rows[0]?.length ?? 0;
  const out = rows.map((row) => [...row]);
  for (let j = 0; j < p; j++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += rows[i]![j]!;
    mean /= n;
    let squares = 0;
    for (let i = 0; i < n; i++) squares += (rows[i]![j]! - mean) ** 2;
    const sd = n > 1 ? Math.sqrt(squares / (n - 1)) : 0;
    for (let i = 0; i < n; i++) out[i]![j] = sd > 0 ? (rows[i]![j]! - mean) / sd : 0;
  }
  return out;
}

/** Fits a ridge logistic model on `design` plus an intercept and returns [β_0, β_1, …]. */
export function ridgeLogistic(
  design: readonly (readonly number[])[],
  labels: readonly number[],
  lambda: number,
): number[] {
  const n = design.length;
  const p = (design[0]?.length ?? 0) + 1;
  const x = design.map((row) => [1, ...row]);
  let beta = new Array<number>(p).fill(0);
  for (let iteration = 0; iteration < 100; iteration++) {
    const gradient = new Array<number>(p).fill(0);
    const hessian = Array.from({ length: p }, () => new Array<number>(p).fill(0));
    for (let i = 0; i < n; i++) {
      let eta = 0;
      for (let j = 0; j < p; j++) eta += x[i]![j]! * beta[j]!;
      const mu = 1 / (1 + Math.exp(-eta));
      const weight = mu * (1 - mu);
      for (let j = 0; j < p; j++) {
        gradient[j]! += (labels[i]! - mu) * x[i]![j]!;
        for (let k = 0; k <= j; k++) hessian[j]![k]! += weight * x[i]![j]! * x[i]![k]!;
      }
    }
    for (let j = 0; j < p; j++) {
      for (let k = 0; k < j; k++) hessian[k]![j] = hessian[j]![k]!;
      if (j > 0) {
        gradient[j]! -= lambda * beta[j]!;
        hessian[j]![j]! += lambda;
      }
    }
    const factor = choleskyFactor(hessian);
    if (factor === null) {
      throw new Nqo1Error(
        'ERR_CALIBRATION_COHORT',
        'The feature elimination fit is singular: a candidate feature does not vary across the labelled cases. Add cases.',
      );
    }
    const step = choleskySolve(factor, gradient);
    beta = beta.map((value, j) => value + step[j]!);
    if (Math.max(...step.map(Math.abs)) < 1e-10) break;
  }
  return beta;
}

/**
 * Eliminates columns of `rows` (cases × candidates) down to `keep`, starting from `columns`
 * (candidate indices in order of preference). Returns the kept columns in their original order of
 * preference and every step.
 */
export function recursiveFeatureElimination(
  rows: readonly (readonly number[])[],
  labels: readonly number[],
  columns: readonly number[],
  keep: number,
): { kept: number[]; steps: RfeStep[] } {
  const standardised = standardiseColumns(rows);
  let current = [...columns];
  const steps: RfeStep[] = [];
  while (current.length > keep) {
    const design = standardised.map((row) => current.map((column) => row[column]!));
    const coefficients = ridgeLogistic(design, labels, RFE_RIDGE).slice(1);
    let weakest = 0;
    for (let position = 1; position < current.length; position++) {
      if (Math.abs(coefficients[position]!) < Math.abs(coefficients[weakest]!)) weakest = position;
    }
    steps.push({ columns: current, coefficients, dropped: current[weakest]! });
    current = current.filter((_, position) => position !== weakest);
  }
  return { kept: current, steps };
}
