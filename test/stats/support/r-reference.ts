/**
 * Access to the binary-outcome fixtures and the R reference values written by
 * `test/stats/r/discrimination.R`, and the comparison the tests use: 1e-8 relative, with an
 * absolute floor of 1e-12 for values near 0.
 */
import { readFileSync } from 'node:fs';

import { expect } from 'vitest';

import { parseCohortCsv, type CohortColumns } from './binary-datasets.js';

/** Cohort names, one CSV each. */
export const COHORT_NAMES = ['separated', 'tied', 'small'] as const;
export type CohortName = (typeof COHORT_NAMES)[number];

/** Relative tolerance against R. */
export const RELATIVE_TOLERANCE = 1e-8;
/** Absolute floor for values near 0 (p-values, net benefits, differences). */
export const ABSOLUTE_FLOOR = 1e-12;

const fixturesUrl = new URL('../fixtures/', import.meta.url);

/** Reads the columns of `test/stats/fixtures/binary-<name>.csv`. */
export function readCohort(name: CohortName): CohortColumns {
  return parseCohortCsv(readFileSync(new URL(`binary-${name}.csv`, fixturesUrl), 'utf8'));
}

/** Turns the "Inf", "-Inf" and "NaN" strings of the R JSON back into numbers. */
function restoreNonFinite(_key: string, value: unknown): unknown {
  if (value === 'Inf') return Infinity;
  if (value === '-Inf') return -Infinity;
  if (value === 'NaN') return Number.NaN;
  return value;
}

/** `delong_summary()` of the R script: pROC ci.auc and var for one score column and level. */
export interface RDeLong {
  level: number;
  auc: number;
  variance: number;
  lower: number;
  middle: number;
  upper: number;
}

/** One row of pROC `coords(roc, "best", best.method = "youden")`. */
export interface RYoudenRow {
  threshold: number;
  sensitivity: number;
  specificity: number;
  accuracy: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  ppv: number;
  npv: number;
  /** sensitivity + specificity (pROC's criterion, without the − 1). */
  youden: number;
}

/** `threshold_metrics()` of the R script. */
export interface RThresholdMetrics {
  threshold: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  accuracy: number;
  sensitivity: number;
  specificity: number;
  ppv: number;
  npv: number;
}

/** `hosmer_lemeshow()` of the R script. */
export interface RHosmerLemeshow {
  groupsRequested: number;
  statistic: number;
  degreesOfFreedom: number;
  pValue: number;
  breaks: number[];
  count: number[];
  observed: number[];
  expected: number[];
  meanPredicted: number[];
  observedRate: number[];
}

/** `decision_curve()` of the R script. */
export interface RDecisionCurve {
  thresholds: number[];
  netBenefitModel: number[];
  netBenefitTreatAll: number[];
}

/** Reference values of one cohort. */
export interface RCohortReference {
  n: number;
  positives: number;
  echo: { scoreA: number[]; scoreB: number[]; probability: number[] };
  roc: { thresholds: number[]; sensitivities: number[]; specificities: number[] };
  delongA: RDeLong[];
  delongB: RDeLong[];
  pairedTest: {
    aucA: number;
    aucB: number;
    z: number;
    pValue: number;
    lower: number;
    upper: number;
    level: number;
  };
  youden: RYoudenRow[];
  youdenB: RYoudenRow[];
  youdenProbability: RYoudenRow[];
  thresholdMetrics: RThresholdMetrics[];
  hosmerLemeshow: RHosmerLemeshow[];
  hosmerLemeshowCoarse: RHosmerLemeshow;
  decisionCurve: RDecisionCurve;
  decisionCurveCoarse: RDecisionCurve;
  logistic: {
    coefficients: number[];
    standardErrors: number[];
    zValues: number[];
    pValues: number[];
    deviance: number;
    nullDeviance: number;
    aic: number;
    iterations: number;
    converged: boolean;
  };
  logisticTightCoefficients: number[];
  recalibration: { intercept: number; slope: number };
}

/** The parsed `discrimination-reference.json`. */
export const R_REFERENCE = JSON.parse(
  readFileSync(new URL('discrimination-reference.json', fixturesUrl), 'utf8'),
  restoreNonFinite,
) as { versions: Record<string, string>; cohorts: Record<CohortName, RCohortReference> };

/** Asserts |actual − expected| ≤ max(1e-8·|expected|, 1e-12); infinities and NaN must match exactly. */
export function expectCloseToR(actual: number, expected: number, what: string): void {
  if (!Number.isFinite(expected)) {
    expect(actual, what).toBe(expected);
    return;
  }
  const tolerance = Math.max(RELATIVE_TOLERANCE * Math.abs(expected), ABSOLUTE_FLOOR);
  expect(Math.abs(actual - expected), `${what}: ${actual} vs R ${expected}`).toBeLessThanOrEqual(tolerance);
}

/** {@link expectCloseToR} for each entry of two arrays of equal length. */
export function expectAllCloseToR(
  actual: readonly number[],
  expected: readonly number[],
  what: string,
): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  expected.forEach((value, i) => {
    expectCloseToR(actual[i]!, value, `${what}[${i}]`);
  });
}
