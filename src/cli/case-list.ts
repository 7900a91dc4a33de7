/**
 * The case list read by `calibrate`: a CSV file whose header row names at least the columns `image`
 * and `mask`. Optional columns are `segment` (SEG segment number or label of the tumour) and `label`
 * (tumour label in an NRRD label map). Relative paths are resolved from the folder of the list file.
 * Fields may be quoted with double quotes (RFC 4180), so paths can contain commas.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { Nqo1Error } from '../errors.js';

export interface CaseListEntry {
  /** 1-based line number in the list file, for messages. */
  readonly line: number;
  readonly image: string;
  readonly mask: string;
  /** Empty when the column is absent or the cell is empty. */
  readonly segment: string;
  readonly label: number | null;
}

/** Splits one CSV line into fields, honouring double-quoted fields with doubled quotes inside. */
export function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let index = 0; index < line.length; index++) {
    const char = line[index]!;
    if (quoted) {
      if (char === '"' && line[index + 1] === '"') {
        field += '"';
        index++;
      } else if (char === '"') {
        quoted = false;
      } else {
        field += char;
      }
    } else if (char === '"') {
      quoted = true;
    } else if (char === ',') {
      fields.push(field);
      field = '';
    } else {
      field += char;
    }
  }
  fields.push(field);
  return fields.map((value) => value.trim());
}

/**
 * Reads and checks a case list.
 *
 * @throws Nqo1Error ERR_REQUEST_INVALID when the file lacks the header columns or a row lacks a path.
 */
export async function readCaseList(path: string): Promise<CaseListEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Nqo1Error('ERR_NOT_FOUND', `Case list ${path} could not be read. Check the path.`, {
      cause: error,
    });
  }

  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = splitCsvLine(lines[0] ?? '').map((name) => name.toLowerCase());
  const imageColumn = header.indexOf('image');
  const maskColumn = header.indexOf('mask');
  const segmentColumn = header.indexOf('segment');
  const labelColumn = header.indexOf('label');
  if (imageColumn < 0 || maskColumn < 0) {
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      `Case list ${path} must start with a header row naming the columns "image" and "mask"; found "${lines[0] ?? ''}".`,
    );
  }

  const base = dirname(resolve(path));
  const entries: CaseListEntry[] = [];
  lines.slice(1).forEach((line, index) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const fields = splitCsvLine(line);
    const image = fields[imageColumn] ?? '';
    const mask = fields[maskColumn] ?? '';
    if (image === '' || mask === '') {
      throw new Nqo1Error(
        'ERR_REQUEST_INVALID',
        `Case list ${path}, line ${index + 2}: both "image" and "mask" need a path. Fill in the row or delete it.`,
      );
    }
    const labelText = labelColumn < 0 ? '' : (fields[labelColumn] ?? '');
    const label = labelText === '' ? null : Number(labelText);
    if (label !== null && !(Number.isInteger(label) && label >= 1 && label <= 255)) {
      throw new Nqo1Error(
        'ERR_REQUEST_INVALID',
        `Case list ${path}, line ${index + 2}: label "${labelText}" is not an integer from 1 to 255.`,
      );
    }
    entries.push({
      line: index + 2,
      image: resolve(base, image),
      mask: resolve(base, mask),
      segment: segmentColumn < 0 ? '' : (fields[segmentColumn] ?? ''),
      label,
    });
  });
  return entries;
}
