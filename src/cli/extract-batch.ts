/**
 * `nqo1-cds extract --batch`: many cases from a CSV in pyradiomics' batch layout.
 *
 * The input CSV has a header row with the columns `Image` and `Mask`, and optionally `Label` and
 * `Segment` (an addition to pyradiomics' layout). Other columns are copied to the output unchanged. Relative
 * paths are resolved from the CSV's folder. Cases run in child processes, `jobs` at a time; each
 * output row is written in input order as soon as the rows before it are done. A failed case keeps
 * its row, with `error_code` and `error_message` filled and the result columns empty.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Nqo1Error } from '../errors.js';
import type { RadiomicsSettings } from '../radiomics/settings.js';
import { splitCsvLine } from './case-list.js';
import type { CaseOutcome, ExtractCaseInput, FeatureSelection } from './extract-case.js';
import type { WorkerRequest } from './extract-worker.js';
import { runCase } from './extract-worker.js';

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

/** Location of the worker module: the compiled .js next to this file, or the .ts source under tsx. */
function workerModule(): { path: string; execArgv: string[] } {
  const self = import.meta.url;
  if (self.endsWith('.ts')) {
    return { path: fileURLToPath(new URL('./extract-worker.ts', self)), execArgv: ['--import', 'tsx'] };
  }
  return { path: fileURLToPath(new URL('./extract-worker.js', self)), execArgv: [] };
}

/** True once `signal` has aborted; a function so that each call reads the current state. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function isRunnable(input: BatchCase['input']): input is ExtractCaseInput {
  return 'image' in input;
}

/**
 * Extracts the enabled `features` (every feature when undefined) of every case, `jobs` at a time,
 * and reports each outcome through `onOutcome` in input order. With one job the cases run in this
 * process, otherwise in `jobs` child processes. A case in `reused` is reported with that outcome and
 * not extracted.
 *
 * When `signal` aborts (Ctrl-C), no further case starts, the child processes are stopped, and the
 * cases they were running are not reported: the output then holds the rows before the first
 * unfinished case, which `--resume` keeps.
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
  // Outcomes wait here until every case before them has been reported.
  const outcomes = new Map<number, CaseOutcome>();
  let nextToReport = 0;
  let reporting: Promise<void> = Promise.resolve();
  const settle = (index: number, outcome: CaseOutcome): Promise<void> => {
    outcomes.set(index, outcome);
    reporting = reporting.then(async () => {
      while (outcomes.has(nextToReport) && !isAborted(signal)) {
        const ready = outcomes.get(nextToReport)!;
        outcomes.delete(nextToReport);
        await onOutcome(nextToReport, ready);
        nextToReport++;
      }
    });
    return reporting;
  };

  const runnable: number[] = [];
  for (const [index, batchCase] of cases.entries()) {
    const earlier = reused.get(index);
    if (earlier !== undefined) await settle(index, earlier);
    else if (isRunnable(batchCase.input)) runnable.push(index);
    else await settle(index, { ok: false, ...batchCase.input });
  }

  if (jobs <= 1 || runnable.length <= 1) {
    for (const index of runnable) {
      if (isAborted(signal)) break;
      const outcome = await runCase(cases[index]!.input as ExtractCaseInput, settings, features);
      // Ctrl-C during the case: its outcome is not written, so --resume extracts it again.
      if (isAborted(signal)) break;
      await settle(index, outcome);
    }
    await reporting;
    return;
  }

  const queue = [...runnable];
  const requestOf = (index: number): WorkerRequest => ({
    index,
    input: cases[index]!.input as ExtractCaseInput,
    settings,
    ...(features === undefined ? {} : { features }),
  });
  signal?.addEventListener('abort', () => queue.splice(0), { once: true });
  const workers = Array.from({ length: Math.min(jobs, queue.length) }, () =>
    runWorker(queue, requestOf, settle, signal),
  );
  await Promise.all(workers);
  await reporting;
}

/** Leaves a rejection to the final `await reporting` in {@link runBatch}, which rethrows it. */
function ignoreHere(): void {}

/**
 * Runs cases from `queue` in one child process until the queue is empty. When the child stops
 * during a case (killed, out of memory), that case fails with ERR_INTERNAL and a new child takes
 * the rest of the queue, so one bad case cannot stop the batch. After `signal` aborts, the child is
 * stopped and its case is left unreported.
 */
function runWorker(
  queue: number[],
  requestOf: (index: number) => WorkerRequest,
  settle: (index: number, outcome: CaseOutcome) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const worker = workerModule();
  return new Promise<void>((resolveWorker) => {
    const child: ChildProcess = fork(worker.path, [], {
      execArgv: worker.execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    let current: number | undefined;
    let stopped = false;

    const sendNext = (): void => {
      current = queue.shift();
      if (current === undefined) child.disconnect();
      else child.send(requestOf(current));
    };
    const onStop = (reason: string): void => {
      if (stopped) return;
      stopped = true;
      signal?.removeEventListener('abort', onAbort);
      const lost = current;
      current = undefined;
      if (lost === undefined || isAborted(signal)) {
        resolveWorker();
        return;
      }
      settle(lost, {
        ok: false,
        code: 'ERR_INTERNAL',
        message:
          `The worker process extracting this case stopped (${reason}). Run the case alone with ` +
          '`nqo1-cds extract --image ... --mask ...` to see its error.',
      }).catch(ignoreHere);
      if (queue.length === 0) resolveWorker();
      else void runWorker(queue, requestOf, settle, signal).then(resolveWorker);
    };
    const onAbort = (): void => {
      child.kill();
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    child.on('message', (reply: { index: number; outcome: CaseOutcome }) => {
      current = undefined;
      if (isAborted(signal)) return;
      settle(reply.index, reply.outcome).catch(ignoreHere);
      sendNext();
    });
    child.on('exit', (code, signal) => {
      onStop(signal === null ? `exit code ${code}` : `signal ${signal}`);
    });
    child.on('error', (error) => {
      child.kill();
      onStop(error.message);
    });
    sendNext();
  });
}
