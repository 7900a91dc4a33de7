/**
 * The SMART app in headless Chromium, launched the way an EHR launches it from the CDS card's smart
 * link, against the real service reading a result store filled by this test (see
 * `test/support/smart-app-harness.ts`): the launch, the result with its region pictures and evidence,
 * the screens of pending and failed analyses, and Record in chart.
 *
 * Screenshots of every screen are written to `test-artifacts/screenshots/`.
 *
 * Needs Chromium at /usr/bin/chromium. Without it the suite is skipped with a warning, except under
 * `CI=true`, where it fails.
 */
import type { Observation, Practitioner, Provenance } from '@medplum/fhirtypes';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { FhirWriteBack } from '../../src/fhir/write-back.js';
import { SqliteResultStore } from '../../src/jobs/result-store.js';
import type { ModelCard } from '../../src/model/card.js';
import type { ScoreResult } from '../../src/model/result.js';
import type { RunningServer } from '../../src/server/start.js';
import { SMART_SCOPE } from '../../smart-app/src/launch-scope.js';
import { chromiumSkipReason } from '../support/chromium.js';
import type { FhirServerHandle } from '../support/fhir-server.js';
import { captureLogs } from '../support/log-capture.js';
import { calibratedResult, uncalibratedResult } from '../support/score-result.js';
import {
  DISTINCT_CONTRIBUTIONS,
  FAILURE,
  SERIES_SELECTION,
  createImagingStudy,
  phantomOverlay,
  storeStudyAnalysis,
  studyJob,
} from '../support/smart-app-fixtures.js';
import {
  screenshot,
  startSmartAppHarness,
  type LaunchAppOptions,
  type OpenedApp,
  type SmartAppHarness,
  type SmartAppSeed,
} from '../support/smart-app-harness.js';
import type { SmartAuthServer, SmartLaunchContext } from '../support/smart-auth-server.js';
import { textContrastFailures } from '../support/text-contrast.js';

const skipReason = chromiumSkipReason('the SMART app browser tests');

/** Study UIDs of the four stored analyses. */
const STUDIES = {
  done: '2.25.7001',
  uncalibrated: '2.25.7002',
  pending: '2.25.7003',
  failed: '2.25.7004',
} as const;

/** Viewer link template; the test only reads the link, so nothing listens there. */
const VIEWER_URL_TEMPLATE = 'http://127.0.0.1:9/viewer?study={{studyInstanceUid}}';

