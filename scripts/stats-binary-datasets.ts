/**
 * Writes the binary-outcome cohorts of `test/stats/support/binary-datasets.ts` as CSV files into
 * `test/stats/fixtures/binary-<name>.csv`. The output is deterministic; rerun
 * `Rscript test/stats/r/discrimination.R` afterwards to refresh the R reference values.
 *
 * Run: `node --import tsx scripts/stats-binary-datasets.ts`
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { COHORT_RECIPES, cohortToCsv, drawCohort } from '../test/stats/support/binary-datasets.js';

const fixturesDirectory = fileURLToPath(new URL('../test/stats/fixtures/', import.meta.url));
mkdirSync(fixturesDirectory, { recursive: true });

for (const recipe of COHORT_RECIPES) {
  const cases = drawCohort(recipe);
  const path = `${fixturesDirectory}binary-${recipe.name}.csv`;
  writeFileSync(path, cohortToCsv(cases));
  const positives = cases.filter((c) => c.label === 1).length;
  console.log(`${path}: ${cases.length} cases, ${positives} positive`);
}
