/**
 * The SMART app's series choice in headless Chromium: the list of candidate CT series with the rule
 * that ranked or excluded each, a request to analyse another series through the real service and
 * its queue, the failures of such a request, and the scaled feature values. The queue's analysis is
 * controlled by the test (see `analyseRequested`).
 *
 * Needs Chromium at /usr/bin/chromium. Without it the suite is skipped with a warning, except under
 * `CI=true`, where it fails.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { Nqo1Error } from '../../src/errors.js';
import { SqliteResultStore } from '../../src/jobs/result-store.js';
import type { AnalysisJob, StoredAnalysis } from '../../src/jobs/types.js';
import type { ModelCard } from '../../src/model/card.js';
import type { ScoreResult, SeriesCandidate } from '../../src/model/result.js';
import { chromiumSkipReason } from '../support/chromium.js';
import type { FhirServerHandle } from '../support/fhir-server.js';
import { captureLogs } from '../support/log-capture.js';
import { SAMPLE_FEATURES, calibratedResult } from '../support/score-result.js';
import {
  DISTINCT_CONTRIBUTIONS,
  SERIES_SELECTION,
  storeStudyAnalysis,
} from '../support/smart-app-fixtures.js';
import {
  screenshot,
  startSmartAppHarness,
  type OpenedApp,
  type SmartAppHarness,
  type SmartAppSeed,
} from '../support/smart-app-harness.js';

const skipReason = chromiumSkipReason('the SMART app series choice tests');

/** The study whose series the user changes, and a study whose result predates candidates and z. */
const CHOICE_STUDIES = { automatic: '2.25.8001', older: '2.25.8002' } as const;

/** The four CT series of {@link CHOICE_STUDIES.automatic}, as the selection rules recorded them. */
const CANDIDATES: readonly SeriesCandidate[] = [
  {
    seriesInstanceUid: '2.25.8001.4',
    seriesNumber: 4,
    seriesDescription: 'Arterial phase 1.25 mm',
    instanceCount: 212,
    sliceThicknessMm: 1.25,
    convolutionKernel: 'B30f',
    contrastAgentRecorded: true,
    acquisitionDelaySeconds: 32,
    outcome: 'chosen',
    rule: 'arterial-phase-description',
    pattern: 'arterial',
  },
  {
    seriesInstanceUid: '2.25.8001.5',
    seriesNumber: 5,
    seriesDescription: 'Portal venous 1.25 mm',
    instanceCount: 208,
    sliceThicknessMm: 1.25,
    convolutionKernel: 'B30f',
    contrastAgentRecorded: true,
    acquisitionDelaySeconds: 70,
    outcome: 'ranked',
    rule: 'arterial-phase-description',
  },
  {
    seriesInstanceUid: '2.25.8001.6',
    seriesNumber: 6,
    seriesDescription: 'Delayed phase 1.25 mm',
    instanceCount: 150,
    sliceThicknessMm: 1.25,
    convolutionKernel: 'B30f',
    contrastAgentRecorded: true,
    acquisitionDelaySeconds: 180,
    outcome: 'ranked',
    rule: 'instance-count',
  },
  {
    seriesInstanceUid: '2.25.8001.2',
    seriesNumber: 2,
    seriesDescription: 'Plain 5 mm',
    instanceCount: 60,
    sliceThicknessMm: 5,
    convolutionKernel: 'B30f',
    contrastAgentRecorded: false,
    acquisitionDelaySeconds: null,
    outcome: 'excluded',
    rule: 'non-contrast-description',
    pattern: 'plain',
  },
];

/** One different scaled value per feature, so a value shown in the wrong row fails the test. */
const DISTINCT_SCALED: Readonly<Record<string, number>> = Object.fromEntries(
  Object.keys(SAMPLE_FEATURES).map((name, index) => [name, 1.5 - 0.625 * index]),
);