describe.skipIf(skipReason !== null)('SMART app', () => {
  const logs = captureLogs();
  let harness: SmartAppHarness | undefined;
  let fhir: FhirServerHandle;
  let auth: SmartAuthServer;
  let service: RunningServer;
  let modelCard: ModelCard;
  let patientId: string;
  let sqlitePath: string;
  /** Row ids of the stored analyses, by study. */
  const analysisIds: Partial<Record<keyof typeof STUDIES, string>> = {};
  const storedResults: Partial<Record<keyof typeof STUDIES, ScoreResult>> = {};

  beforeAll(async () => {
    // The queue claims the pending row; its analysis waits until the harness closes.
    harness = await startSmartAppHarness({
      tempPrefix: 'nqo1-smart-app-',
      logger: logs.logger,
      viewerUrlTemplate: VIEWER_URL_TEMPLATE,
      seed: storeAnalyses,
    });
    ({ fhir, auth, service, modelCard, patientId, sqlitePath } = harness);
  });

  afterAll(async () => {
    await harness?.close();
  });

  /** Inserts a calibrated and an uncalibrated result, a pending and a failed analysis, and keeps their ids. */
  async function storeAnalyses(seed: SmartAppSeed): Promise<void> {
    for (const key of Object.keys(STUDIES) as (keyof typeof STUDIES)[]) {
      const studyInstanceUid = STUDIES[key];
      const provenance = {
        ...calibratedResult().provenance,
        studyInstanceUid,
        seriesSelection: SERIES_SELECTION,
      };
      const result =
        key === 'done'
          ? calibratedResult({ provenance, contributions: DISTINCT_CONTRIBUTIONS })
          : key === 'uncalibrated'
            ? uncalibratedResult({ provenance })
            : undefined;
      const { analysisId } = await storeStudyAnalysis(seed, {
        studyInstanceUid,
        patientId: seed.patientId,
        result,
        observationId: `observation-${key}`,
        failure: key === 'failed' ? FAILURE : undefined,
      });
      analysisIds[key] = analysisId;
      if (result !== undefined) storedResults[key] = result;
      if (key === 'done') await seed.store.overlays.save(analysisId, phantomOverlay());
    }
  }

  /** Opens the launch page as the EHR does and waits until the app shows its final screen. */
  function launchApp(
    context: SmartLaunchContext,
    browserLocale = 'en-US',
    faults: Pick<LaunchAppOptions, 'failOverlayList'> = {},
  ): Promise<OpenedApp> {
    return harness!.launchApp(context, { browserLocale, ...faults });
  }

  test('EHR launch exchanges a PKCE S256 code', async () => {
    const before = auth.events().length;
    const app = await launchApp({ patient: patientId, appContext: analysisIds.done!, locale: 'en' });
    try {
      const events = auth.events().slice(before);
      expect(events.map((event) => [event.endpoint, event.accepted])).toEqual([
        ['authorize', true],
        ['token', true],
      ]);
      expect(events[0]!.codeChallengeMethod).toBe('S256');
      expect(events[0]!.scope).toBe(SMART_SCOPE);

      const analysisRequest = app.apiRequests.find((request) => request.url().includes('/api/analyses/'));
      expect(analysisRequest).toBeDefined();
      const url = new URL(analysisRequest!.url());
      expect(url.pathname).toBe(`/api/analyses/${analysisIds.done!}`);
      expect(url.searchParams.get('fhirServer')).toBe(fhir.baseUrl);
      const token = auth.issuedTokens().at(-1)!;
      expect(await analysisRequest!.headerValue('authorization')).toBe(`Bearer ${token}`);
      expect(app.apiRequests.some((request) => new URL(request.url()).pathname === '/api/model-card')).toBe(
        true,
      );
      await screenshot(app.page, 'launch-en');
    } finally {
      await app.context.close();
    }
  });

  test('index.html without a launch shows the expired session', async () => {
    const { page, context } = await harness!.openPage();
    try {
      await page.goto(`${service.url}/smart-app/index.html`);
      await page.waitForSelector('main[data-screen="sessionExpired"]');
      expect(await page.locator('main h2').textContent()).toBe('Session expired');
      await screenshot(page, 'session-expired-en');
    } finally {
      await context.close();
    }
  });

  test('launch without a patient shows the zh-CN screen', async () => {
    const app = await launchApp({ appContext: analysisIds.done!, locale: 'zh-CN' });
    try {
      const { page } = app;
      expect(await page.getAttribute('main', 'data-screen')).toBe('missingPatient');
      expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
      expect(await page.locator('h1').textContent()).toBe('NQO1 表达风险');
      expect(await page.locator('main h2').textContent()).toBe('未选择患者');
      expect(app.apiRequests).toEqual([]);
      await screenshot(page, 'missing-patient-zh-CN');

      // The language switch is the first focusable element and works from the keyboard.
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('language-switch');
      await page.keyboard.press('Enter');
      expect(await page.locator('main h2').textContent()).toBe('No patient selected');
      expect(await page.getAttribute('html', 'lang')).toBe('en');
    } finally {
      await app.context.close();
    }
  });

  test('analysis of another patient is not shown', async () => {
    const app = await launchApp({ patient: 'another-patient', appContext: analysisIds.done!, locale: 'en' });
    try {
      expect(await app.page.getAttribute('main', 'data-screen')).toBe('otherPatient');
      expect(await app.page.locator('main h2').textContent()).toBe('Result of another patient');
      expect(await app.page.locator('#probability-value').count()).toBe(0);
      expect(await app.page.locator('#overlay').count()).toBe(0);
    } finally {
      await app.context.close();
    }
  });

  test('launch without appContext searches the analyses', async () => {
    const app = await launchApp({ patient: patientId, locale: 'en' });
    try {
      // The stored studies have no CT series in the EHR, so the search of CT studies finds none.
      expect(await app.page.getAttribute('main', 'data-screen')).toBe('noEligibleStudy');
      expect(await app.page.locator('main h2').textContent()).toBe('No analysed CT study');
      expect(app.apiRequests.map((request) => new URL(request.url()).pathname)).toEqual(['/api/analyses']);
    } finally {
      await app.context.close();
    }
  });

  test('result shows the stored numbers', async () => {
    const stored = storedResults.done!;
    const app = await launchApp({ patient: patientId, appContext: analysisIds.done!, locale: 'en' });
    try {
      const { page } = app;
      expect(await page.getAttribute('main', 'data-screen')).toBe('result');
      expect(await page.locator('#probability-value').textContent()).toBe(stored.probability!.toFixed(3));
      expect(Number(await page.getAttribute('#probability-value', 'data-value'))).toBe(stored.probability);
      expect(await page.locator('#threshold-value').textContent()).toBe('0.404');
      expect(await page.getAttribute('#predicted-class', 'data-class')).toBe(stored.class);
      expect(await page.locator('#predicted-class').textContent()).toBe('Likely high NQO1 expression');
      expect(await page.locator('svg.probability-bar').count()).toBe(1);

      const names = Object.keys(stored.features);
      expect(await page.locator('#features tbody tr').count()).toBe(names.length);
      for (const name of names) {
        const cell = page.locator(`#features tr[data-feature="${name}"] td.feature-value`);
        expect(Number(await cell.getAttribute('data-value'))).toBe(stored.features[name]);
        const shown = new Intl.NumberFormat('en', { maximumSignificantDigits: 6 }).format(
          stored.features[name]!,
        );
        expect(await cell.textContent()).toBe(shown);

        const contribution = page.locator(`#features tr[data-feature="${name}"] td.contribution`);
        expect(Number(await contribution.getAttribute('data-contribution'))).toBe(
          stored.contributions![name],
        );
        expect(await contribution.textContent()).toBe(stored.contributions![name]!.toFixed(3));
      }

      const bars = page.locator('svg.contribution-chart rect');
      expect(await bars.count()).toBe(names.length);
      const positive = Object.values(DISTINCT_CONTRIBUTIONS).filter((value) => value >= 0).length;
      expect(await page.locator('svg.contribution-chart rect.bar-high').count()).toBe(positive);

      // No horizontal scrolling at 1024 × 768.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1024);
      await screenshot(page, 'result-en');

      expect(await page.locator('#series p').first().textContent()).toBe('Series 4: Arterial phase 1.25 mm');
      expect(await page.locator('#series p').nth(1).textContent()).toBe(
        'Chosen because its description names the arterial phase.',
      );

      expect(await page.getAttribute('#open-images', 'href')).toBe(
        `http://127.0.0.1:9/viewer?study=${STUDIES.done}`,
      );

      // Nor on a tablet held upright.
      await page.setViewportSize({ width: 768, height: 1024 });
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(768);
      await screenshot(page, 'result-en-768');
    } finally {
      await app.context.close();
    }
  });

  test('result shows the region pictures', async () => {
    const app = await launchApp({ patient: patientId, appContext: analysisIds.done!, locale: 'en' });
    try {
      const { page } = app;
      const image = page.locator('#overlay img.overlay-image');
      await image.waitFor();

      // The slice with the most tumour comes first; the picture is the service's PNG, decoded.
      expect(await image.getAttribute('data-slice-index')).toBe('2');
      expect(await image.evaluate((element: HTMLImageElement) => element.naturalWidth)).toBeGreaterThan(0);
      await screenshot(page, 'regions-en');

      // The arrow key moves to the previous slice.
      await page.focus('#overlay-slider');
      await page.keyboard.press('ArrowLeft');
      await page.waitForFunction(
        () => document.querySelector('#overlay img.overlay-image')?.getAttribute('data-slice-index') === '1',
      );
      expect(await page.locator('#overlay-caption').textContent()).toContain('1 of 2');
    } finally {
      await app.context.close();
    }
  });

  test('late slice reply does not replace a newer one', async () => {
    const app = await launchApp({ patient: patientId, appContext: analysisIds.done!, locale: 'en' });
    try {
      const { page } = app;
      const image = page.locator('#overlay img.overlay-image');
      await image.waitFor();
      // Slice 1's picture arrives 1.5 s late; slice 2's at once.
      await page.route('**/overlay/1?*', async (route) => {
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        await route.continue();
      });

      await page.focus('#overlay-slider');
      await page.keyboard.press('ArrowLeft');
      await page.keyboard.press('ArrowRight');
      await page.waitForTimeout(2_000);

      expect(await image.getAttribute('data-slice-index')).toBe('2');
      expect(await page.locator('#overlay-caption').textContent()).toContain('2 of 2');
    } finally {
      await app.context.close();
    }
  });

  test('failed picture list is reported, not hidden', async () => {
    const app = await launchApp(
      { patient: patientId, appContext: analysisIds.done!, locale: 'en' },
      'en-US',
      {
        failOverlayList: true,
      },
    );
    try {
      expect(await app.page.locator('#overlay p').textContent()).toBe(
        'The region picture could not be loaded (HTTP 500).',
      );
    } finally {
      await app.context.close();
    }
  });

  test('result shows the model card evidence', async () => {
    const app = await launchApp({ patient: patientId, appContext: analysisIds.done!, locale: 'en' });
    try {
      const { page } = app;
      const auc = await page.locator('#auc').textContent();
      expect(auc).toContain('0.908 (95 % CI 0.813–1.000)');
      expect(auc).toContain('0.879 (95 % CI 0.698–1.000)');
      expect(await page.locator('svg.forest-plot rect.estimate').count()).toBe(2);
      expect(await page.locator('#hazard-ratios').textContent()).toContain('1.761 (95 % CI 1.136–2.730)');
      expect(await page.locator('#limitations li').count()).toBe(modelCard.limitations.length);
      expect(await page.locator('#citation').textContent()).toContain('PLoS ONE. 2023;18(9):e0290900');
      await screenshot(page, 'evidence-en');
    } finally {
      await app.context.close();
    }
  });

  test('result renders in zh-CN', async () => {
    const app = await launchApp({ patient: patientId, appContext: analysisIds.done!, locale: 'zh-CN' });
    try {
      const { page } = app;
      expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
      expect(await page.locator('#predicted-class').textContent()).toBe('可能为 NQO1 高表达');
      expect(await page.locator('#probability-heading').textContent()).toBe('NQO1 高表达概率');
      expect(await page.locator('#probability-value').textContent()).toBe('0.810');
      await screenshot(page, 'result-zh-CN');
    } finally {
      await app.context.close();
    }
  });

  test('pending analysis shows the progress screen', async () => {
    const app = await launchApp({ patient: patientId, appContext: analysisIds.pending!, locale: 'en' });
    try {
      expect(await app.page.getAttribute('main', 'data-screen')).toBe('pending');
      expect(await app.page.locator('main h2').textContent()).toBe('Analysis in progress');
      await screenshot(app.page, 'pending-en');
    } finally {
      await app.context.close();
    }
  });

  test('uncalibrated result shows features without probability', async () => {
    const stored = storedResults.uncalibrated!;
    const app = await launchApp({ patient: patientId, appContext: analysisIds.uncalibrated!, locale: 'en' });
    try {
      const { page } = app;
      expect(await page.getAttribute('main', 'data-screen')).toBe('result');
      expect(await page.locator('#no-probability h2').textContent()).toBe(
        'No probability: the model is not calibrated for this site',
      );
      expect(await page.locator('#probability-value').count()).toBe(0);
      expect(await page.locator('#predicted-class').count()).toBe(0);
      expect(await page.locator('#features tbody tr').count()).toBe(Object.keys(stored.features).length);
      expect(await page.locator('#features td.contribution').count()).toBe(0);
      expect(await page.locator('svg.contribution-chart').count()).toBe(0);
      await screenshot(page, 'uncalibrated-en');
    } finally {
      await app.context.close();
    }
  });

  test('failed analysis shows code and message', async () => {
    const app = await launchApp({ patient: patientId, appContext: analysisIds.failed!, locale: 'zh-CN' });
    try {
      const { page } = app;
      expect(await page.getAttribute('main', 'data-screen')).toBe('failed');
      expect(await page.locator('main h2').textContent()).toBe('分析失败');
      expect(await page.locator('main .screen p').first().textContent()).toContain(FAILURE.code);
      expect(await page.locator('.failure-message').textContent()).toBe(FAILURE.message);
      await screenshot(page, 'failed-zh-CN');
    } finally {
      await app.context.close();
    }
  });
  describe('Record in chart', () => {
    /** A study of its own, so that recording it changes no other test's result. */
    const RECORD_STUDY_UID = '2.25.7005';
    const recordResult = calibratedResult({
      probability: 0.66,
      provenance: {
        ...calibratedResult().provenance,
        studyInstanceUid: RECORD_STUDY_UID,
        seriesSelection: SERIES_SELECTION,
      },
    });
    let practitioner: string;
    /** A second clinician, whose record amends the first one's. */
    let secondPractitioner: string;
    let recordAnalysisId: string;
    let preliminaryId: string;

    beforeAll(async () => {
      const created = await fhir.repository.createResource<Practitioner>({
        resourceType: 'Practitioner',
        name: [{ given: ['Wei'], family: 'Zhang' }],
      });
      practitioner = `Practitioner/${created.id}`;
      const second = await fhir.repository.createResource<Practitioner>({
        resourceType: 'Practitioner',
        name: [{ given: ['Na'], family: 'Li' }],
      });
      secondPractitioner = `Practitioner/${second.id}`;
      const imagingStudyId = await createImagingStudy(fhir, {
        studyInstanceUid: RECORD_STUDY_UID,
        patientId,
      });
      // The service's own write-back, as after an analysis: the chart contains a preliminary Observation.
      const written = await new FhirWriteBack({
        baseUrl: fhir.baseUrl,
        allowlist: [fhir.baseUrl],
        timeoutMs: 5_000,
      }).write({
        result: recordResult,
        patientId,
        imagingStudyId,
        studyInstanceUid: RECORD_STUDY_UID,
      });
      preliminaryId = written.observationId;

      // A second connection to the service's SQLite file (WAL mode) adds the row while the service runs.
      const store = new SqliteResultStore(sqlitePath);
      try {
        const job = studyJob(modelCard, { studyInstanceUid: RECORD_STUDY_UID, imagingStudyId, patientId });
        await store.insertPending(job);
        await store.markDone(job, recordResult, preliminaryId);
        recordAnalysisId = (await store.getResult(job))!.id;
      } finally {
        await store.close();
      }
    });

    async function recordObservations(): Promise<Observation[]> {
      const all = await fhir.repository.searchResources<Observation>({ resourceType: 'Observation' });
      return all.filter((observation) =>
        observation.identifier?.some((identifier) => identifier.value?.startsWith(`${RECORD_STUDY_UID}:`)),
      );
    }

    /** Launches the app on the analysis of this block as the signed-in clinician. */
    function launchAsClinician(locale: 'en' | 'zh-CN', fhirUser = practitioner): Promise<OpenedApp> {
      return launchApp({ patient: patientId, appContext: recordAnalysisId, locale, fhirUser });
    }

    async function confirmRecord(page: Page): Promise<void> {
      await page.click('#chart-record-open');
      await page.waitForSelector('#chart-record-dialog[open]');
      await page.click('#chart-record-confirm');
      await page.waitForSelector('#chart-record-notice[data-outcome]');
    }

    test('a confirmed record turns the preliminary Observation final in place, naming the clinician', async () => {
      const app = await launchAsClinician('en');
      try {
        const { page } = app;
        expect(await page.locator('#chart-record-status').textContent()).toContain(
          'No clinician has recorded',
        );

        // The dialog states what is written; Cancel writes nothing.
        await page.click('#chart-record-open');
        await page.waitForSelector('#chart-record-dialog[open]');
        expect(await page.locator('#chart-record-dialog-body').textContent()).toContain('Probability 0.660');
        expect(await page.locator('#chart-record-dialog-body').textContent()).toContain(
          'Arterial phase 1.25 mm (#4)',
        );
        expect(await page.evaluate(() => document.activeElement?.id)).toBe('chart-record-cancel');
        await screenshot(page, 'record-dialog-en');
        await page.keyboard.press('Escape');
        expect(await page.locator('#chart-record-dialog[open]').count()).toBe(0);
        expect((await recordObservations()).map((observation) => observation.status)).toEqual([
          'preliminary',
        ]);

        await confirmRecord(page);

        expect(await page.getAttribute('#chart-record-notice', 'data-outcome')).toBe('recorded');
        expect(await page.locator('#chart-record-status').textContent()).toContain(
          'Recorded as final in the chart by Wei Zhang',
        );
        const observations = await recordObservations();
        expect(observations).toHaveLength(1);
        expect(observations[0]!.id).toBe(preliminaryId);
        expect(observations[0]!.status).toBe('final');
        expect(observations[0]!.valueQuantity?.value).toBe(0.66);
        expect(observations[0]!.performer).toEqual([{ reference: practitioner, display: 'Wei Zhang' }]);
        const provenances = await fhir.repository.searchResources<Provenance>({ resourceType: 'Provenance' });
        const review = provenances.filter(
          (provenance) => provenance.agent[0]?.who.reference === practitioner,
        );
        expect(review).toHaveLength(1);
        expect(review[0]!.target[0]!.reference).toBe(
          `Observation/${preliminaryId}/_history/${observations[0]!.meta!.versionId}`,
        );
        await screenshot(page, 'record-done-en');
      } finally {
        await app.context.close();
      }
    });

    test('a later record in zh-CN amends the chart and still keeps one Observation', async () => {
      const app = await launchAsClinician('zh-CN', secondPractitioner);
      try {
        const { page } = app;
        expect(await page.locator('#chart-record-heading').textContent()).toBe('记入病历');
        expect(await page.locator('#chart-record-status').textContent()).toContain('Wei Zhang');
        expect(await page.locator('#chart-record-status').textContent()).toContain(
          '已将其作为最终结果记入病历',
        );
        expect(await page.locator('#chart-record-open').textContent()).toBe('修订病历记录…');

        await page.click('#chart-record-open');
        await page.waitForSelector('#chart-record-dialog[open]');
        expect(await page.locator('#chart-record-dialog-amend').textContent()).toContain('已修订');
        await screenshot(page, 'record-dialog-zh-CN');
        await page.click('#chart-record-confirm');
        await page.waitForSelector('#chart-record-notice[data-outcome]');

        expect(await page.locator('#chart-record-notice').textContent()).toBe('病历记录已修订。');
        const observations = await recordObservations();
        expect(observations.map((observation) => [observation.id, observation.status])).toEqual([
          [preliminaryId, 'amended'],
        ]);
      } finally {
        await app.context.close();
      }
    });

    test('text contrast meets WCAG AA on the result, the dialog and the screens', async () => {
      const cases: [SmartLaunchContext, string][] = [
        [{ patient: patientId, appContext: recordAnalysisId, locale: 'en', fhirUser: practitioner }, 'body'],
        [{ patient: patientId, appContext: analysisIds.uncalibrated!, locale: 'zh-CN' }, 'body'],
        [{ patient: patientId, appContext: analysisIds.failed!, locale: 'en' }, 'body'],
        [{ patient: patientId, appContext: analysisIds.pending!, locale: 'zh-CN' }, 'body'],
      ];
      for (const [context, root] of cases) {
        const app = await launchApp(context);
        try {
          expect(await textContrastFailures(app.page, root)).toEqual([]);
          if (context.fhirUser !== undefined) {
            // The check itself finds low contrast: #999 on white is 2.85:1.
            await app.page.evaluate(() => {
              const probe = document.createElement('p');
              probe.id = 'contrast-probe';
              probe.style.color = '#999999';
              probe.textContent = 'light grey probe';
              document.body.append(probe);
            });
            const probed = await textContrastFailures(app.page, 'body');
            expect(probed.map((failure) => [failure.text, failure.ratio.toFixed(2)])).toEqual([
              ['light grey probe', '2.85'],
            ]);
            await app.page.evaluate(() => document.getElementById('contrast-probe')?.remove());

            await app.page.click('#chart-record-open');
            await app.page.waitForSelector('#chart-record-dialog[open]');
            expect(await textContrastFailures(app.page, '#chart-record-dialog')).toEqual([]);
          }
        } finally {
          await app.context.close();
        }
      }
    });

    test('the record works from the keyboard alone', async () => {
      const app = await launchAsClinician('en');
      try {
        const { page } = app;
        const versionBefore = (await recordObservations())[0]!.meta!.versionId;
        await page.focus('#chart-record-open');
        await page.keyboard.press('Enter');
        await page.waitForSelector('#chart-record-dialog[open]');
        expect(await page.evaluate(() => document.activeElement?.id)).toBe('chart-record-cancel');

        await page.keyboard.press('Tab');
        expect(await page.evaluate(() => document.activeElement?.id)).toBe('chart-record-confirm');
        await page.keyboard.press('Enter');
        await page.waitForSelector('#chart-record-notice[data-outcome]');

        expect(await page.getAttribute('#chart-record-notice', 'data-outcome')).toBe('recorded');
        expect(await page.evaluate(() => document.activeElement?.id)).toBe('chart-record-open');
        const observations = await recordObservations();
        expect(observations).toHaveLength(1);
        expect(observations[0]!.meta!.versionId).not.toBe(versionBefore);
      } finally {
        await app.context.close();
      }
    });

    test('refused write and blocked records', async () => {
      const refused = await launchAsClinician('en');
      try {
        const before = (await recordObservations())[0]!.meta!.versionId;
        // The service's response when the EHR rejects the clinician's write (see test/server/chart-record.test.ts).
        await refused.page.route('**/record?*', (route) =>
          route.fulfill({
            status: 403,
            contentType: 'application/fhir+json',
            body: JSON.stringify({
              resourceType: 'OperationOutcome',
              issue: [
                {
                  severity: 'error',
                  code: 'forbidden',
                  details: { coding: [{ code: 'ERR_CHART_WRITE_REFUSED' }] },
                },
              ],
            }),
          }),
        );
        await confirmRecord(refused.page);
        expect(await refused.page.getAttribute('#chart-record-notice', 'data-outcome')).toBe('failed');
        expect(await refused.page.locator('#chart-record-notice').textContent()).toContain(
          'The EHR refused the write',
        );
        expect((await recordObservations())[0]!.meta!.versionId).toBe(before);
        await screenshot(refused.page, 'record-refused-en');
      } finally {
        await refused.context.close();
      }

      const uncalibrated = await launchApp({
        patient: patientId,
        appContext: analysisIds.uncalibrated!,
        locale: 'en',
        fhirUser: practitioner,
      });
      try {
        expect(await uncalibrated.page.locator('#chart-record-open').count()).toBe(0);
        expect(await uncalibrated.page.locator('#chart-record-blocked').textContent()).toContain(
          'no probability',
        );
      } finally {
        await uncalibrated.context.close();
      }

      const anonymous = await launchApp({ patient: patientId, appContext: recordAnalysisId, locale: 'en' });
      try {
        expect(await anonymous.page.locator('#chart-record-open').count()).toBe(0);
        expect(await anonymous.page.locator('#chart-record-blocked').textContent()).toContain(
          'Only a clinician',
        );
      } finally {
        await anonymous.context.close();
      }
    });
  });
});
