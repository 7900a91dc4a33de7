import { describe, expect, test } from 'vitest';

import type { DicomJsonDataset } from '../../src/dicomweb/client.js';
import {
  acquisitionDelaySeconds,
  dicomTimeSeconds,
  fetchSeriesAcquisition,
  fetchSeriesAcquisitions,
  readSeriesAcquisition,
  type AcquisitionPacs,
} from '../../src/dicomweb/series-acquisition.js';
import { Nqo1Error, isNqo1Error } from '../../src/errors.js';

const STUDY = '1.2.3';

describe('dicomTimeSeconds', () => {
  test.each([
    ['105028', 39_028],
    ['1050', 39_000],
    ['10', 36_000],
    ['105028.5', 39_028.5],
    ['000000.000001', 0.000001],
    ['10:50:28', 39_028],
    [' 235959 ', 86_399],
  ])('reads %s as %d s', (value, seconds) => {
    expect(dicomTimeSeconds(value)).toBeCloseTo(seconds, 9);
  });

  test.each(['', '2500', '1060', '106061', '1', 'noon', '10:5'])('rejects %j', (value) => {
    expect(dicomTimeSeconds(value)).toBeNull();
  });
});

describe('acquisitionDelaySeconds', () => {
  test('subtracts injection from acquisition', () => {
    expect(acquisitionDelaySeconds(37_800, 37_828)).toBe(28);
  });

  test('adds a day across midnight', () => {
    expect(acquisitionDelaySeconds(86_390, 20)).toBe(30);
  });

  test('keeps an acquisition before the injection negative', () => {
    expect(acquisitionDelaySeconds(37_828, 37_800)).toBe(-28);
  });
});

describe('readSeriesAcquisition', () => {
  test('reads the attributes and the delay', () => {
    const dataset: DicomJsonDataset = {
      '00180050': { vr: 'DS', Value: ['1.25'] },
      '00181210': { vr: 'SH', Value: ['Br40', 'd'] },
      '00180010': { vr: 'LO', Value: ['Omnipaque 350 '] },
      '00181042': { vr: 'TM', Value: ['104950'] },
      '00080032': { vr: 'TM', Value: ['105022.5'] },
      '00080031': { vr: 'TM', Value: ['1049'] },
    };

    expect(readSeriesAcquisition(dataset)).toEqual({
      sliceThicknessMm: 1.25,
      convolutionKernels: ['Br40', 'd'],
      contrastBolusAgent: 'Omnipaque 350',
      acquisitionDelaySeconds: 32.5,
    });
  });

  test('falls back to SeriesTime without AcquisitionTime', () => {
    const dataset: DicomJsonDataset = {
      '00181042': { vr: 'TM', Value: ['104950'] },
      '00080031': { vr: 'TM', Value: ['105030'] },
    };

    expect(readSeriesAcquisition(dataset).acquisitionDelaySeconds).toBe(40);
  });

  test.each(['NONE', 'none', 'No', 'N/A', ''])('agent %j counts as not recorded', (agent) => {
    const dataset: DicomJsonDataset = { '00180010': { vr: 'LO', Value: [agent] } };

    expect(readSeriesAcquisition(dataset).contrastBolusAgent).toBeNull();
  });

  test('empty dataset gives unknown attributes', () => {
    expect(readSeriesAcquisition({})).toEqual({
      sliceThicknessMm: null,
      convolutionKernels: [],
      contrastBolusAgent: null,
      acquisitionDelaySeconds: null,
    });
  });

  test('attribute without value is unknown', () => {
    const dataset: DicomJsonDataset = { '00180050': { vr: 'DS' }, '00181042': { vr: 'TM', Value: [] } };

    expect(readSeriesAcquisition(dataset).sliceThicknessMm).toBeNull();
    expect(readSeriesAcquisition(dataset).acquisitionDelaySeconds).toBeNull();
  });
});

/** Builds a PACS fake that records its calls, with `instance` as the QIDO-RS result and `metadata` as the WADO-RS one. */
function fakePacs(
  instance: DicomJsonDataset | null,
  metadata: DicomJsonDataset = {},
): AcquisitionPacs & { calls: string[]; queries: unknown[] } {
  const calls: string[] = [];
  const queries: unknown[] = [];
  return {
    calls,
    queries,
    searchInstances: (_study, series, query) => {
      calls.push(`qido ${series}`);
      queries.push(query);
      return Promise.resolve(instance === null ? [] : [instance]);
    },
    retrieveInstanceMetadata: (_study, series, sop) => {
      calls.push(`metadata ${series} ${sop}`);
      return Promise.resolve(metadata);
    },
  };
}

