/**
 * The cohort file of `calibrate --cohort`, `evaluate` and `refit`: a case list (see case-list.ts)
 * with optional outcome columns.
 *
 * Columns, matched without regard to case:
 * - `image`, `mask` (required), `segment`, `label` (the tumour's value in a label map): as in a case list;
 * - `id`: a name for the case in reports (default: the image file name). Use a study code, never a
 *   patient name or number;
 * - `nqo1`: the reference class, `high` or `low` (also `1` or `0`); empty when unknown;
 * - `time_days` and `event`: overall survival in days from the CT, and 1 for death or 0 for censored;
 *   both empty when unknown.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

import { Nqo1Error } from '../errors.js';
import { readCaseList, splitCsvLine, type CaseListEntry } from './case-list.js';

/** One row of a cohort file. */
export interface CohortCase extends CaseListEntry {
  readonly id: string;
  /** Reference class: 1 for high NQO1 expression, 0 for low, null when unknown. */
  readonly outcome: 0 | 1 | null;
  /** Overall survival time in days, or null. */
  readonly timeDays: number | null;
  /** 1 for death, 0 for censored, or null. */
  readonly event: 0 | 1 | null;
}

const OUTCOME_VALUES: Readonly<Record<string, 0 | 1>> = { high: 1, '1': 1, low: 0, '0': 0 };

/** Event cell values; an empty cell means no follow-up. */
const EVENT_VALUES: Readonly<Record<string, 0 | 1 | null>> = { '': null, '1': 1, '0': 0 };

/**
 * Reads and checks a cohort file.
 *
 * @throws Nqo1Error ERR_NOT_FOUND for an unreadable file; ERR_REQUEST_INVALID naming the line and
 *   the cell for a bad class, time or event, for a time without an event (or the reverse), or for
 *   two rows with one id.
 */
export async function readCohort(path: string): Promise<CohortCase[]> {
  const entries = await readCaseList(path);
  const text = await readFile(path, 'utf8');
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = splitCsvLine(lines[0] ?? '').map((name) => name.toLowerCase());
  const columnOf = (name: string): number => header.indexOf(name);
  const cellOf = (line: number, name: string): string => {
    const column = columnOf(name);
    return column < 0 ? '' : (splitCsvLine(lines[line - 1] ?? '')[column] ?? '');
  };
  const fail = (line: number, problem: string): never => {
    throw new Nqo1Error('ERR_REQUEST_INVALID', `Cohort file ${path}, line ${line}: ${problem}`);
  };

  const ids = new Map<string, number>();
  const inputs = new Map<string, number>();
  return entries.map((entry) => {
    const id = cellOf(entry.line, 'id') || basename(entry.image);
    const earlier = ids.get(id);
    if (earlier !== undefined && columnOf('id') >= 0) {
      fail(entry.line, `id "${id}" is already used on line ${earlier}. Give each case its own id.`);
    }
    ids.set(id, entry.line);
    const input = JSON.stringify([entry.image, entry.mask, entry.segment, entry.label]);
    const sameInput = inputs.get(input);
    if (sameInput !== undefined) {
      fail(
        entry.line,
        `the image and mask repeat those of line ${sameInput}, so one case would count twice. Delete one of the rows.`,
      );
    }
    inputs.set(input, entry.line);

    const classText = cellOf(entry.line, 'nqo1').toLowerCase();
    const outcome = classText === '' ? null : OUTCOME_VALUES[classText];
    if (outcome === undefined) {
      fail(entry.line, `nqo1 "${classText}" is not high, low, 1 or 0. Correct it or leave the cell empty.`);
    }

    const timeText = cellOf(entry.line, 'time_days');
    const eventText = cellOf(entry.line, 'event');
    if ((timeText === '') !== (eventText === '')) {
      fail(entry.line, 'time_days and event go together: fill both or leave both empty.');
    }
    const timeDays = timeText === '' ? null : Number(timeText);
    if (timeDays !== null && !(Number.isFinite(timeDays) && timeDays >= 0)) {
      fail(entry.line, `time_days "${timeText}" is not a number of days of 0 or more.`);
    }
    const event = EVENT_VALUES[eventText];
    if (event === undefined) {
      fail(entry.line, `event "${eventText}" is not 1 (death) or 0 (censored).`);
    }

    return { ...entry, id, outcome: outcome ?? null, timeDays, event: event ?? null };
  });
}
