/**
 * `nqo1-cds extract --batch`: many cases from a CSV in pyradiomics' batch layout.
 *
 * The input CSV has a header row with the columns `Image` and `Mask`, and optionally `Label` and
 * `Segment` (an addition to pyradiomics' layout). Other columns are copied to the output unchanged. Relative
 * paths are resolved from the CSV's folder. Cases run in child processes, `jobs` at a time; each
 * output row is written in input order as soon as the rows before it are done. A failed case keeps
 * its row, with `error_code` and `error_message` filled and the result columns empty.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';

import { Nqo1Error } from '../errors.js';
import type { RadiomicsSettings } from '../radiomics/settings.js';
import { splitCsvLine } from './case-list.js';
import type { CaseOutcome, ExtractCaseInput, FeatureSelection } from './extract-case.js';
import { childModuleBeside, runOrderedPool } from './child-pool.js';
import { runCase, type WorkerRequest } from './extract-worker.js';

/** One row of the batch CSV. */
export interface BatchCase {
  /** 1-based line number in the CSV, for messages. */
  readonly line: number;
  /** The cells of the row by header name, Image and Mask made absolute. */
  readonly columns: ReadonlyMap<string, string>;
  /** The case to extract, or the error that makes the row unusable. */
  readonly input: ExtractCaseInput | { readonly code: string; readonly message: string };
}

/** Default number of parallel cases: the number of cores less one, at least one. */
export function defaultJobs(): number {
  return Math.max(1, availableParallelism() - 1);
}

function column(header: readonly string[], name: string): number {
  const exact = header.indexOf(name);
  return exact >= 0 ? exact : header.findIndex((cell) => cell.toLowerCase() === name.toLowerCase());
}

/**
 * Reads the batch CSV. A row with a bad label or a missing path becomes a failed case; only an
 * unreadable file or a header without Image and Mask stops the batch.
 *
 * @throws Nqo1Error ERR_NOT_FOUND for an unreadable file, ERR_REQUEST_INVALID for a bad header.
 */
export async function readBatchCases(path: string, defaultLabel: number): Promise<BatchCase[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Nqo1Error('ERR_NOT_FOUND', `Batch file ${path} could not be read. Check the path.`, {
      cause: error,
    });
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = splitCsvLine(lines[0] ?? '');
  const imageColumn = column(header, 'Image');
  const maskColumn = column(header, 'Mask');
  const labelColumn = column(header, 'Label');
  const segmentColumn = column(header, 'Segment');
  if (imageColumn < 0 || maskColumn < 0) {
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      `Batch file ${path} must start with a header row naming the columns "Image" and "Mask" ` +
        `(optional: "Label"); found "${lines[0] ?? ''}".`,
    );
  }

  const base = dirname(resolve(path));
  const cases: BatchCase[] = [];
  lines.slice(1).forEach((line, offset) => {
    if (line.trim() === '') return;
    const lineNumber = offset + 2;
    const cells = splitCsvLine(line);
    const image = cells[imageColumn] ?? '';
    const mask = cells[maskColumn] ?? '';
    const columns = new Map(header.map((name, index) => [name, cells[index] ?? '']));
    if (image !== '') columns.set(header[imageColumn]!, resolve(base, image));
    if (mask !== '') columns.set(header[maskColumn]!, resolve(base, mask));

    const labelText = labelColumn < 0 ? '' : (cells[labelColumn] ?? '');
    const label = labelText === '' ? defaultLabel : Number(labelText);
    if (image === '' || mask === '') {
      const message = `Batch file ${path}, line ${lineNumber}: both "Image" and "Mask" need a path. Fill in the row.`;
      cases.push({ line: lineNumber, columns, input: { code: 'ERR_REQUEST_INVALID', message } });
    } else if (!Number.isInteger(label) || label < 1 || label > 255) {
      const message = `Batch file ${path}, line ${lineNumber}: Label "${labelText}" is not an integer from 1 to 255.`;
      cases.push({ line: lineNumber, columns, input: { code: 'ERR_REQUEST_INVALID', message } });
    } else {
      const segment = segmentColumn < 0 ? '' : (cells[segmentColumn] ?? '');
      const input: ExtractCaseInput = {
        image: resolve(base, image),
        mask: resolve(base, mask),
        label,
        ...(segment === '' ? {} : { segment }),
      };
      cases.push({ line: lineNumber, columns, input });
    }
  });
  return cases;
}

function isRunnable(input: BatchCase['input']): input is ExtractCaseInput {
  return 'image' in input;
}

/**
 * Extracts the enabled `features` (every feature when undefined) of every case, `jobs` at a time,
 * and reports each outcome through `onOutcome` in input order (see child-pool.ts). A case in
 * `reused` is reported with that outcome and not extracted; an unusable row is reported as failed.
 * After `signal` aborts (Ctrl-C), the output holds the rows before the first unfinished case,
 * which `--resume` keeps.
 */
export async function runBatch(
  cases: readonly BatchCase[],
  settings: RadiomicsSettings,
  features: FeatureSelection | undefined,
  jobs: number,
  onOutcome: (index: number, outcome: CaseOutcome) => Promise<void> | void,
  reused: ReadonlyMap<number, CaseOutcome> = new Map(),
  signal?: AbortSignal,
): Promise<void> {
  const preset = new Map<number, CaseOutcome>(reused);
  cases.forEach((batchCase, index) => {
    if (!preset.has(index) && !isRunnable(batchCase.input))
      preset.set(index, { ok: false, ...batchCase.input });
  });
  await runOrderedPool<WorkerRequest, CaseOutcome>({
    count: cases.length,
    preset,
    requestOf: (index) => ({
      input: cases[index]!.input as ExtractCaseInput,
      settings,
      ...(features === undefined ? {} : { features }),
    }),
    jobs,
    child: childModuleBeside(import.meta.url, 'extract-worker'),
    runHere: (request) => runCase(request.input, request.settings, request.features),
    lostOutcome: (reason) => ({
      ok: false,
      code: 'ERR_INTERNAL',
      message:
        `The worker process extracting this case stopped (${reason}). Run the case alone with ` +
        '`nqo1-cds extract --image ... --mask ...` to see its error.',
    }),
    onOutcome,
    ...(signal === undefined ? {} : { signal }),
  });
}
