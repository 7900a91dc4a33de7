import { describe, expect, test } from 'vitest';

import { DEFAULT_CT_SERIES_RULES, compileSeriesPattern } from '../../src/dicomweb/ct-series-rules.js';
import { selectCtSeries, type SeriesSummary } from '../../src/dicomweb/select-series.js';
import type { SeriesAcquisition } from '../../src/dicomweb/series-acquisition.js';
import { isNqo1Error } from '../../src/errors.js';

function ct(
  uid: string,
  description: string,
  instanceCount: number | null,
  seriesNumber: number | null = null,
): SeriesSummary {
  return {
    seriesInstanceUid: uid,
    modality: 'CT',
    description,
    seriesNumber,
    instanceCount,
    acquisitionDate: null,
  };
}

function acquisition(fields: Partial<SeriesAcquisition> = {}): SeriesAcquisition {
  return {
    sliceThicknessMm: null,
    convolutionKernels: [],
    contrastBolusAgent: null,
    acquisitionDelaySeconds: null,
    ...fields,
  };
}

function thrown(run: () => unknown): unknown {
  try {
    run();
    return null;
  } catch (error) {
    return error;
  }
}

/** Outcome and rule of each candidate, keyed by SeriesInstanceUID, in the listed order. */
function verdicts(selection: ReturnType<typeof selectCtSeries>): string[] {
  return selection.candidates.map(
    (candidate) => `${candidate.seriesInstanceUid} ${candidate.outcome} ${candidate.rule}`,
  );
}

describe('slice thickness rule', () => {
  test('excludes a series outside 0.5–5 mm', () => {
    const series = [ct('thick', 'Arterial 10mm', 60), ct('thin', 'Arterial 1.25mm', 40)];
    const acquisitions = new Map([
      ['thick', acquisition({ sliceThicknessMm: 10 })],
      ['thin', acquisition({ sliceThicknessMm: 1.25 })],
    ]);

    const selection = selectCtSeries(series, {}, acquisitions);

    expect(selection.series.seriesInstanceUid).toBe('thin');
    expect(verdicts(selection)).toEqual([
      'thin chosen arterial-phase-description',
      'thick excluded slice-thickness',
    ]);
    expect(selection.arterialCount).toBe(1);
  });

  test('keeps the limits themselves', () => {
    const series = [ct('a', 'x', 10), ct('b', 'y', 5)];
    const acquisitions = new Map([
      ['a', acquisition({ sliceThicknessMm: 5 })],
      ['b', acquisition({ sliceThicknessMm: 0.5 })],
    ]);

    const selection = selectCtSeries(series, {}, acquisitions);

    expect(verdicts(selection)).toEqual(['a chosen most-instances', 'b ranked instance-count']);
  });

  test('site range replaces the default', () => {
    const series = [ct('a', 'x', 10), ct('b', 'y', 5)];
    const acquisitions = new Map([
      ['a', acquisition({ sliceThicknessMm: 3 })],
      ['b', acquisition({ sliceThicknessMm: 1 })],
    ]);

    const selection = selectCtSeries(series, { sliceThicknessMm: { min: 0.5, max: 2 } }, acquisitions);

    expect(selection.series.seriesInstanceUid).toBe('b');
  });
});

