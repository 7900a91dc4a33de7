import { describe, expect, test } from 'vitest';

import { selectRequestedCtSeries, selectRequestedSegmentation } from '../../src/dicomweb/select-requested.js';
import {
  selectCtSeries,
  type SegInstanceSummary,
  type SeriesSummary,
} from '../../src/dicomweb/select-series.js';
import { isNqo1Error } from '../../src/errors.js';

function series(uid: string, modality: string, description: string, instanceCount: number): SeriesSummary {
  return {
    seriesInstanceUid: uid,
    modality,
    description,
    seriesNumber: null,
    instanceCount,
    acquisitionDate: null,
  };
}

function segmentation(
  sopInstanceUid: string,
  modality: string,
  referencedSeriesUids: string[],
): SegInstanceSummary {
  return {
    modality,
    seriesInstanceUid: `${sopInstanceUid}.9`,
    sopInstanceUid,
    seriesNumber: null,
    seriesDateTime: '',
    referencedSeriesUids,
  };
}

const STUDY: readonly SeriesSummary[] = [
  series('1.1', 'CT', 'Arterial phase', 200),
  series('1.2', 'CT', 'Portal venous', 180),
  series('1.3', 'CT', 'Plain', 90),
  series('1.4', 'MR', 'T2 arterial', 40),
];

const SEGMENTATIONS: readonly SegInstanceSummary[] = [
  segmentation('2.1', 'SEG', ['1.1']),
  segmentation('2.2', 'RTSTRUCT', ['1.2']),
];

describe('selectRequestedCtSeries', () => {
  test('returns the requested series over the rules', () => {
    expect(selectCtSeries(STUDY).series.seriesInstanceUid).toBe('1.1');

    const selection = selectRequestedCtSeries(STUDY, '1.2');

    expect(selection.series.seriesInstanceUid).toBe('1.2');
    expect(selection.reason).toBe('requested');
    expect(selection.ctSeriesCount).toBe(3);
    expect(selection.arterialCount).toBe(1);
    expect(selection.matchedPattern).toBeUndefined();
  });

  test('records the pattern a requested description matches', () => {
    expect(selectRequestedCtSeries(STUDY, '1.1').matchedPattern).toBe('\\b(arterial|art)\\b');
  });

  test.each([
    ['a series of another study', '9.9', /requested series 9\.9 is not in the study, which has 3 CT series/],
    ['an MR series', '1.4', /requested series 1\.4 has modality MR, not CT/],
  ])('rejects %s', (_case, uid, message) => {
    let caught: unknown;
    try {
      selectRequestedCtSeries(STUDY, uid);
    } catch (error) {
      caught = error;
    }

    expect(isNqo1Error(caught, 'ERR_REQUESTED_SERIES_INVALID')).toBe(true);
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).toMatch(/request/);
  });
});

describe('selectRequestedSegmentation', () => {
  test('returns the requested instance even when it references another series', () => {
    const selection = selectRequestedSegmentation(SEGMENTATIONS, '2.2');

    expect(selection.instance.sopInstanceUid).toBe('2.2');
    expect(selection.instance.modality).toBe('RTSTRUCT');
    expect(selection.reason).toBe('requested');
  });

  test.each([
    ['an unknown instance', '2.9', SEGMENTATIONS],
    ['an instance of another modality', '2.3', [...SEGMENTATIONS, segmentation('2.3', 'SR', ['1.1'])]],
  ])('rejects %s', (_case, uid, instances) => {
    let caught: unknown;
    try {
      selectRequestedSegmentation(instances, uid);
    } catch (error) {
      caught = error;
    }

    expect(isNqo1Error(caught, 'ERR_REQUESTED_SEGMENTATION_INVALID')).toBe(true);
    expect((caught as Error).message).toContain(
      `requested segmentation ${uid} is not a DICOM SEG or RTSTRUCT`,
    );
  });
});
