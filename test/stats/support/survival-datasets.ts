/**
 * Deterministic survival cohorts for the Kaplan–Meier, log-rank and Cox tests, drawn from a seeded
 * PRNG so that `scripts/survival-datasets.ts` writes the same CSV files on every run.
 * `test/stats/r/survival.R` reads those files and records R's results as the reference.
 *
 * Columns: time (whole days), event (1 = death, 0 = censored), group ("high"/"low" predicted NQO1
 * class), score (a continuous covariate with two decimals, such as a radiomics score), stage
 * ("A"/"B"/"C", for the k-group log-rank test).
 */

import { createRandom } from '../../../src/cli/demo/phantom.js';

export interface SurvivalCase {
  readonly time: number;
  readonly event: 0 | 1;
  readonly group: 'high' | 'low';
  readonly score: number;
  readonly stage: 'A' | 'B' | 'C';
}

export interface SurvivalDataset {
  /** File stem of the CSV in test/stats/fixtures. */
  readonly name: string;
  readonly description: string;
  readonly cases: readonly SurvivalCase[];
}

function exponential(uniform: () => number, rate: number): number {
  return -Math.log(1 - uniform()) / rate;
}

/** Standard normal draw by the Box–Muller transform. */
function normal(uniform: () => number): number {
  const u = 1 - uniform();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
}

function roundTo(value: number, decimals: number): number {
  return Number(value.toFixed(decimals));
}

const STAGES = ['A', 'B', 'C'] as const;

/** Hazard multiplier of each stage in the tied cohort. */
const STAGE_HAZARD_FACTORS = { A: 1, B: 1.2, C: 1.5 } as const;

/**
 * n = 80, times rounded up to 30-day steps so that deaths tie with deaths and with censorings;
 * three stages with different hazards.
 */
export function tiedCohort(): SurvivalDataset {
  const uniform = createRandom(20230901);
  const cases: SurvivalCase[] = [];
  for (let index = 0; index < 80; index++) {
    const group = uniform() < 0.45 ? 'high' : 'low';
    const stage = STAGES[Math.floor(uniform() * 3)]!;
    const score = roundTo(normal(uniform), 2);
    const stageFactor = STAGE_HAZARD_FACTORS[stage];
    const rate = (1 / 900) * (group === 'high' ? 1.8 : 1) * stageFactor;
    const deathDay = exponential(uniform, rate * Math.exp(0.3 * score));
    const censorDay = 200 + uniform() * 1600;
    const observed = Math.min(deathDay, censorDay);
    cases.push({
      time: Math.max(1, Math.ceil(observed / 30)) * 30,
      event: deathDay <= censorDay ? 1 : 0,
      group,
      score,
      stage,
    });
  }
  return { name: 'survival-tied-n80', description: 'n = 80, 30-day grid with tied times', cases };
}

/**
 * n = 300, exponential survival with hazard ratio 1.7 for the high class (this seed gives an
 * estimate of 1.70; He et al., PLoS ONE 2023, reported 1.643 for high NQO1 expression),
 * administrative censoring between 1 and 5 years plus 10 % early loss to follow-up, whole days.
 */
export function exponentialCohort(): SurvivalDataset {
  const uniform = createRandom(35);
  const cases: SurvivalCase[] = [];
  for (let index = 0; index < 300; index++) {
    const group = uniform() < 0.4 ? 'high' : 'low';
    const stage = STAGES[Math.floor(uniform() * 3)]!;
    const score = roundTo(50 + 10 * normal(uniform), 2);
    const rate = (1 / 1500) * (group === 'high' ? 1.7 : 1) * Math.exp(0.02 * (score - 50));
    const deathDay = exponential(uniform, rate);
    const administrative = 365 + uniform() * 4 * 365;
    const censorDay = uniform() < 0.1 ? uniform() * administrative : administrative;
    const observed = Math.min(deathDay, censorDay);
    cases.push({
      time: Math.max(1, Math.ceil(observed)),
      event: deathDay <= censorDay ? 1 : 0,
      group,
      score,
      stage,
    });
  }
  return { name: 'survival-exponential-n300', description: 'n = 300, hazard ratio 1.7', cases };
}

/**
 * n = 30 with distinct times: the first 15 are deaths, so S = 15/30 = 0.5 exactly after the 15th;
 * the 16th time is censored, so S stays at 0.5 until the 17th time, a death. R's median is then the
 * midpoint of the 15th and 17th times. Later cases are a random mix of deaths and censorings.
 */
export function halfSurvivalCohort(): SurvivalDataset {
  const uniform = createRandom(5);
  const days = new Set<number>();
  while (days.size < 30) days.add(10 + Math.floor(uniform() * 1500));
  const times = [...days].sort((a, b) => a - b);

  const cases = times.map((time, index): SurvivalCase => {
    let event: 0 | 1;
    if (index < 15) event = 1;
    else if (index === 15) event = 0;
    else if (index === 16) event = 1;
    else event = uniform() < 0.5 ? 1 : 0;
    return {
      time,
      event,
      group: uniform() < 0.5 ? 'high' : 'low',
      score: roundTo(normal(uniform), 2),
      stage: STAGES[index % 3]!,
    };
  });
  return { name: 'survival-half-n30', description: 'n = 30, S = 0.5 over an interval', cases };
}

/** Returns every dataset the R reference covers. */
export function survivalDatasets(): SurvivalDataset[] {
  return [tiedCohort(), exponentialCohort(), halfSurvivalCohort()];
}

/** CSV text with a header row, "\n" line ends and a final newline. */
export function toCsv(dataset: SurvivalDataset): string {
  const rows = dataset.cases.map((row) =>
    [row.time, row.event, row.group, row.score.toFixed(2), row.stage].join(','),
  );
  return ['time,event,group,score,stage', ...rows, ''].join('\n');
}

/** Parses a CSV written by {@link toCsv}; throws on any value {@link toCsv} cannot have written. */
export function parseCsv(text: string): SurvivalCase[] {
  const [, ...lines] = text.trim().split('\n');
  return lines.map((line, index) => {
    const [time, event, group, score, stage] = line.split(',');
    if (
      (event !== '0' && event !== '1') ||
      (group !== 'high' && group !== 'low') ||
      (stage !== 'A' && stage !== 'B' && stage !== 'C')
    ) {
      throw new Error(`Survival CSV line ${index + 2} is invalid: ${line}`);
    }
    return { time: Number(time), event: event === '1' ? 1 : 0, group, score: Number(score), stage };
  });
}