describe('convolution kernel rule', () => {
  test.each([
    ['BONE', 'bone'],
    ['BONEPLUS', 'bone'],
    ['LUNG', 'lung'],
    ['EDGE', 'edge'],
    ['B70f', '^[BI][a-z]?[6-9][0-9]'],
    ['Br64', '^[BI][a-z]?[6-9][0-9]'],
    ['I70f', '^[BI][a-z]?[6-9][0-9]'],
  ])('denies kernel %s by pattern %s', (kernel, pattern) => {
    const series = [ct('sharp', 'Arterial', 300), ct('soft', 'Arterial', 100)];
    const acquisitions = new Map([
      ['sharp', acquisition({ convolutionKernels: [kernel] })],
      ['soft', acquisition({ convolutionKernels: ['STANDARD'] })],
    ]);

    const selection = selectCtSeries(series, {}, acquisitions);

    expect(selection.series.seriesInstanceUid).toBe('soft');
    expect(selection.candidates[1]).toMatchObject({
      seriesInstanceUid: 'sharp',
      outcome: 'excluded',
      rule: 'convolution-kernel',
      pattern,
      convolutionKernel: kernel,
    });
  });

  test.each(['STANDARD', 'SOFT', 'B30f', 'Br40', 'B45f', 'FC08'])('passes kernel %s', (kernel) => {
    const selection = selectCtSeries(
      [ct('a', 'Arterial', 10)],
      {},
      new Map([['a', acquisition({ convolutionKernels: [kernel] })]]),
    );

    expect(selection.candidates[0]).toMatchObject({ outcome: 'chosen', convolutionKernel: kernel });
  });

  test('a denied second value excludes a multi-valued kernel', () => {
    const series = [ct('a', 'x', 300), ct('b', 'y', 10)];
    const acquisitions = new Map([['a', acquisition({ convolutionKernels: ['Br40', 'LUNG'] })]]);

    const selection = selectCtSeries(series, {}, acquisitions);

    expect(selection.series.seriesInstanceUid).toBe('b');
    expect(selection.candidates[1]).toMatchObject({ convolutionKernel: 'Br40\\LUNG', pattern: 'lung' });
  });

  test('allow patterns exclude every other kernel', () => {
    const rules = {
      convolutionKernel: { allowPatterns: [compileSeriesPattern('^STANDARD$')], denyPatterns: [] },
    };
    const series = [ct('soft', 'x', 300), ct('std', 'y', 10), ct('unknown', 'z', 5)];
    const acquisitions = new Map([
      ['soft', acquisition({ convolutionKernels: ['SOFT'] })],
      ['std', acquisition({ convolutionKernels: ['standard'] })],
      ['unknown', acquisition()],
    ]);

    const selection = selectCtSeries(series, rules, acquisitions);

    expect(verdicts(selection)).toEqual([
      'std chosen most-instances',
      'unknown ranked instance-count',
      'soft excluded convolution-kernel',
    ]);
    expect(selection.candidates[2]?.pattern).toBeUndefined();
  });
});

describe('contrast rule', () => {
  test.each(['Plain scan 5mm', 'NON-CONTRAST', 'Abd NC 1.25', 'pre contrast', '平扫 1.25mm', '非增强'])(
    'excludes description %s',
    (description) => {
      const selection = selectCtSeries([ct('plain', description, 300), ct('other', 'Abdomen', 10)]);

      expect(selection.series.seriesInstanceUid).toBe('other');
      expect(selection.candidates[1]).toMatchObject({
        outcome: 'excluded',
        rule: 'non-contrast-description',
      });
    },
  );

  test('requireContrast false keeps a plain series', () => {
    const selection = selectCtSeries([ct('plain', '平扫', 300), ct('other', 'Abdomen', 10)], {
      requireContrast: false,
    });

    expect(selection.series.seriesInstanceUid).toBe('plain');
  });

  test('missing agent excludes when another series records one', () => {
    const series = [ct('pre', 'Abdomen 5mm', 300), ct('post', 'Abdomen 5mm', 100), ct('art', '动脉期', 50)];
    const acquisitions = new Map([
      ['pre', acquisition()],
      ['post', acquisition({ contrastBolusAgent: 'Omnipaque 350' })],
      ['art', acquisition()],
    ]);

    const selection = selectCtSeries(series, {}, acquisitions);

    expect(verdicts(selection)).toEqual([
      'art chosen arterial-phase-description',
      'post ranked arterial-phase-description',
      'pre excluded no-contrast-agent',
    ]);
    expect(selection.candidates.map((candidate) => candidate.contrastAgentRecorded)).toEqual([
      false,
      true,
      false,
    ]);
  });

  test('missing agent everywhere excludes nothing', () => {
    const series = [ct('a', 'Abdomen', 300), ct('b', 'Abdomen', 100)];
    const acquisitions = new Map([
      ['a', acquisition()],
      ['b', acquisition()],
    ]);

    expect(verdicts(selectCtSeries(series, {}, acquisitions))).toEqual([
      'a chosen most-instances',
      'b ranked instance-count',
    ]);
  });

  test('unread attributes are not taken for a missing agent', () => {
    const series = [ct('unread', 'Abdomen', 300), ct('post', 'Abdomen', 100)];
    const acquisitions = new Map([['post', acquisition({ contrastBolusAgent: 'Iodine' })]]);

    const selection = selectCtSeries(series, {}, acquisitions);

    expect(selection.series.seriesInstanceUid).toBe('unread');
    expect(selection.candidates[0]?.contrastAgentRecorded).toBeNull();
  });
});

