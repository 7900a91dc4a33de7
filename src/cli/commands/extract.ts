/**
 * `nqo1-cds extract`: every registered radiomic feature (or those a `--params` file enables) of one
 * case, or of a batch of cases, with
 * pyradiomics' output keys and layout, so scripts written for `pyradiomics` read the results.
 */
import { open, writeFile } from 'node:fs/promises';

import { checkOutputPath } from '../output-path.js';
import { basename } from 'node:path';

import { Nqo1Error, type ErrorCode } from '../../errors.js';
import { readBatchCases, runBatch, defaultJobs, type BatchCase } from '../extract-batch.js';
import { caseColumns, extractCase, recordKeys, settingsObject, type CaseOutcome } from '../extract-case.js';
import { cellText, csvRow, recordObject, recordRow } from '../extract-format.js';
import { extractSettings, loadParams, type ExtractParams } from '../extract-params.js';
import { reusableOutcomes } from '../extract-resume.js';
import { message, type Locale } from '../messages.js';
import { caseProgressReporter } from '../progress.js';

export interface ExtractOptions {
  readonly image?: string;
  readonly mask?: string;
  readonly batch?: string;
  readonly params?: string;
  readonly label?: number;
  readonly segment?: string;
  readonly format?: 'json' | 'csv';
  readonly timings?: boolean;
  readonly out?: string;
  readonly jobs?: number;
  readonly resume?: boolean;
}

/** Streams the command writes to: results (when no --out) and progress for people. */
export interface ExtractStreams {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean };
  /** Aborts a batch (Ctrl-C): no further case starts, and the rows written so far stay. */
  readonly signal?: AbortSignal;
}

/** Summary of a run: the number of cases, the number that failed and their error codes. */
export interface ExtractSummary {
  readonly count: number;
  readonly failed: number;
  readonly firstFailureCode: ErrorCode | null;
  /** Failed cases per error code, in the order the codes first occurred. */
  readonly failuresByCode: Readonly<Record<string, number>>;
  /** True when the batch stopped on `signal` before every case had its row. */
  readonly interrupted?: boolean;
}

/**
 * Runs the command. A failed single case throws; a failed batch case is counted and reported in its
 * row, and the batch goes on.
 */
export async function extractCommand(
  options: ExtractOptions,
  locale: Locale,
  streams: ExtractStreams,
): Promise<ExtractSummary> {
  checkOptionMix(options);
  if (options.out !== undefined && options.batch === undefined) {
    await checkOutputPath(options.out, [options.image, options.mask, options.params]);
  }
  const params = await loadParams(options.params);
  const settings = extractSettings(params.settings, options.label);
  if (options.batch !== undefined) {
    return extractBatch(options.batch, options, { ...params, settings }, locale, streams);
  }

  if (options.image === undefined || options.mask === undefined) {
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      'extract needs --image and --mask for one case, or --batch CASES.csv --out RESULTS.csv for many.',
    );
  }
  const { record, timings, warnings } = await extractCase(
    {
      image: options.image,
      mask: options.mask,
      label: settings.label,
      ...(options.segment === undefined ? {} : { segment: options.segment }),
    },
    settings,
    params.features,
  );
  const full = new Map([...caseColumns(options.image, options.mask), ...record]);

  let text: string;
  if (options.format === 'csv') {
    const timingEntries = options.timings === true ? Object.entries(timings) : [];
    const columns = [...full.keys(), ...timingEntries.map(([key]) => `timings_${key}`)];
    const cells = [
      ...[...full].map(([key, value]) => cellText(key, value)),
      ...timingEntries.map(([, ms]) => String(ms)),
    ];
    text = csvRow(columns) + csvRow(cells);
  } else {
    const object = recordObject(full);
    text = `${JSON.stringify(options.timings === true ? { ...object, timings } : object)}\n`;
  }

  for (const warning of warnings) streams.stderr.write(`${message(locale, 'warningPrefix')}: ${warning}\n`);
  if (options.out === undefined) streams.stdout.write(text);
  else await writeFile(options.out, text);
  return { count: 1, failed: 0, firstFailureCode: null, failuresByCode: {} };
}

/** Rejects options that belong to the other mode (one case or batch), instead of ignoring them. */
function checkOptionMix(options: ExtractOptions): void {
  const batchOnly = [options.jobs !== undefined && '--jobs', options.resume === true && '--resume'];
  const caseOnly = [
    options.image !== undefined && '--image',
    options.mask !== undefined && '--mask',
    options.timings === true && '--timings',
  ];
  const misplaced = (options.batch === undefined ? batchOnly : caseOnly).filter(
    (name): name is string => name !== false,
  );
  if (misplaced.length === 0) return;
  const subject = `${misplaced.join(' and ')} ${misplaced.length === 1 ? 'applies' : 'apply'}`;
  throw new Nqo1Error(
    'ERR_REQUEST_INVALID',
    options.batch === undefined
      ? `${subject} only with --batch. Add --batch CASES.csv, or remove it.`
      : `${subject} only to one case, not with --batch. Remove it, or drop --batch.`,
  );
}

