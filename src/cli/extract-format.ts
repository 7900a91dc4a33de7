/**
 * Output formats of `nqo1-cds extract`, laid out as pyradiomics' command line writes them.
 *
 * - CSV (`--format csv`, and every batch): a header row of keys, then one row per case (Python
 *   `csv.DictWriter`, '\n' line ends). Case columns come first, then diagnostics, then features.
 *   Numbers are written as Python's `repr` writes a float (shortest round-trip digits; exponent form
 *   below 1e-4 and from 1e16, as in `1e-05`; `.0` after an integral value), so the cells read the same
 *   as pyradiomics'. Tuples are written as Python tuples, `(256, 256, 25)`. Unlike pyradiomics, the
 *   settings and image-type cells hold JSON rather than a Python dict literal, so any CSV reader can
 *   parse them; NaN is written `nan` as Python does.
 * - JSON (`--format json`): one object per case on one line (pyradiomics writes JSON lines), tuples as
 *   arrays and NaN as null, because JSON has no NaN.
 */
import type { ExtractRecord, ExtractValue } from './extract-case.js';

/** Keys whose numbers pyradiomics stores as Python integers, written without `.0`. */
const INTEGER_KEYS = /_(Size|BoundingBox|VoxelNum|VolumeNum|Minimum|Maximum)$/;

/** Writes `value` as Python 3's `repr(float)` does. */
export function pythonFloat(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';

  // Shortest round-trip digits and the decimal exponent, as in d.ddde±x.
  const [mantissa, exponentText] = value.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    const sign = exponent < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  // In this range JavaScript also writes the shortest digits without an exponent.
  const plain = String(value);
  return plain.includes('.') ? plain : `${plain}.0`;
}

/** Writes one number of the record: Python int or float text by key. */
function numberText(key: string, value: number): string {
  if (INTEGER_KEYS.test(key) && Number.isInteger(value)) return String(value);
  return pythonFloat(value);
}

/** Writes one value as the text of a CSV cell. */
export function cellText(key: string, value: ExtractValue | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return numberText(key, value);
  if (Array.isArray(value)) {
    return `(${(value as readonly number[]).map((item) => numberText(key, item)).join(', ')})`;
  }
  return JSON.stringify(value);
}

/** Quotes a CSV field when it contains a comma, a quote or a line break (RFC 4180, as Python's csv). */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Writes one CSV row of the given columns, ended by '\n'. */
export function csvRow(cells: readonly string[]): string {
  return `${cells.map(csvField).join(',')}\n`;
}

/** Writes the record as a CSV row over `columns`; a column the record lacks stays empty. */
export function recordRow(columns: readonly string[], record: ExtractRecord): string {
  return csvRow(columns.map((key) => cellText(key, record.get(key))));
}

/** Converts the record to a plain object for JSON: NaN and infinities become null. */
export function recordObject(record: ExtractRecord): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of record) {
    object[key] = typeof value === 'number' && !Number.isFinite(value) ? null : value;
  }
  return object;
}