describe('acquisition delay preference', () => {
  test('window decides when no description matches', () => {
    const series = [ct('venous', 'Abdomen', 300), ct('early', 'Abdomen', 100)];
    const acquisitions = new Map([
      ['venous', acquisition({ acquisitionDelaySeconds: 70 })],
      ['early', acquisition({ acquisitionDelaySeconds: 30 })],
    ]);

    const selection = selectCtSeries(series, {}, acquisitions);

    expect(selection.reason).toBe('acquisition-delay');
    expect(verdicts(selection)).toEqual([
      'early chosen acquisition-delay',
      'venous ranked acquisition-delay',
    ]);
    expect(selection.candidates[0]?.acquisitionDelaySeconds).toBe(30);
  });

  test('unknown delay ranks above a delay outside the window', () => {
    const series = [ct('venous', 'Abdomen', 300), ct('unknown', 'Abdomen', 100)];
    const acquisitions = new Map([['venous', acquisition({ acquisitionDelaySeconds: 70 })]]);

    const selection = selectCtSeries(series, {}, acquisitions);

    expect(selection.series.seriesInstanceUid).toBe('unknown');
    expect(selection.reason).toBe('most-instances');
  });

  test('description outranks the delay', () => {
    const series = [ct('late', 'ART late', 100), ct('early', 'Abdomen', 300)];
    const acquisitions = new Map([
      ['late', acquisition({ acquisitionDelaySeconds: 60 })],
      ['early', acquisition({ acquisitionDelaySeconds: 25 })],
    ]);

    const selection = selectCtSeries(series, {}, acquisitions);

    expect(verdicts(selection)).toEqual([
      'late chosen arterial-phase-description',
      'early ranked arterial-phase-description',
    ]);
    expect(selection.matchedPattern).toBe('\\b(arterial|art)\\b');
  });

  test('delay breaks a tie between two arterial series', () => {
    const series = [ct('a', '动脉期 A', 300), ct('b', '动脉期 B', 100)];
    const acquisitions = new Map([
      ['a', acquisition({ acquisitionDelaySeconds: 50 })],
      ['b', acquisition({ acquisitionDelaySeconds: 20 })],
    ]);

    const selection = selectCtSeries(series, {}, acquisitions);

    expect(verdicts(selection)).toEqual([
      'b chosen arterial-phase-description',
      'a ranked acquisition-delay',
    ]);
    expect(selection.candidates[0]?.pattern).toBe('动脉');
  });

  test('window limits are inclusive', () => {
    const series = [ct('a', 'x', 300), ct('b', 'y', 100)];
    const acquisitions = new Map([
      ['a', acquisition({ acquisitionDelaySeconds: 45.5 })],
      ['b', acquisition({ acquisitionDelaySeconds: 45 })],
    ]);

    expect(selectCtSeries(series, {}, acquisitions).series.seriesInstanceUid).toBe('b');
  });
});

describe('Chinese descriptions', () => {
  test('arterial phase beats portal venous and plain scan', () => {
    const series = [
      ct('plain', '平扫 5mm', 80),
      ct('portal', '门脉期 1.25mm', 400),
      ct('art', '动脉期 1.25mm', 300),
    ];

    const selection = selectCtSeries(series);

    expect(verdicts(selection)).toEqual([
      'art chosen arterial-phase-description',
      'portal ranked arterial-phase-description',
      'plain excluded non-contrast-description',
    ]);
    expect(selection.candidates[2]?.pattern).toBe('平扫');
  });
});