async function extractBatch(
  batchPath: string,
  options: ExtractOptions,
  { settings, features }: ExtractParams,
  locale: Locale,
  streams: ExtractStreams,
): Promise<ExtractSummary> {
  if (options.out === undefined) {
    throw new Nqo1Error('ERR_REQUEST_INVALID', 'extract --batch needs --out RESULTS.csv for the results.');
  }
  if (options.format === 'json') {
    throw new Nqo1Error('ERR_REQUEST_INVALID', 'extract --batch writes CSV only; leave out --format json.');
  }
  const cases = await readBatchCases(batchPath, settings.label);
  await checkOutputPath(options.out, [
    batchPath,
    options.params,
    ...cases.flatMap((entry) => ('image' in entry.input ? [entry.input.image, entry.input.mask] : [])),
  ]);
  const caseNames = uniqueColumns(cases);
  const columns = [
    ...caseNames,
    ...recordKeys(features, settings.additionalInfo !== false),
    'error_code',
    'error_message',
  ];
  if (options.resume === true && settings.additionalInfo === false) {
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      '--resume compares the diagnostics_Configuration_Settings cell of each earlier row with this run, and ' +
        'additionalInfo: false leaves that column out. Remove additionalInfo: false from the parameter file, ' +
        'or leave out --resume.',
    );
  }

  const reused =
    options.resume === true
      ? await reusableOutcomes(options.out, columns, caseNames, cases, (batchCase) =>
          cellText(
            'diagnostics_Configuration_Settings',
            settingsObject({
              ...settings,
              label: 'label' in batchCase.input ? batchCase.input.label : settings.label,
            }),
          ),
        )
      : new Map<number, CaseOutcome>();
  const output = await open(options.out, 'w');
  const report = caseProgressReporter(cases.length, locale, streams.stderr);
  const progress = (index: number, outcome: CaseOutcome): void => {
    const name = basename(cases[index]!.columns.get('Image') ?? `line ${cases[index]!.line}`);
    report(index, name, outcome.ok ? outcome : { ok: false, code: outcome.code });
  };
  let failed = 0;
  let written = 0;
  let firstFailureCode: ErrorCode | null = null;
  const failuresByCode: Record<string, number> = {};
  try {
    await output.write(csvRow(columns));
    await runBatch(
      cases,
      settings,
      features,
      options.jobs ?? defaultJobs(),
      async (index, outcome) => {
        if (!outcome.ok) {
          failed++;
          // Outcome codes come from Nqo1Error or describeError, so they are error codes.
          firstFailureCode ??= outcome.code as ErrorCode;
          failuresByCode[outcome.code] = (failuresByCode[outcome.code] ?? 0) + 1;
        }
        await output.write(rowOf(columns, cases[index]!, outcome));
        written++;
        progress(index, outcome);
      },
      reused,
      streams.signal,
    );
  } finally {
    await output.close();
  }

  if (written < cases.length) {
    streams.stderr.write(
      `\n${message(locale, 'extractInterrupted', { written, count: cases.length, path: options.out })}\n`,
    );
    return { count: cases.length, failed, firstFailureCode, failuresByCode, interrupted: true };
  }

  streams.stderr.write(
    `${message(locale, 'extractSummary', { ok: cases.length - failed, count: cases.length, failed, path: options.out })}\n`,
  );
  return { count: cases.length, failed, firstFailureCode, failuresByCode };
}

/** Case columns of the output: the union of the input headers, in first-seen order. */
function uniqueColumns(cases: readonly BatchCase[]): string[] {
  const names = new Set<string>();
  for (const batchCase of cases) for (const name of batchCase.columns.keys()) names.add(name);
  return [...names];
}

function rowOf(columns: readonly string[], batchCase: BatchCase, outcome: CaseOutcome): string {
  const values = new Map<string, string | number | readonly number[] | Readonly<Record<string, unknown>>>(
    batchCase.columns,
  );
  if (outcome.ok) {
    for (const [key, value] of outcome.record) values.set(key, value);
  } else {
    values.set('error_code', outcome.code);
    values.set('error_message', outcome.message);
  }
  return recordRow(columns, values);
}