describe.skipIf(skipReason !== null)('SMART app series choice', () => {
  const logs = captureLogs();
  let harness: SmartAppHarness | undefined;
  let sqlitePath: string;
  let fhir: FhirServerHandle;
  let modelCard: ModelCard;
  let patientId: string;
  const analysisIds: Partial<Record<keyof typeof CHOICE_STUDIES, string>> = {};
  /** Logical ids of the studies' FHIR ImagingStudy resources. */
  const imagingStudyIds: Partial<Record<keyof typeof CHOICE_STUDIES, string>> = {};
  const storedResults: Partial<Record<keyof typeof CHOICE_STUDIES, ScoreResult>> = {};
  /** Jobs the queue handed to the analysis, in order. */
  const analysedJobs: AnalysisJob[] = [];
  /** Lets the analysis of the ranked series finish; the test delays it to check the pending screen. */
  let releaseRanked: () => void = () => undefined;
  const rankedReleased = new Promise<void>((resolve) => {
    releaseRanked = resolve;
  });

  /** Result of the requested portal-venous series: another probability and class than the automatic one. */
  function requestedResult(): ScoreResult {
    const ranked = CANDIDATES[1]!;
    // The queue stores a result only for the model version of its job.
    return calibratedResult({
      model: { id: modelCard.id, version: modelCard.version },
      probability: 0.3,
      class: 'low',
      linearPredictor: -0.85,
      scaledFeatures: DISTINCT_SCALED,
      provenance: {
        ...calibratedResult().provenance,
        studyInstanceUid: CHOICE_STUDIES.automatic,
        seriesInstanceUid: ranked.seriesInstanceUid,
        seriesSelection: {
          reason: 'requested',
          seriesDescription: ranked.seriesDescription,
          seriesNumber: ranked.seriesNumber,
          instanceCount: ranked.instanceCount,
          ctSeriesCount: 3,
          arterialCount: 1,
          candidates: [{ ...ranked, outcome: 'chosen', rule: 'requested' }],
        },
      },
    });
  }

  /**
   * Stands for the analysis of a requested series. The portal-venous series waits for the test's
   * release, the delayed series has no segmentation, and the excluded series fails as if the PACS no
   * longer had it.
   */
  async function analyseRequested(job: AnalysisJob): Promise<{ result: ScoreResult }> {
    analysedJobs.push(job);
    if (job.seriesInstanceUid === CANDIDATES[1]!.seriesInstanceUid) {
      await rankedReleased;
      return { result: requestedResult() };
    }
    if (job.seriesInstanceUid === CANDIDATES[2]!.seriesInstanceUid) {
      throw new Nqo1Error(
        'ERR_SEGMENTATION_MISSING',
        `The study's only SEG outlines series ${CANDIDATES[0]!.seriesInstanceUid}, not CT series ${job.seriesInstanceUid}.`,
      );
    }
    throw new Nqo1Error(
      'ERR_REQUESTED_SERIES_INVALID',
      `The requested series ${job.seriesInstanceUid ?? '(none)'} is not in the study, which has 2 CT series.`,
    );
  }

  beforeAll(async () => {
    harness = await startSmartAppHarness({
      tempPrefix: 'nqo1-smart-series-',
      logger: logs.logger,
      analyse: analyseRequested,
      releaseAnalyses: () => {
        releaseRanked();
      },
      seed: storeResults,
    });
    ({ fhir, modelCard, patientId, sqlitePath } = harness);
  });

  afterAll(async () => {
    await harness?.close();
  });

  /**
   * Stores the automatic result of a study with three CT series and scaled values, and the result
   * of an older study stored before candidates and scaled values were recorded.
   */
  async function storeResults(seed: SmartAppSeed): Promise<void> {
    for (const key of Object.keys(CHOICE_STUDIES) as (keyof typeof CHOICE_STUDIES)[]) {
      const studyInstanceUid = CHOICE_STUDIES[key];
      const provenance = {
        ...calibratedResult().provenance,
        studyInstanceUid,
        seriesSelection:
          key === 'automatic' ? { ...SERIES_SELECTION, candidates: CANDIDATES } : SERIES_SELECTION,
      };
      // The older result has neither `scaledFeatures` nor `candidates`, as rows stored before them.
      const result =
        key === 'automatic'
          ? calibratedResult({
              provenance,
              scaledFeatures: DISTINCT_SCALED,
              contributions: DISTINCT_CONTRIBUTIONS,
            })
          : calibratedResult({ provenance, contributions: DISTINCT_CONTRIBUTIONS });
      const stored = await storeStudyAnalysis(seed, {
        studyInstanceUid,
        patientId: seed.patientId,
        result,
        observationId: `observation-${key}`,
      });
      storedResults[key] = result;
      analysisIds[key] = stored.analysisId;
      imagingStudyIds[key] = stored.imagingStudyId;
    }
  }

  /** Opens the launch page as the EHR does and waits until the app shows its final screen. */
  function launchApp(analysis: keyof typeof CHOICE_STUDIES, locale: 'en' | 'zh-CN'): Promise<OpenedApp> {
    return harness!.launchApp(
      { patient: patientId, appContext: analysisIds[analysis]!, locale },
      { browserLocale: locale },
    );
  }

  /** Reads the stored row of a requested series through a second connection to the service's store. */
  async function storedRequest(seriesInstanceUid: string): Promise<StoredAnalysis | undefined> {
    const store = new SqliteResultStore(sqlitePath);
    try {
      return await store.getResult({
        studyInstanceUid: CHOICE_STUDIES.automatic,
        seriesInstanceUid,
        modelId: modelCard.id,
        modelVersion: modelCard.version,
      });
    } finally {
      await store.close();
    }
  }

  test('candidates list every CT series with its rule', async () => {
    const { page, context } = await launchApp('automatic', 'en');
    try {
      const rows = page.locator('#series-candidates tbody tr');
      expect(await rows.count()).toBe(CANDIDATES.length);
      for (let i = 0; i < CANDIDATES.length; i++) {
        const candidate = CANDIDATES[i]!;
        const row = rows.nth(i);
        expect(await row.getAttribute('data-series-uid')).toBe(candidate.seriesInstanceUid);
        expect(await row.locator('label').textContent()).toBe(candidate.seriesDescription);
        expect(await row.locator('td').nth(2).textContent()).toBe(String(candidate.seriesNumber));
        expect(await row.locator('td').nth(3).textContent()).toBe(String(candidate.instanceCount));
        expect(await row.locator('td').nth(4).textContent()).toBe(`${candidate.sliceThicknessMm} mm`);
        expect(await row.locator('td').nth(5).textContent()).toBe('B30f');
      }
      expect(await rows.nth(0).locator('.series-outcome').textContent()).toBe(
        'Analysed Chosen because its description names the arterial phase.',
      );
      expect(await rows.nth(1).locator('.series-outcome').textContent()).toBe(
        'Ranked lower The series above it has a description that names the arterial phase.',
      );
      expect(await rows.nth(2).locator('.series-outcome').textContent()).toBe(
        'Ranked lower The series above it has more images.',
      );
      expect(await rows.nth(3).locator('.series-outcome').textContent()).toBe(
        'Excluded Its description names a phase without contrast (pattern plain).',
      );

      // The analysed series is selected, and analysing it again is not offered.
      expect(await page.isChecked('#series-choice-0')).toBe(true);
      expect(await page.isDisabled('#analyse-series')).toBe(true);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1024);
      await screenshot(page, 'series-choice-en');

      // Escape cancels the confirmation: no request, and the focus returns to the button.
      const posts: string[] = [];
      page.on('request', (request) => {
        if (request.method() === 'POST') posts.push(request.url());
      });
      await page.click('label[for="series-choice-1"]');
      await page.click('#analyse-series');
      await page.locator('dialog#confirm-series').waitFor();
      await page.keyboard.press('Escape');
      await page.locator('dialog#confirm-series').waitFor({ state: 'detached' });
      expect(posts).toEqual([]);
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('analyse-series');

      // A language switch keeps the selected series.
      await page.click('#language-switch');
      expect(await page.locator('#analyse-series').textContent()).toBe('分析此序列');
      expect(await page.isChecked('#series-choice-1')).toBe(true);
      expect(await page.isDisabled('#analyse-series')).toBe(false);
    } finally {
      await context.close();
    }
  });

  test('ranked series is analysed on request', async () => {
    const ranked = CANDIDATES[1]!;
    const { page, context } = await launchApp('automatic', 'en');
    try {
      // Keyboard only: the arrow key moves the radio selection, Tab reaches the button.
      await page.focus('#series-choice-0');
      await page.keyboard.press('ArrowDown');
      expect(await page.isChecked('#series-choice-1')).toBe(true);
      expect(await page.isDisabled('#analyse-series')).toBe(false);
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('analyse-series');
      await page.keyboard.press('Enter');

      const dialog = page.locator('dialog#confirm-series');
      await dialog.waitFor();
      expect(await dialog.locator('h2').textContent()).toBe('Analyse another series?');
      expect(await dialog.locator('#confirm-series-body').textContent()).toContain(
        'The service will analyse series 5 (Portal venous 1.25 mm) with the same model',
      );
      expect(await dialog.locator('#confirm-series-excluded').count()).toBe(0);
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('confirm-series-start');
      await screenshot(page, 'series-confirm-en');
      const posted = page.waitForRequest(
        (request) => request.method() === 'POST' && new URL(request.url()).pathname === '/api/analyses',
      );
      await page.keyboard.press('Enter');
      expect((await posted).postDataJSON()).toEqual({
        fhirServer: fhir.baseUrl,
        imagingStudyId: imagingStudyIds.automatic,
        seriesInstanceUid: ranked.seriesInstanceUid,
      });

      await page.waitForSelector('main[data-screen="requestedPending"]');
      expect(await page.locator('main .screen h2').last().textContent()).toBe(
        'Analysing the series you requested',
      );
      expect(await page.locator('#requested-series p').textContent()).toContain(
        'series 5 (Portal venous 1.25 mm)',
      );
      await screenshot(page, 'series-pending-en');

      // The service stored a row for the requested series and handed that job to the analysis.
      const row = await storedRequest(ranked.seriesInstanceUid);
      expect(row?.status === 'pending' || row?.status === 'running').toBe(true);
      expect(row?.job.imagingStudyId).toBe(imagingStudyIds.automatic);
      expect(row?.job.patientId).toBe(patientId);
      expect(analysedJobs.map((job) => job.seriesInstanceUid)).toEqual([ranked.seriesInstanceUid]);

      releaseRanked();
      await page.waitForSelector('main[data-screen="result"]', { timeout: 15_000 });
      expect((await storedRequest(ranked.seriesInstanceUid))?.status).toBe('done');
      expect(await page.locator('#requested-series p').textContent()).toBe(
        'Result for the series you requested, series 5 (Portal venous 1.25 mm), in place of the automatic choice.',
      );
      expect(await page.locator('#probability-value').textContent()).toBe('0.300');
      expect(await page.getAttribute('#predicted-class', 'data-class')).toBe('low');
      expect(await page.locator('#series p').nth(1).textContent()).toBe('Chosen by a user in this app.');
      expect(await page.locator('#series-candidates').count()).toBe(0);
      await screenshot(page, 'series-requested-result-en');

      await page.click('#back-to-automatic');
      await page.waitForSelector('#series-candidates');
      expect(await page.locator('#requested-series').count()).toBe(0);
      expect(await page.locator('#probability-value').textContent()).toBe('0.810');
    } finally {
      await context.close();
    }
  });

  test('gateway timeout is shown in zh-CN', async () => {
    const { page, context } = await launchApp('automatic', 'zh-CN');
    try {
      // The service's reply when the FHIR server does not respond to the access check in time.
      await page.route('**/api/analyses', async (route) => {
        if (route.request().method() !== 'POST') {
          await route.continue();
          return;
        }
        await route.fulfill({
          status: 504,
          contentType: 'application/fhir+json',
          body: JSON.stringify({
            resourceType: 'OperationOutcome',
            issue: [
              { severity: 'error', code: 'timeout', details: { coding: [{ code: 'ERR_FHIR_FAILED' }] } },
            ],
          }),
        });
      });

      await page.click('label[for="series-choice-1"]');
      await page.click('#analyse-series');
      await page.click('#confirm-series-start');

      const alert = page.locator('#series-request-error');
      await alert.waitFor();
      expect(await alert.textContent()).toBe('FHIR 服务器未及时响应。请一分钟后重试。');
      expect(await alert.getAttribute('role')).toBe('alert');
      expect(await page.getAttribute('main', 'data-screen')).toBe('result');
      expect(await page.isChecked('#series-choice-1')).toBe(true);
      await screenshot(page, 'series-request-error-zh-CN');
    } finally {
      await context.close();
    }
  });

  test('missing segmentation explained in zh-CN', async () => {
    const delayed = CANDIDATES[2]!;
    const { page, context } = await launchApp('automatic', 'zh-CN');
    try {
      await page.click('label[for="series-choice-2"]');
      await page.click('#analyse-series');
      await page.click('#confirm-series-start');

      await page.waitForSelector('main[data-screen="failed"]', { timeout: 15_000 });
      expect((await storedRequest(delayed.seriesInstanceUid))?.status).toBe('failed');
      expect(await page.locator('#requested-series p').textContent()).toBe(
        '此为您选择的序列 6（Delayed phase 1.25 mm）的结果，而非自动选择的序列。',
      );
      expect(await page.locator('main .screen h2').last().textContent()).toBe('分析失败');
      expect(await page.locator('#requested-segmentation-missing').textContent()).toBe(
        '该检查中没有引用所请求序列的肿瘤分割（SEG 或 RTSTRUCT），因此无法计算其特征。请在该序列上分割肿瘤并将分割存入该检查，或返回自动分析结果。',
      );
      await screenshot(page, 'series-segmentation-missing-zh-CN');
    } finally {
      await context.close();
    }
  });

  test('excluded series names its rule and failure', async () => {
    const excluded = CANDIDATES[3]!;
    const { page, context } = await launchApp('automatic', 'en');
    try {
      await page.click('label[for="series-choice-3"]');
      await page.click('#analyse-series');
      expect(await page.locator('#confirm-series-excluded').textContent()).toBe(
        'The series rules excluded this series: Its description names a phase without contrast (pattern plain). ' +
          'The result may not be valid.',
      );
      await page.click('#confirm-series-start');

      await page.waitForSelector('main[data-screen="failed"]', { timeout: 15_000 });
      expect((await storedRequest(excluded.seriesInstanceUid))?.status).toBe('failed');
      expect(await page.locator('#requested-series p').textContent()).toContain('series 2 (Plain 5 mm)');
      expect(await page.locator('#requested-series-invalid').count()).toBe(1);
      expect(await page.locator('.failure-message').textContent()).toContain(excluded.seriesInstanceUid);
    } finally {
      await context.close();
    }
  });

  test('scaled column equals the stored values', async () => {
    const stored = storedResults.automatic!;
    const { page, context } = await launchApp('automatic', 'en');
    try {
      expect(await page.locator('#features thead th').nth(3).textContent()).toBe('Scaled value (z)');
      for (const name of Object.keys(stored.features)) {
        const cell = page.locator(`#features tr[data-feature="${name}"] td.scaled`);
        expect(Number(await cell.getAttribute('data-scaled'))).toBe(DISTINCT_SCALED[name]);
        expect(await cell.textContent()).toBe(DISTINCT_SCALED[name]!.toFixed(3));
      }
      expect(await page.locator('#scaled-not-stored').count()).toBe(0);
      await screenshot(page, 'scaled-values-en');
    } finally {
      await context.close();
    }
  });

  test('older result explains the missing list and values', async () => {
    const { page, context } = await launchApp('older', 'zh-CN');
    try {
      expect(await page.locator('#series-candidates-unavailable').textContent()).toBe(
        '该结果没有 CT 序列列表，因为它保存于服务开始记录候选序列之前，因此无法在此选择其他序列。',
      );
      expect(await page.locator('#analyse-series').count()).toBe(0);
      const cells = page.locator('#features td.scaled');
      expect(await cells.count()).toBe(Object.keys(SAMPLE_FEATURES).length);
      expect(await cells.evaluateAll((all) => all.map((cell) => cell.textContent))).toEqual(
        Object.keys(SAMPLE_FEATURES).map(() => '–'),
      );
      expect(await page.locator('#scaled-not-stored').textContent()).toContain('标准化值显示为短横线');
      await screenshot(page, 'older-result-zh-CN');
    } finally {
      await context.close();
    }
  });
});