describe('missing attributes', () => {
  test('no attributes keep the choice by description and count', () => {
    const series = [ct('1', 'PORTAL VENOUS', 300), ct('2', 'Arterial phase', 120), ct('3', 'Scout', 2)];

    const withoutMap = selectCtSeries(series);
    const withEmpty = selectCtSeries(
      series,
      {},
      new Map(series.map((item) => [item.seriesInstanceUid, acquisition()])),
    );

    expect(withoutMap.series.seriesInstanceUid).toBe('2');
    expect(withEmpty.series.seriesInstanceUid).toBe('2');
    expect(verdicts(withEmpty)).toEqual([
      '2 chosen arterial-phase-description',
      '1 ranked arterial-phase-description',
      '3 ranked instance-count',
    ]);
  });

  test('candidate entries carry nulls for unread attributes', () => {
    const selection = selectCtSeries([ct('1.2.3', 'Abdomen', 120, 4)]);

    expect(selection.candidates).toEqual([
      {
        seriesInstanceUid: '1.2.3',
        seriesNumber: 4,
        seriesDescription: 'Abdomen',
        instanceCount: 120,
        sliceThicknessMm: null,
        convolutionKernel: null,
        contrastAgentRecorded: null,
        acquisitionDelaySeconds: null,
        outcome: 'chosen',
        rule: 'most-instances',
      },
    ]);
  });
});

describe('ties', () => {
  test('equal series go to the lower series number, then the smaller UID', () => {
    const series = [ct('1.9', 'a', 10, 5), ct('1.8', 'b', 10, 3), ct('1.10', 'c', 10, 3)];

    const selection = selectCtSeries(series);

    expect(verdicts(selection)).toEqual([
      '1.10 chosen most-instances',
      '1.8 ranked series-instance-uid',
      '1.9 ranked series-number',
    ]);
  });

  test('choice does not depend on the listing order', () => {
    const series = [ct('a', 'Arterial', 100, 2), ct('b', 'Arterial', 100, 1), ct('c', 'Abdomen', 500, 3)];
    const acquisitions = new Map([['c', acquisition({ sliceThicknessMm: 0.3 })]]);

    const forward = selectCtSeries(series, {}, acquisitions);
    const backward = selectCtSeries([...series].reverse(), {}, acquisitions);

    expect(forward.candidates).toEqual(backward.candidates);
    expect(forward.series.seriesInstanceUid).toBe('b');
  });
});

describe('every series excluded', () => {
  test('fails with ERR_SERIES_EMPTY naming each rule', () => {
    const series = [
      ct('1.1', '平扫', 100, 1),
      ct('1.2', 'Arterial', 100, 2),
      ct('1.3', 'Arterial bone', 100),
    ];
    const acquisitions = new Map([
      ['1.2', acquisition({ sliceThicknessMm: 8 })],
      ['1.3', acquisition({ convolutionKernels: ['BONE'] })],
    ]);

    const error = thrown(() => selectCtSeries(series, {}, acquisitions));

    expect(isNqo1Error(error, 'ERR_SERIES_EMPTY')).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain('exclude all 3 CT series');
    expect(message).toContain('series number 1: non-contrast-description');
    expect(message).toContain('series number 2: slice-thickness');
    expect(message).toContain('series 1.3: convolution-kernel');
  });
});

describe('default rules', () => {
  test('compile case-insensitive with Unicode', () => {
    for (const pattern of DEFAULT_CT_SERIES_RULES.nonContrastPatterns) expect(pattern.flags).toBe('iu');
    expect(DEFAULT_CT_SERIES_RULES.sliceThicknessMm).toEqual({ min: 0.5, max: 5 });
    expect(DEFAULT_CT_SERIES_RULES.arterialDelaySeconds).toEqual({ min: 15, max: 45 });
  });
});
