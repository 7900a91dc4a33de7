/**
 * Features of every case of a cohort, computed in parallel child processes with a progress line per
 * case, and kept in a cache file so that an interrupted or partly failed run can resume.
 *
 * The cache is a CSV file with one row per computed case. A row contains the case cells (image,
 * mask, segment, label, and the change stamp of image and mask from input-stamp.ts), the card fingerprint, the card's features, the region voxel counts and the error cells.
 * Rows are only ever appended, and a later row of a case replaces an earlier one, so an interrupted
 * run loses nothing. A row is reused when its case cells and card fingerprint match and its error
 * cells are empty. The fingerprint covers everything that changes a feature value: the extraction settings,
 * the region, the feature list and the engine version.
 */
import { createHash } from 'node:crypto';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';

import type { ModelCard } from '../model/card.js';
import { ENGINE_VERSION } from '../version.js';
import { splitCsvLine } from './case-list.js';
import { childModuleBeside, runOrderedPool } from './child-pool.js';
import type { CohortCase } from './cohort.js';
import { runCohortCase, type CohortOutcome, type CohortRequest } from './cohort-worker.js';
import { csvRow } from './extract-format.js';
import { inputStamp } from './input-stamp.js';
import type { Locale } from './messages.js';
import { caseProgressReporter } from './progress.js';

export interface CohortFeatureOptions {
  readonly jobs: number;
  /** Cache file; created when missing. */
  readonly cachePath: string;
  readonly locale: Locale;
  readonly progress: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly signal?: AbortSignal;
}

/** Outcome of every case, by position in the cohort; undefined for cases an interruption skipped. */
export interface CohortFeatures {
  readonly outcomes: readonly (CohortOutcome | undefined)[];
  readonly reusedCount: number;
  readonly interrupted: boolean;
}

const CASE_COLUMNS = ['image', 'mask', 'segment', 'label', 'inputs_stamp'] as const;

/** Hex SHA-256 of what fixes the card's feature values. */
export function cardFingerprint(card: ModelCard): string {
  const fixed = {
    extraction: card.extraction,
    region: card.region,
    features: card.features.map(({ name, region, pyradiomicsName }) => [name, region, pyradiomicsName]),
    engine: ENGINE_VERSION,
  };
  return createHash('sha256').update(JSON.stringify(fixed)).digest('hex').slice(0, 16);
}

/** Returns the cells that identify a case in the cache, with the change stamp of its image and mask. */
function caseCells(entry: CohortCase, stamp: string): string[] {
  return [entry.image, entry.mask, entry.segment, entry.label === null ? '' : String(entry.label), stamp];
}

function cacheColumns(card: ModelCard): string[] {
  return [
    ...CASE_COLUMNS,
    'card_fingerprint',
    ...card.features.map((feature) => feature.name),
    'tumour_voxels',
    'peri_voxels',
    'error_code',
    'error_message',
  ];
}

/** Reads the reusable rows of the cache, keyed by the case cells; none when the file is absent or stale. */
async function readCache(path: string, columns: readonly string[], fingerprint: string, card: ModelCard) {
  const reusable = new Map<string, CohortOutcome>();
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return { reusable, valid: false };
  }
  const lines = text.split('\n').filter((line) => line !== '');
  if (lines[0] !== csvRow(columns).trimEnd()) return { reusable, valid: false };

  for (const line of lines.slice(1)) {
    const cells = splitCsvLine(line);
    if (cells.length !== columns.length) continue;
    const key = JSON.stringify(cells.slice(0, CASE_COLUMNS.length));
    const errorCode = cells[columns.length - 2]!;
    if (cells[CASE_COLUMNS.length] !== fingerprint || errorCode !== '') {
      reusable.delete(key);
      continue;
    }
    const features: Record<string, number> = {};
    card.features.forEach((feature, offset) => {
      features[feature.name] = Number(cells[CASE_COLUMNS.length + 1 + offset]);
    });
    const counts = cells.slice(columns.length - 4, columns.length - 2).map(Number);
    reusable.set(key, {
      ok: true,
      features,
      tumourVoxelCount: counts[0]!,
      periVoxelCount: counts[1]!,
      warnings: [],
    });
  }
  return { reusable, valid: true };
}

/** Formats the cache row of a computed case. */
function cacheRow(
  identity: readonly string[],
  fingerprint: string,
  card: ModelCard,
  outcome: CohortOutcome,
): string {
  const cells = [...identity, fingerprint];
  if (outcome.ok) {
    // String(number) round-trips every float64 exactly.
    cells.push(...card.features.map((feature) => String(outcome.features[feature.name])));
    cells.push(String(outcome.tumourVoxelCount), String(outcome.periVoxelCount), '', '');
  } else {
    cells.push(...card.features.map(() => ''), '', '', outcome.code, outcome.message);
  }
  return csvRow(cells);
}

/**
 * Computes (or reuses from the cache) the card's features for every case, reporting progress.
 * A failed case is returned as its error; the caller decides whether the cohort can go on.
 */
export async function cohortFeatures(
  cases: readonly CohortCase[],
  card: ModelCard,
  options: CohortFeatureOptions,
): Promise<CohortFeatures> {
  const columns = cacheColumns(card);
  const fingerprint = cardFingerprint(card);
  const cache = await readCache(options.cachePath, columns, fingerprint, card);
  if (!cache.valid) await writeFile(options.cachePath, csvRow(columns));

  // A case is reused only while its image and mask are unchanged since the cached row was written.
  const identities: string[][] = [];
  for (const entry of cases) {
    const stamp = `${await inputStamp(entry.image)}|${await inputStamp(entry.mask)}`;
    identities.push(caseCells(entry, stamp));
  }
  const preset = new Map<number, CohortOutcome>();
  identities.forEach((cells, index) => {
    const reused = cache.reusable.get(JSON.stringify(cells));
    if (reused !== undefined) preset.set(index, reused);
  });

  const outcomes: (CohortOutcome | undefined)[] = cases.map(() => undefined);
  const progress = caseProgressReporter(cases.length, options.locale, options.progress);
  await runOrderedPool<CohortRequest, CohortOutcome>({
    count: cases.length,
    preset,
    requestOf: (index) => {
      const entry = cases[index]!;
      return { image: entry.image, mask: entry.mask, segment: entry.segment, label: entry.label, card };
    },
    jobs: options.jobs,
    child: childModuleBeside(import.meta.url, 'cohort-worker'),
    runHere: runCohortCase,
    lostOutcome: (reason) => ({
      ok: false,
      code: 'ERR_INTERNAL',
      message: `The worker process computing this case stopped (${reason}). Score the case alone with nqo1-cds score to see its error.`,
    }),
    onOutcome: async (index, outcome) => {
      outcomes[index] = outcome;
      const entry = cases[index]!;
      if (!preset.has(index))
        await appendFile(options.cachePath, cacheRow(identities[index]!, fingerprint, card, outcome));
      progress(
        index,
        entry.id === basename(entry.image) ? entry.id : `${entry.id} (${basename(entry.image)})`,
        outcome.ok
          ? { ok: true, reused: preset.has(index) }
          : { ok: false, code: outcome.code, detail: outcome.message },
      );
    },
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });

  return {
    outcomes,
    reusedCount: preset.size,
    interrupted: outcomes.some((outcome) => outcome === undefined),
  };
}
