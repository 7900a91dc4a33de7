/**
 * `extract --batch --resume`: reuse the successful rows of an earlier, interrupted or partly failed
 * run. Rows are written in input order, so an interrupted run leaves a prefix of the cases. A row is
 * reused when the file has the same columns, the row sits at the same position with the same case
 * cells, its `error_code` is empty, and neither its image nor its mask changed after the results
 * file was last written. Every other case is extracted again.
 */
import { readFile, stat } from 'node:fs/promises';

import { Nqo1Error } from '../errors.js';
import { splitCsvLine } from './case-list.js';
import type { BatchCase } from './extract-batch.js';
import type { CaseOutcome } from './extract-case.js';
import { cellText } from './extract-format.js';
import { latestModificationMs } from './input-stamp.js';

/**
 * Reads the earlier results at `path` and returns the reusable outcomes by case index. A missing
 * file gives none.
 *
 * @throws Nqo1Error ERR_REQUEST_INVALID when the file's header differs from `columns`, because its
 *   rows then come from another input or another engine version.
 */
export async function reusableOutcomes(
  path: string,
  columns: readonly string[],
  caseColumns: readonly string[],
  cases: readonly BatchCase[],
  settingsCellOf: (batchCase: BatchCase) => string,
): Promise<Map<number, CaseOutcome>> {
  let text: string;
  let writtenMs: number;
  try {
    text = await readFile(path, 'utf8');
    writtenMs = (await stat(path)).mtimeMs;
  } catch {
    return new Map();
  }

  const lines = text.split('\n').filter((line) => line !== '');
  const header = splitCsvLine(lines[0] ?? '');
  if (header.join(',') !== columns.join(',')) {
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      `Cannot resume into ${path}: its columns differ from this batch's (another input file or engine ` +
        'version). Write to a new --out file, or leave out --resume to replace it.',
    );
  }

  const errorColumn = columns.indexOf('error_code');
  const settingsColumn = columns.indexOf('diagnostics_Configuration_Settings');
  const reusable = new Map<number, CaseOutcome>();
  for (const [index, line] of lines.slice(1).entries()) {
    const batchCase = cases[index];
    if (batchCase === undefined) continue;
    const cells = splitCsvLine(line);
    if (cells.length !== columns.length || cells[errorColumn] !== '') continue;
    const sameCase = caseColumns.every(
      (name) => cells[columns.indexOf(name)] === cellText(name, batchCase.columns.get(name)).trim(),
    );
    if (!sameCase) continue;
    // A row computed with other settings (a changed --params file) is extracted again rather than
    // reused, so that one results file never mixes two configurations.
    if (cells[settingsColumn] !== settingsCellOf(batchCase).trim()) continue;

    // An image or mask replaced after the results were written invalidates the row.
    if ('image' in batchCase.input) {
      const changed = Math.max(
        await latestModificationMs(batchCase.input.image),
        await latestModificationMs(batchCase.input.mask),
      );
      if (changed > writtenMs) continue;
    }

    // The cells go back out unchanged: a string cell is written as it is.
    const record = new Map<string, string>();
    columns.forEach((name, column) => {
      if (!caseColumns.includes(name)) record.set(name, cells[column]!);
    });
    reusable.set(index, { ok: true, record, reused: true });
  }
  return reusable;
}
