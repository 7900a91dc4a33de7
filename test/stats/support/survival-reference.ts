/**
 * Loading of the R survival reference (test/stats/fixtures/survival-reference.json, written by
 * test/stats/r/survival.R) and of the cohorts it was computed from, plus the comparison used by
 * every survival test: relative error ≤ 1e-8, or absolute error ≤ 1e-12 for values near 0.
 */
import { readFileSync } from 'node:fs';

import { expect } from 'vitest';

import { parseCsv, type SurvivalCase } from './survival-datasets.js';

const FIXTURES = new URL('../fixtures/', import.meta.url);

/** Relative tolerance against R. */
export const RELATIVE_TOLERANCE = 1e-8;
/** Absolute floor for values near 0 (p-values, coefficients close to 0). */
export const ABSOLUTE_TOLERANCE = 1e-12;

export function readCohort(name: string): SurvivalCase[] {
  return parseCsv(readFileSync(new URL(`${name}.csv`, FIXTURES), 'utf8'));
}

/** Reads the R reference. survival.R fixes its shape, and the tests that read it check it. */
export function readReference(): SurvivalReference {
  return JSON.parse(readFileSync(new URL('survival-reference.json', FIXTURES), 'utf8')) as SurvivalReference;
}

/** Asserts |actual − expected| ≤ max(1e-8 · |expected|, 1e-12); null must match null (R's NA). */
export function expectClose(actual: number | null, expected: number | null, label: string): void {
  if (expected === null) {
    expect(actual, label).toBeNull();
    return;
  }
  expect(actual, label).not.toBeNull();
  const error = Math.abs(actual! - expected);
  const allowed = Math.max(RELATIVE_TOLERANCE * Math.abs(expected), ABSOLUTE_TOLERANCE);
  expect(error, `${label}: ${actual} vs R ${expected}`).toBeLessThanOrEqual(allowed);
}

/** Compares two arrays element by element with {@link expectClose}. */
export function expectAllClose(
  actual: readonly (number | null)[],
  expected: readonly (number | null)[],
  label: string,
): void {
  expect(actual.length, `${label} length`).toBe(expected.length);
  expected.forEach((value, index) => {
    expectClose(actual[index]!, value, `${label}[${index}]`);
  });
}

/** `survfit` output as survival.R records it, one array entry per distinct time. */
export interface KaplanMeierReference {
  readonly time: number[];
  readonly atRisk: number[];
  readonly events: number[];
  readonly censored: number[];
  readonly survival: number[];
  readonly standardError: (number | null)[];
  readonly lower: (number | null)[];
  readonly upper: (number | null)[];
  readonly median: { value: number | null; lower: number | null; upper: number | null };
}

export interface KaplanMeierGroupReference extends KaplanMeierReference {
  readonly group: string;
  readonly n: number;
}

export interface LogRankReference {
  readonly statistic: number;
  readonly degreesOfFreedom: number;
  readonly pValue: number;
  readonly groups: { group: string; n: number; observed: number; expected: number }[];
  readonly variance: number[][];
}

interface ChiSquareReference {
  readonly statistic: number;
  readonly df: number;
  readonly pValue: number;
}

export interface CoxReference {
  readonly formula: string;
  readonly coefficients: number[];
  readonly hazardRatios: number[];
  readonly standardErrors: number[];
  readonly zValues: number[];
  readonly pValues: number[];
  readonly ciLower: number[];
  readonly ciUpper: number[];
  readonly variance: number[][];
  readonly logLikelihood: [number, number];
  readonly likelihoodRatio: ChiSquareReference;
  readonly wald: ChiSquareReference;
  readonly score: ChiSquareReference;
  readonly iterations: number;
  readonly concordance: {
    value: number;
    concordant: number;
    discordant: number;
    tiedRisk: number;
    tiedTime: number;
  };
}

export interface SurvivalReference {
  readonly rVersion: string;
  readonly survivalVersion: string;
  readonly kaplanMeier: Record<'tied' | 'exponential' | 'half' | 'tiedLevel90', KaplanMeierReference>;
  readonly kaplanMeierByGroup: Record<'tied' | 'exponential', KaplanMeierGroupReference[]>;
  readonly logRank: Record<
    'tiedByGroup' | 'tiedByStage' | 'exponentialByGroup' | 'exponentialByStage',
    LogRankReference
  >;
  readonly cox: Record<
    'tiedGroup' | 'tiedGroupScore' | 'exponentialGroup' | 'exponentialGroupScore' | 'halfGroupScore',
    CoxReference
  >;
  readonly monotone: {
    time: number[];
    event: number[];
    high: number[];
    coefficient: number;
    warning: string;
  };
}
