import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { DicomWebClient } from '../../src/dicomweb/client.js';
import { DEFAULT_SERIES_RULE_VALUES } from '../../src/dicomweb/ct-series-rules.js';
import { ACQUISITION_TAG, fetchSeriesAcquisition } from '../../src/dicomweb/series-acquisition.js';
import { isNqo1Error } from '../../src/errors.js';
import { createStudyAnalyserFromConfig, type StudyAnalyserConfig } from '../../src/jobs/analyse-study.js';
import { BR_RO_CARD_PATH, loadModelCard } from '../../src/model/card.js';
import { orthancSkipReason, startOrthanc, type OrthancHandle } from '../support/orthanc.js';
import {
  CT_24X38X3,
  CT_24X38X3_FILES,
  CT_3SLICE,
  CT_3SLICE_FILES,
  LIVER_SEG_FILE,
  readArrayBuffer,
} from '../support/shared-data.js';

const skipReason = orthancSkipReason('the series attribute tests');

describe.skipIf(skipReason !== null)('series acquisition attributes from Orthanc', () => {
  let orthanc: OrthancHandle | undefined;
  let pacs: DicomWebClient;

  beforeAll(async () => {
    const started = await startOrthanc();
    orthanc = started;
    pacs = new DicomWebClient({
      baseUrl: started.dicomWebUrl,
      allowlist: [started.dicomWebUrl],
      timeoutMs: 20_000,
    });
    const files = [...CT_3SLICE_FILES, LIVER_SEG_FILE, ...CT_24X38X3_FILES];
    await pacs.storeInstances(await Promise.all(files.map(readArrayBuffer)));
  });

  afterAll(async () => {
    await orthanc?.stop();
  });

  test('ct-3slice: thickness and kernel, read from instance metadata', async () => {
    const fetched = await fetchSeriesAcquisition(
      pacs,
      CT_3SLICE.studyInstanceUid,
      CT_3SLICE.ctSeriesInstanceUid,
    );

    // Orthanc 1.10 ignores the percent-encoded includefield list, so the metadata fallback runs.
    expect(fetched.source).toBe('metadata');
    expect(fetched.acquisition).toEqual({
      sliceThicknessMm: 1.25,
      convolutionKernels: ['STANDARD'],
      contrastBolusAgent: null,
      acquisitionDelaySeconds: null,
    });
  });

  test('ct-3slice: instance metadata carries the acquisition times', async () => {
    const [first] = await pacs.searchInstances(CT_3SLICE.studyInstanceUid, CT_3SLICE.ctSeriesInstanceUid, {
      limit: 1,
      includeFields: Object.values(ACQUISITION_TAG),
    });
    const sop = first?.[ACQUISITION_TAG.SOPInstanceUID]?.Value?.[0];
    expect(typeof sop).toBe('string');

    const metadata = await pacs.retrieveInstanceMetadata(
      CT_3SLICE.studyInstanceUid,
      CT_3SLICE.ctSeriesInstanceUid,
      sop as string,
    );

    expect(metadata[ACQUISITION_TAG.SeriesTime]?.Value).toEqual(['1050']);
    expect(metadata[ACQUISITION_TAG.AcquisitionTime]?.Value?.[0]).toMatch(/^1050\d{2}/);
    expect(metadata[ACQUISITION_TAG.SliceThickness]?.Value).toEqual([1.25]);
    expect(metadata[ACQUISITION_TAG.ContrastBolusStartTime]).toBeUndefined();
  });

  test('QIDO-RS instance search honours limit=1', async () => {
    const instances = await pacs.searchInstances(CT_3SLICE.studyInstanceUid, CT_3SLICE.ctSeriesInstanceUid, {
      limit: 1,
    });

    expect(instances).toHaveLength(1);
  });

  test('24x38x3: thickness without a kernel', async () => {
    const fetched = await fetchSeriesAcquisition(
      pacs,
      CT_24X38X3.studyInstanceUid,
      CT_24X38X3.ctSeriesInstanceUid,
    );

    expect(fetched.acquisition.sliceThicknessMm).toBe(2.5);
    expect(fetched.acquisition.convolutionKernels).toEqual([]);
  });

  describe('analyser built from the configuration', () => {
    function configWith(series: Partial<NonNullable<StudyAnalyserConfig['series']>>): StudyAnalyserConfig {
      const url = orthanc!.dicomWebUrl;
      return {
        dicomweb: { baseUrl: url, allowedBaseUrls: [url], timeoutMs: 20_000 },
        jobs: { workerThreads: 0 },
        series: {
          ...DEFAULT_SERIES_RULE_VALUES,
          ...series,
        },
      };
    }

    async function analyse(series: Partial<NonNullable<StudyAnalyserConfig['series']>>): Promise<unknown> {
      const card = await loadModelCard(BR_RO_CARD_PATH);
      const analyser = createStudyAnalyserFromConfig(configWith(series), {
        modelCard: card,
        logger: pino({ level: 'silent' }),
      });
      try {
        return await analyser({
          studyInstanceUid: CT_3SLICE.studyInstanceUid,
          modelId: card.id,
          modelVersion: card.version,
        });
      } catch (error) {
        return error;
      } finally {
        await analyser.close();
      }
    }

    test('records the attributes of the chosen series', async () => {
      const output = (await analyse({})) as {
        result: { provenance: { seriesSelection?: { candidates?: unknown[] } } };
      };

      expect(output.result.provenance.seriesSelection?.candidates).toEqual([
        expect.objectContaining({
          seriesInstanceUid: CT_3SLICE.ctSeriesInstanceUid,
          sliceThicknessMm: 1.25,
          convolutionKernel: 'STANDARD',
          contrastAgentRecorded: false,
          outcome: 'chosen',
        }),
      ]);
    }, 60_000);

    test('a configured thickness range excludes the 1.25 mm series', async () => {
      const error = await analyse({ sliceThicknessMm: { min: 2, max: 5 } });

      expect(isNqo1Error(error, 'ERR_SERIES_EMPTY')).toBe(true);
      expect((error as Error).message).toContain('slice-thickness');
    }, 60_000);
  });
});
