/** Truncation of input values quoted in imaging error messages, on hostile inputs built in the test. */

import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { readCtSeriesFromFolder } from '../../src/imaging/ct-series.js';
import { MAX_QUOTED_INPUT_CHARS, truncateInput } from '../../src/imaging/input-text.js';
import { readNrrd } from '../../src/imaging/nrrd.js';
import { readSegMask } from '../../src/imaging/seg.js';
import { SHARED_DATA_DIR, readArrayBuffer } from '../support/shared-data.js';

import { dataset, part10, shortElement } from './build-dicom.js';

import type { CtSeries } from '../../src/imaging/ct-series.js';

const SEGMENTATIONS = join(SHARED_DATA_DIR, 'dicom/dcmqi/segmentations');

/** Maximum message length expected: the fixed text plus a few truncated values. */
const MAX_MESSAGE_CHARS = 600;

function errorOf(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error('expected an error, but the call succeeded');
}

function nrrdWithHeader(lines: readonly string[]): Uint8Array {
  return new TextEncoder().encode(`NRRD0004\n${lines.join('\n')}\n\n1 2 3 4`);
}

describe('truncateInput', () => {
  it('keeps short values', () => {
    const value = 'x'.repeat(MAX_QUOTED_INPUT_CHARS);
    expect(truncateInput(value)).toBe(value);
  });

  it('cuts long values with an ellipsis', () => {
    const truncated = truncateInput('y'.repeat(MAX_QUOTED_INPUT_CHARS + 1));
    expect(truncated).toBe(`${'y'.repeat(MAX_QUOTED_INPUT_CHARS)}…(81 characters)`);
  });
});

describe('imaging errors quoting input', () => {
  let series: CtSeries;
  let liverSeg: ArrayBuffer;

  beforeAll(async () => {
    series = await readCtSeriesFromFolder(join(SEGMENTATIONS, 'ct-3slice'));
    liverSeg = await readArrayBuffer(join(SEGMENTATIONS, 'liver.dcm'));
  });

  it('NRRD header line of 10 MB', () => {
    const line = 'z'.repeat(10_000_000);
    const error = errorOf(() => readNrrd(nrrdWithHeader(['type: uint8', line])));
    expect(isNqo1Error(error, 'ERR_NRRD_MALFORMED')).toBe(true);
    expect(error.message.length).toBeLessThan(MAX_MESSAGE_CHARS);
    expect(error.message).toContain('…(10000000 characters)');
  });

  it('NRRD type of 1 MB', () => {
    const error = errorOf(() => readNrrd(nrrdWithHeader([`type: ${'q'.repeat(1_000_000)}`])));
    expect(isNqo1Error(error, 'ERR_NRRD_MALFORMED')).toBe(true);
    expect(error.message.length).toBeLessThan(MAX_MESSAGE_CHARS);
  });

  it('SOPClassUID of 60000 characters', () => {
    const uid = `1.2.${'3'.repeat(60_000)}`;
    const file = part10('1.2.840.10008.1.2.1', dataset(shortElement(0x0008, 0x0016, 'UI', uid)));
    const error = errorOf(() => readSegMask(file, series));
    expect(isNqo1Error(error, 'ERR_DICOM_UNSUPPORTED')).toBe(true);
    expect(error.message.length).toBeLessThan(MAX_MESSAGE_CHARS);
    expect(error.message).toContain('…(60004 characters)');
    const details = isNqo1Error(error) ? error.details : {};
    expect(String(details.sopClassUid).length).toBeLessThan(MAX_MESSAGE_CHARS);
  });

  it('requested segment label of 1 MB', () => {
    const label = 'w'.repeat(1_000_000);
    const error = errorOf(() => readSegMask(liverSeg, series, { segmentLabel: label }));
    expect(isNqo1Error(error, 'ERR_SEGMENT_SELECTION')).toBe(true);
    expect(error.message.length).toBeLessThan(MAX_MESSAGE_CHARS);
  });
});
