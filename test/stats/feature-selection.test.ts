/**
 * mRMR ranking and recursive feature elimination on a generated cohort where the class depends on
 * columns 0 and 1, column 2 is column 0 plus a little noise (relevant but redundant), and columns
 * 3 to 7 are noise. Pearson's r is checked against R 4.2.2 `cor(a, b)`.
 */
import { describe, expect, it } from 'vitest';

import { createRandom } from '../../src/cli/demo/phantom.js';
import { gaussianMutualInformation, mrmrRanking, pearson } from '../../src/stats/mrmr.js';
import { recursiveFeatureElimination } from '../../src/stats/rfe.js';

function cohort(n: number, seed: number): { rows: number[][]; labels: number[] } {
  const random = createRandom(seed);
  const normal = (): number =>
    Math.sqrt(-2 * Math.log(Math.max(random(), 1e-300))) * Math.cos(2 * Math.PI * random());
  const rows: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const x0 = normal();
    const x1 = normal();
    const row = [x0, x1, x0 + 0.1 * normal(), normal(), normal(), normal(), normal(), normal()];
    rows.push(row);
    labels.push(random() < 1 / (1 + Math.exp(-(1.5 * x0 + 1.0 * x1))) ? 1 : 0);
  }
  return { rows, labels };
}

describe('feature selection', () => {
  it('pearson matches R cor()', () => {
    // R: print(cor(c(1, 2, 4, 7, 11), c(2, 1, 5, 6, 12)), digits = 17) gives 0.96780117713159453.
    expect(pearson([1, 2, 4, 7, 11], [2, 1, 5, 6, 12])).toBeCloseTo(0.96780117713159453, 14);
    expect(pearson([1, 1, 1], [1, 2, 3])).toBe(0);
    expect(gaussianMutualInformation(0.5)).toBeCloseTo(-0.5 * Math.log(0.75), 15);
  });

  it('mRMR picks one of the two near-copies, then the other informative column, then not the copy', () => {
    const { rows, labels } = cohort(300, 11);
    const ranking = mrmrRanking(rows, labels, 8);
    const order = ranking.map((pick) => pick.column);
    // Columns 0 and 2 carry the same signal; whichever comes first, the other is pushed back.
    expect([0, 2]).toContain(order[0]);
    expect(order[1]).toBe(1);
    const copy = ranking.find((pick) => pick.column === (order[0] === 0 ? 2 : 0))!;
    expect(copy.relevance).toBeGreaterThan(0.05);
    expect(copy.redundancy).toBeGreaterThan(copy.relevance);
    expect(ranking[0]!.redundancy).toBe(0);
  });

  it('RFE keeps the informative columns', () => {
    const { rows, labels } = cohort(300, 11);
    const { kept, steps } = recursiveFeatureElimination(rows, labels, [0, 1, 3, 4, 5, 6, 7], 2);
    expect(kept.sort()).toEqual([0, 1]);
    expect(steps).toHaveLength(5);
    expect(steps.map((step) => step.dropped)).not.toContain(0);
  });

  it('rejects one class and non-finite values', () => {
    const { rows } = cohort(10, 3);
    expect(() =>
      mrmrRanking(
        rows,
        rows.map(() => 1),
        2,
      ),
    ).toThrow(/both classes/);
    const broken = rows.map((row, index) => (index === 4 ? [Number.NaN, ...row.slice(1)] : row));
    expect(() =>
      mrmrRanking(
        broken,
        rows.map((_, index) => index % 2),
        2,
      ),
    ).toThrow(/feature 0 of case 5 is NaN/);
  });
});
