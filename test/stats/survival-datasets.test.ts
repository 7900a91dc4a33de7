/**
 * Checks that the seeded generator reproduces the committed survival CSVs byte for byte, so the R
 * reference computed from them stays reproducible. The reference must record its R and survival versions.
 */
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { readReference } from './support/survival-reference.js';
import { survivalDatasets, toCsv } from './support/survival-datasets.js';

describe('survival datasets', () => {
  it.each(survivalDatasets().map((dataset) => [dataset.name, dataset] as const))(
    '%s matches its CSV',
    (name, dataset) => {
      const committed = readFileSync(new URL(`fixtures/${name}.csv`, import.meta.url), 'utf8');
      expect(toCsv(dataset)).toBe(committed);
    },
  );

  it('cohorts have the designed shape', () => {
    const [tied, exponential, half] = survivalDatasets();
    expect(tied!.cases).toHaveLength(80);
    expect(exponential!.cases).toHaveLength(300);
    expect(half!.cases).toHaveLength(30);

    // Tied cohort: deaths share times with deaths and with censorings.
    const deathTimes = tied!.cases.filter((row) => row.event === 1).map((row) => row.time);
    expect(new Set(deathTimes).size).toBeLessThan(deathTimes.length);
    const censorTimes = new Set(tied!.cases.filter((row) => row.event === 0).map((row) => row.time));
    expect(deathTimes.some((time) => censorTimes.has(time))).toBe(true);

    // Half cohort: 15 deaths, then a censoring, then a death.
    expect(half!.cases.slice(0, 17).map((row) => row.event)).toEqual([
      ...new Array<number>(15).fill(1),
      0,
      1,
    ]);
  });

  it('reference names its R and survival versions', () => {
    const reference = readReference();
    expect(reference.rVersion).toMatch(/^R version 4\.2\.2/);
    expect(reference.survivalVersion).toBe('3.5.3');
  });
});
