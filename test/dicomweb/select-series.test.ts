import { describe, expect, test } from 'vitest';

import type { DicomJsonDataset } from '../../src/dicomweb/client.js';
import {
  selectCtSeries,
  selectSegmentation,
  summariseSegInstance,
  summariseSeries,
  type SegInstanceSummary,
  type SeriesSummary,
} from '../../src/dicomweb/select-series.js';
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

function seg(
  sopInstanceUid: string,
  referencedSeriesUids: string[],
  seriesDateTime = '',
  seriesNumber: number | null = null,
): SegInstanceSummary {
  return {
    modality: 'SEG',
    seriesInstanceUid: `${sopInstanceUid}.s`,
    sopInstanceUid,
    seriesNumber,
    seriesDateTime,
    referencedSeriesUids,
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

describe('summariseSeries', () => {
  test('reads QIDO-RS attributes', () => {
    const dataset: DicomJsonDataset = {
      '00080060': { vr: 'CS', Value: ['ct'] },
      '0008103E': { vr: 'LO', Value: ['ABD ART 1.25mm '] },
      '0020000E': { vr: 'UI', Value: ['1.2.3'] },
      '00200011': { vr: 'IS', Value: [4] },
      '00201209': { vr: 'IS', Value: ['120'] },
      '00080020': { vr: 'DA', Value: ['20030417'] },
    };

    expect(summariseSeries(dataset)).toEqual({
      seriesInstanceUid: '1.2.3',
      modality: 'CT',
      description: 'ABD ART 1.25mm',
      seriesNumber: 4,
      instanceCount: 120,
      acquisitionDate: '2003-04-17',
    });
  });

  test.each([
    [
      { '00080021': { vr: 'DA', Value: ['20240229'] }, '00080020': { vr: 'DA', Value: ['20240101'] } },
      '2024-02-29',
    ],
    [
      { '00080021': { vr: 'DA', Value: ['20230229'] }, '00080020': { vr: 'DA', Value: ['20240101'] } },
      '2024-01-01',
    ],
    [{ '00080020': { vr: 'DA', Value: ['2024.01.01'] } }, null],
    [{}, null],
  ] as const)('acquisition date from %j is %s', (dates, expected) => {
    const dataset: DicomJsonDataset = { '0020000E': { vr: 'UI', Value: ['1.2.3'] }, ...dates };

    expect(summariseSeries(dataset).acquisitionDate).toBe(expected);
  });

  test('missing optional attributes become null', () => {
    const summary = summariseSeries({
      '0020000E': { vr: 'UI', Value: ['1.2.3'] },
      '00201209': { vr: 'IS', Value: [''] },
    });

    expect(summary.instanceCount).toBeNull();
    expect(summary.seriesNumber).toBeNull();
    expect(summary.modality).toBe('');
  });

  test('missing SeriesInstanceUID is rejected', () => {
    expect(
      isNqo1Error(
        thrown(() => summariseSeries({})),
        'ERR_DICOMWEB_FAILED',
      ),
    ).toBe(true);
  });
});

describe('summariseSegInstance', () => {
  test('reads ReferencedSeriesSequence', () => {
    const metadata: DicomJsonDataset = {
      '0020000E': { vr: 'UI', Value: ['9.9'] },
      '00080018': { vr: 'UI', Value: ['9.9.1'] },
      '00080021': { vr: 'DA', Value: ['20240102'] },
      '00080031': { vr: 'TM', Value: ['101500'] },
      '00081115': {
        vr: 'SQ',
        Value: [
          { '0020000E': { vr: 'UI', Value: ['1.2.3'] } },
          { '0020000E': { vr: 'UI', Value: ['1.2.4'] } },
        ],
      },
    };

    const summary = summariseSegInstance(metadata);

    expect(summary.referencedSeriesUids).toEqual(['1.2.3', '1.2.4']);
    expect(summary.seriesDateTime).toBe('20240102101500');
    expect(summary.sopInstanceUid).toBe('9.9.1');
  });

  test('reads the series an RTSTRUCT references', () => {
    const series = (uid: string): DicomJsonDataset => ({ '0020000E': { vr: 'UI', Value: [uid] } });
    const metadata: DicomJsonDataset = {
      '00080060': { vr: 'CS', Value: ['RTSTRUCT'] },
      '0020000E': { vr: 'UI', Value: ['9.8'] },
      '00080018': { vr: 'UI', Value: ['9.8.1'] },
      '30060010': {
        vr: 'SQ',
        Value: [
          {
            '30060012': {
              vr: 'SQ',
              Value: [{ '30060014': { vr: 'SQ', Value: [series('1.2.5'), series('1.2.6')] } }],
            },
          },
        ],
      },
    };

    const summary = summariseSegInstance(metadata);

    expect(summary.modality).toBe('RTSTRUCT');
    expect(summary.referencedSeriesUids).toEqual(['1.2.5', '1.2.6']);
  });
});

describe('selectCtSeries', () => {
  test('arterial description beats instance count', () => {
    const series = [ct('1', 'PORTAL VENOUS', 300), ct('2', 'Arterial phase', 120), ct('3', 'Scout', 2)];

    const selection = selectCtSeries(series);

    expect(selection.series.seriesInstanceUid).toBe('2');
    expect(selection.reason).toBe('arterial-phase-description');
    expect(selection.ctSeriesCount).toBe(3);
    expect(selection.arterialCount).toBe(1);
    expect(selection.matchedPattern).toBe('\\b(arterial|art)\\b');
  });

  test('site patterns replace the defaults', () => {
    const series = [ct('1', 'AP phase 1mm', 120), ct('2', 'Arterial', 300)];

    const selection = selectCtSeries(series, { arterialPhasePatterns: [/AP\s*phase/iu] });

    expect(selection.series.seriesInstanceUid).toBe('1');
    expect(selection.matchedPattern).toBe('AP\\s*phase');
  });

  test.each([
    ['ABD ART 5mm', true],
    ['动脉期 1.25mm', true],
    ['LATE ARTERIAL', true],
    ['Heart', false],
    ['Partial', false],
    ['Portal venous', false],
  ])('description %s matches arterial: %s', (description, matches) => {
    const selection = selectCtSeries([ct('a', description, 10), ct('b', 'Abdomen', 500)]);

    expect(selection.series.seriesInstanceUid).toBe(matches ? 'a' : 'b');
  });

  test('most instances wins without arterial match', () => {
    const selection = selectCtSeries([
      ct('1', 'Scout', 2),
      ct('2', 'Abdomen', 200),
      ct('3', 'Abdomen thin', 150),
    ]);

    expect(selection.series.seriesInstanceUid).toBe('2');
    expect(selection.reason).toBe('most-instances');
    expect(selection.matchedPattern).toBeUndefined();
  });

  test('ties go to lower series number, then UID', () => {
    expect(selectCtSeries([ct('1.9', 'a', 10, 5), ct('1.8', 'b', 10, 3)]).series.seriesInstanceUid).toBe(
      '1.8',
    );
    expect(selectCtSeries([ct('1.9', 'a', 10, 3), ct('1.10', 'b', 10, 3)]).series.seriesInstanceUid).toBe(
      '1.10',
    );
  });

  test('custom patterns replace the defaults', () => {
    const selection = selectCtSeries([ct('1', 'Phase A', 10), ct('2', 'Arterial', 10)], {
      arterialPhasePatterns: [/phase a/i],
    });

    expect(selection.series.seriesInstanceUid).toBe('1');
  });

  test('non-CT series are ignored', () => {
    const series: SeriesSummary[] = [{ ...ct('1', 'Arterial', 500), modality: 'MR' }, ct('2', 'Abdomen', 3)];

    expect(selectCtSeries(series).series.seriesInstanceUid).toBe('2');
  });

  test('study without CT fails with ERR_SERIES_EMPTY', () => {
    const error = thrown(() => selectCtSeries([{ ...ct('1', 'x', 5), modality: 'SEG' }]));

    expect(isNqo1Error(error, 'ERR_SERIES_EMPTY')).toBe(true);
    expect((error as Error).message).toContain('modalities found: SEG');
  });
});

describe('selectSegmentation', () => {
  test('picks the SEG referencing the CT series', () => {
    const selection = selectSegmentation('ct', [seg('other', ['x']), seg('mine', ['ct'])]);

    expect(selection.instance.sopInstanceUid).toBe('mine');
    expect(selection.reason).toBe('references-ct-series');
  });

  test('latest SEG wins among several', () => {
    const selection = selectSegmentation('ct', [
      seg('old', ['ct'], '20230101120000'),
      seg('new', ['ct'], '20240101090000'),
    ]);

    expect(selection.instance.sopInstanceUid).toBe('new');
  });

  test('only SEG in study is used as fallback', () => {
    const selection = selectSegmentation('ct', [seg('lone', [])]);

    expect(selection.instance.sopInstanceUid).toBe('lone');
    expect(selection.reason).toBe('only-seg-in-study');
  });

  test('only SEG in study naming another series is not used', () => {
    const call = () => selectSegmentation('ct', [seg('lone', ['portal'])]);

    expect(call).toThrow(expect.objectContaining({ code: 'ERR_SEGMENTATION_MISSING' }) as Error);
    expect(call).toThrow("The study's only SEG (lone) outlines series portal, not CT series ct");
  });

  test('no SEG fails with ERR_SEGMENTATION_MISSING', () => {
    const error = thrown(() => selectSegmentation('ct', []));

    expect(isNqo1Error(error, 'ERR_SEGMENTATION_MISSING')).toBe(true);
    expect((error as Error).message).toContain('no DICOM SEG');
  });

  test('several unrelated SEGs fail', () => {
    const error = thrown(() => selectSegmentation('ct', [seg('a', ['x']), seg('b', ['y'])]));

    expect(isNqo1Error(error, 'ERR_SEGMENTATION_MISSING')).toBe(true);
    expect((error as Error).message).toContain('None of the study');
  });
});