describe('fetchSeriesAcquisition', () => {
  test('uses the QIDO-RS result when it holds the attributes', async () => {
    const pacs = fakePacs({
      '00080018': { vr: 'UI', Value: ['9.9'] },
      '00180050': { vr: 'DS', Value: [2.5] },
    });

    const fetched = await fetchSeriesAcquisition(pacs, STUDY, '4.5');

    expect(fetched.source).toBe('qido');
    expect(fetched.acquisition.sliceThicknessMm).toBe(2.5);
    expect(pacs.calls).toEqual(['qido 4.5']);
    expect(pacs.queries).toEqual([
      {
        limit: 1,
        includeFields: ['00080018', '00080031', '00080032', '00180010', '00180050', '00181210', '00181042'],
      },
    ]);
  });

  test('reads instance metadata when QIDO-RS ignored includefield', async () => {
    const pacs = fakePacs(
      { '00080018': { vr: 'UI', Value: ['9.9'] }, '00080031': { vr: 'TM', Value: ['1050'] } },
      { '00181210': { vr: 'SH', Value: ['STANDARD'] } },
    );

    const fetched = await fetchSeriesAcquisition(pacs, STUDY, '4.5');

    expect(fetched.source).toBe('metadata');
    expect(fetched.acquisition.convolutionKernels).toEqual(['STANDARD']);
    expect(pacs.calls).toEqual(['qido 4.5', 'metadata 4.5 9.9']);
  });

  test('series without instances has unknown attributes', async () => {
    const pacs = fakePacs(null);

    const fetched = await fetchSeriesAcquisition(pacs, STUDY, '4.5');

    expect(fetched.source).toBe('none');
    expect(fetched.acquisition.sliceThicknessMm).toBeNull();
    expect(pacs.calls).toEqual(['qido 4.5']);
  });

  test('result without SOPInstanceUID fails', async () => {
    const error: unknown = await fetchSeriesAcquisition(fakePacs({}), STUDY, '4.5').catch(
      (thrown: unknown) => thrown,
    );

    expect(isNqo1Error(error, 'ERR_DICOMWEB_FAILED')).toBe(true);
    expect((error as Error).message).toContain('series 4.5 has no SOPInstanceUID');
  });
});

describe('fetchSeriesAcquisitions', () => {
  test('a failed series gets unknown attributes and is reported', async () => {
    const failures: string[] = [];
    const pacs: AcquisitionPacs = {
      searchInstances: (_study, series) =>
        series === 'bad'
          ? Promise.reject(new Nqo1Error('ERR_DICOMWEB_FAILED', 'QIDO-RS search returned HTTP 500'))
          : Promise.resolve([{ '00180050': { vr: 'DS', Value: [3] } }]),
      retrieveInstanceMetadata: () => Promise.reject(new Error('not expected')),
    };

    const fetched = await fetchSeriesAcquisitions(pacs, STUDY, ['good', 'bad'], {
      onFailure: (uid, error) => failures.push(`${uid} ${error.code}`),
    });

    expect(fetched.get('good')).toEqual({
      source: 'qido',
      acquisition: expect.objectContaining({ sliceThicknessMm: 3 }) as unknown,
    });
    expect(fetched.get('bad')?.source).toBe('none');
    expect(failures).toEqual(['bad ERR_DICOMWEB_FAILED']);
  });

  test('an untyped error is thrown', async () => {
    const pacs: AcquisitionPacs = {
      searchInstances: () => Promise.reject(new TypeError('bug')),
      retrieveInstanceMetadata: () => Promise.reject(new Error('not expected')),
    };

    await expect(fetchSeriesAcquisitions(pacs, STUDY, ['a'])).rejects.toThrow(TypeError);
  });

  test('at most `concurrency` requests run at once', async () => {
    let running = 0;
    let maxRunning = 0;
    const pacs: AcquisitionPacs = {
      searchInstances: async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running -= 1;
        return [];
      },
      retrieveInstanceMetadata: () => Promise.reject(new Error('not expected')),
    };
    const uids = Array.from({ length: 9 }, (_unused, index) => `1.${index}`);

    const fetched = await fetchSeriesAcquisitions(pacs, STUDY, uids, { concurrency: 3 });

    expect(fetched.size).toBe(9);
    expect(maxRunning).toBe(3);
  });

  test('no series sends no request', async () => {
    const pacs = fakePacs(null);

    const fetched = await fetchSeriesAcquisitions(pacs, STUDY, []);

    expect(fetched.size).toBe(0);
    expect(pacs.calls).toEqual([]);
  });
});
