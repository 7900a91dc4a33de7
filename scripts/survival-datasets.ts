/**
 * Writes the deterministic survival cohorts of test/stats/support/survival-datasets.ts as CSV files
 * into test/stats/fixtures/, where test/stats/r/survival.R reads them to produce the R reference.
 *
 * Run `node --import tsx scripts/survival-datasets.ts`, then `Rscript test/stats/r/survival.R`.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { survivalDatasets, toCsv } from '../test/stats/support/survival-datasets.js';

const fixtures = fileURLToPath(new URL('../test/stats/fixtures/', import.meta.url));
for (const dataset of survivalDatasets()) {
  const path = `${fixtures}${dataset.name}.csv`;
  writeFileSync(path, toCsv(dataset));
  const deaths = dataset.cases.filter((row) => row.event === 1).length;
  console.log(`${path}: ${dataset.cases.length} cases, ${deaths} deaths (${dataset.description})`);
}
