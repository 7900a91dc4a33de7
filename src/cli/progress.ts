/**
 * Progress of the batch commands (`extract --batch`, `calibrate --cohort`, `evaluate`, `refit`):
 * one line per finished case, and on a terminal a bar redrawn in place below the lines that stay
 * (failures and warnings).
 */
import { performance } from 'node:perf_hooks';

import { message, type Locale } from './messages.js';

/** What the progress shows of one finished case. */
export type CaseProgress =
  | { readonly ok: true; readonly reused?: boolean; readonly warnings?: readonly string[] }
  | { readonly ok: false; readonly code: string; readonly detail?: string };

/** Width of the terminal bar in characters. */
const BAR_WIDTH = 30;

/** Returns a reporter that `count` calls, one per finished case, drive to the end of the bar. */
export function caseProgressReporter(
  count: number,
  locale: Locale,
  stream: NodeJS.WritableStream & { readonly isTTY?: boolean },
): (index: number, name: string, outcome: CaseProgress) => void {
  const started = performance.now();
  let done = 0;
  return (index, name, outcome) => {
    done++;
    const status = outcome.ok
      ? message(locale, outcome.reused === true ? 'extractReused' : 'extractOk')
      : message(locale, 'extractFailed', { code: outcome.code });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const line = message(locale, 'extractProgress', { index: index + 1, count, name, status, seconds });

    // Input warnings and failure details follow the case's line, in English like error details.
    const notes = outcome.ok
      ? (outcome.warnings ?? []).map((warning) => `  ${message(locale, 'warningPrefix')}: ${warning}\n`)
      : outcome.detail === undefined
        ? []
        : [`  ${outcome.detail}\n`];
    if (stream.isTTY !== true) {
      stream.write(`${line}\n${notes.join('')}`);
      return;
    }

    // On a terminal: failures and notes keep their lines, and one bar is redrawn below them.
    if (!outcome.ok || notes.length > 0) stream.write(`\r\x1b[K${line}\n${notes.join('')}`);
    const filled = Math.round((BAR_WIDTH * done) / count);
    stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${done}/${count}  ${seconds} s`);
    if (done === count) stream.write('\n');
  };
}
