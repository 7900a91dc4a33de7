/**
 * Deterministic binary-outcome cohorts for the discrimination, calibration and logistic tests.
 *
 * Each cohort is drawn from a seeded PRNG (mulberry32 with Box–Muller normals), so the CSV files in
 * `test/stats/fixtures/` can be rewritten bit for bit by `scripts/stats-binary-datasets.ts`. The R
 * script `test/stats/r/discrimination.R` reads those CSV files, not this module, so R and the tests
 * see the same decimal text.
 *
 * Every case has a label (1 = high NQO1), three features drawn from a normal distribution whose mean
 * depends on the label, two correlated scores for the paired DeLong test, and a probability that is
 * deliberately miscalibrated, so that the recalibration intercept and slope differ from 0 and 1.
 */

import { createRandom } from '../../../src/cli/demo/phantom.js';

/** One case of a cohort. */
export interface BinaryCase {
  readonly label: 0 | 1;
  readonly x1: number;
  readonly x2: number;
  readonly x3: number;
  readonly scoreA: number;
  readonly scoreB: number;
  readonly probability: number;
  /** The probability rounded to one decimal: heavily tied, for Hosmer–Lemeshow groups that merge. */
  readonly probabilityCoarse: number;
}

/** How a cohort is drawn. */
interface CohortRecipe {
  readonly name: string;
  readonly seed: number;
  readonly positives: number;
  readonly negatives: number;
  /** Mean shift of x1 and x2 between the classes, in standard deviations. */
  readonly shift: number;
  /** Decimal places kept for the scores; 1 produces many tied scores. */
  readonly scoreDecimals: number;
  /** Decimal places kept for the probability. */
  readonly probabilityDecimals: number;
}

/** The three cohorts: well separated (n = 60), tied scores (n = 200), small and unbalanced (n = 25). */
export const COHORT_RECIPES: readonly CohortRecipe[] = [
  {
    name: 'separated',
    seed: 20_231_101,
    positives: 30,
    negatives: 30,
    shift: 1.1,
    scoreDecimals: 6,
    probabilityDecimals: 6,
  },
  {
    name: 'tied',
    seed: 20_231_102,
    positives: 80,
    negatives: 120,
    shift: 0.45,
    scoreDecimals: 1,
    probabilityDecimals: 2,
  },
  {
    name: 'small',
    seed: 20_231_103,
    positives: 6,
    negatives: 19,
    shift: 0.7,
    scoreDecimals: 4,
    probabilityDecimals: 4,
  },
];

/** Standard normal numbers by the Box–Muller transform. */
function normalSource(uniform: () => number): () => number {
  return () => {
    const u1 = 1 - uniform();
    const u2 = uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  };
}

/** Rounds to `decimals` places through the decimal text, so the CSV contains exactly this value. */
function roundTo(value: number, decimals: number): number {
  return Number(value.toFixed(decimals));
}

/** Draws the cases of one cohort, labels shuffled into a random order. */
export function drawCohort(recipe: CohortRecipe): BinaryCase[] {
  const uniform = createRandom(recipe.seed);
  const normal = normalSource(uniform);

  const labels: (0 | 1)[] = [
    ...Array.from({ length: recipe.positives }, () => 1 as const),
    ...Array.from({ length: recipe.negatives }, () => 0 as const),
  ];
  for (let i = labels.length - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    [labels[i], labels[j]] = [labels[j]!, labels[i]!];
  }

  return labels.map((label) => {
    const sign = label === 1 ? 1 : -1;
    const x1 = roundTo(normal() + sign * recipe.shift, 6);
    const x2 = roundTo(normal() + sign * recipe.shift * 0.7, 6);
    const x3 = roundTo(normal(), 6);
    const linear = 1.4 * x1 + 0.9 * x2;
    const scoreA = roundTo(linear, recipe.scoreDecimals);
    const scoreB = roundTo(0.6 * linear + 1.2 * normal(), recipe.scoreDecimals);
    const minimum = 10 ** -recipe.probabilityDecimals;
    const rawProbability = 1 / (1 + Math.exp(-(0.7 * linear - 0.3)));
    const probability = roundTo(
      Math.min(1 - minimum, Math.max(minimum, roundTo(rawProbability, recipe.probabilityDecimals))),
      recipe.probabilityDecimals,
    );
    const probabilityCoarse = Math.min(0.9, Math.max(0.1, roundTo(rawProbability, 1)));
    return { label, x1, x2, x3, scoreA, scoreB, probability, probabilityCoarse };
  });
}

/** Column names of the fixture CSV files, in order. */
export const CSV_COLUMNS = [
  'label',
  'x1',
  'x2',
  'x3',
  'score_a',
  'score_b',
  'probability',
  'probability_coarse',
] as const;

/** Renders a cohort as CSV text (header, then one line per case, numbers in shortest round-trip form). */
export function cohortToCsv(cases: readonly BinaryCase[]): string {
  const lines = cases.map((c) =>
    [c.label, c.x1, c.x2, c.x3, c.scoreA, c.scoreB, c.probability, c.probabilityCoarse]
      .map((value) => String(value))
      .join(','),
  );
  return [CSV_COLUMNS.join(','), ...lines, ''].join('\n');
}

/** Columns of a fixture CSV as numbers. */
export interface CohortColumns {
  readonly labels: number[];
  readonly x1: number[];
  readonly x2: number[];
  readonly x3: number[];
  readonly scoreA: number[];
  readonly scoreB: number[];
  readonly probability: number[];
  readonly probabilityCoarse: number[];
}

/** Parses a fixture CSV written by {@link cohortToCsv}. */
export function parseCohortCsv(text: string): CohortColumns {
  const [header, ...rows] = text.trim().split('\n');
  if (header !== CSV_COLUMNS.join(',')) throw new Error(`unexpected CSV header: ${header}`);
  const cells = rows.map((row) => row.split(',').map(Number));
  const column = (index: number): number[] => cells.map((cell) => cell[index]!);
  return {
    labels: column(0),
    x1: column(1),
    x2: column(2),
    x3: column(3),
    scoreA: column(4),
    scoreB: column(5),
    probability: column(6),
    probabilityCoarse: column(7),
  };
}
