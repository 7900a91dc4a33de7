/**
 * The SMART app in headless Chromium, launched the way an EHR launches it from the CDS card's smart
 * link: `launch.html?iss=<FHIR base>&launch=<id>`, then the mock SMART authorization server
 * (`test/support/smart-auth-server.ts`), the token exchange, and `index.html` reading the real
 * service, which serves the app and its API from a result store filled by this test.
 *
 * The service runs for real; the only fakes are the mock authorization server and the medplum FHIR
 * server. The tests that read `GET /api/analyses/{id}` or `GET /api/model-card` skip with a warning
 * while the service responds to them with 501 or 404, and run by themselves once the routes exist.
 *
 * Screenshots of every screen are written to `test-artifacts/screenshots/`.
 *
 * Needs Chromium at /usr/bin/chromium. Without it the suite is skipped with a warning, except under
 * `CI=true`, where it fails.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { ImagingStudy, Observation, Patient, Practitioner, Provenance } from '@medplum/fhirtypes';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { Nqo1Error } from '../../src/errors.js';
import { FhirWriteBack } from '../../src/fhir/write-back.js';
import { renderRoiOverlay, type RoiOverlay } from '../../src/imaging/roi-overlay.js';
import { ResultStore } from '../../src/jobs/result-store.js';
import type { AnalysisFailure, AnalysisJob, StoredAnalysis } from '../../src/jobs/types.js';
import { BR_RO_CARD_PATH, loadModelCard, type ModelCard } from '../../src/model/card.js';
import type { ScoreResult, SeriesCandidate, SeriesSelection } from '../../src/model/result.js';
import { packagePath } from '../../src/paths.js';
import { parseConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { failureText } from '../../smart-app/src/failure-text.js';
import { SMART_SCOPE, STANDALONE_SCOPE } from '../../smart-app/src/launch-scope.js';
import { messagesFor } from '../../smart-app/src/messages.js';
import { axisAlignedGrid } from '../support/grid.js';
import { chromiumSkipReason, launchChromium } from '../support/chromium.js';
import { startFhirServer, type FhirServerHandle } from '../support/fhir-server.js';
import { textContrastFailures } from '../support/text-contrast.js';
import { captureLogs } from '../support/log-capture.js';
import { startLoopbackListener, type LoopbackListener } from '../support/loopback-listener.js';
import { findFreeLoopbackPort } from '../support/orthanc.js';
import { SAMPLE_FEATURES, calibratedResult, uncalibratedResult } from '../support/score-result.js';
import { buildSmartApp } from '../support/smart-app-build.js';
import {
  startSmartAuthServer,
  type SmartAuthServer,
  type SmartLaunchContext,
} from '../support/smart-auth-server.js';

const skipReason = chromiumSkipReason('the SMART app browser tests');

const CLIENT_ID = 'nqo1-cds-test';
const SCREENSHOTS = packagePath('test-artifacts', 'screenshots');

/** Study UIDs of the four stored analyses. */
const STUDIES = {
  done: '2.25.7001',
  uncalibrated: '2.25.7002',
  pending: '2.25.7003',
  failed: '2.25.7004',
} as const;

/** One different term per feature, so a value shown in the wrong row fails the test. */
const DISTINCT_CONTRIBUTIONS: Readonly<Record<string, number>> = Object.fromEntries(
  Object.keys(SAMPLE_FEATURES).map((name, index) => [name, 0.125 * (index + 1) - 0.4]),
);

/** Viewer link template; the test only reads the link, so nothing listens there. */
const VIEWER_URL_TEMPLATE = 'http://127.0.0.1:9/viewer?study={{studyInstanceUid}}';

/** Why the stored results used their CT series. */
const SERIES_SELECTION: SeriesSelection = {
  reason: 'arterial-phase-description',
  seriesDescription: 'Arterial phase 1.25 mm',
  seriesNumber: 4,
  instanceCount: 212,
  ctSeriesCount: 3,
  arterialCount: 1,
};

/** Failure stored for the `failed` study. */
const FAILURE: AnalysisFailure = {
  code: 'ERR_SEGMENTATION_MISSING',
  message: 'Study 2.25.7004 has no SEG or RTSTRUCT that references CT series 2.25.7004.1.',
};

/**
 * Draws the region pictures of a phantom with the real renderer. The tumour covers 2 × 2 voxels on
 * slice 1 and 4 × 4 voxels on slice 2 of a 16 × 16 × 4 grid, so the app starts at slice 2.
 */
function phantomOverlay(): RoiOverlay {
  const grid = axisAlignedGrid([16, 16, 4]);
  const tumour = new Uint8Array(16 * 16 * 4);
  for (const j of [7, 8]) for (const i of [7, 8]) tumour[i + 16 * (j + 16 * 1)] = 1;
  for (let j = 6; j <= 9; j++) for (let i = 6; i <= 9; i++) tumour[i + 16 * (j + 16 * 2)] = 1;
  const mask = { grid, voxels: tumour };
  return renderRoiOverlay({ grid, voxels: new Float64Array(16 * 16 * 4).fill(40) }, mask, mask, {
    marginMm: 2,
  });
}

/**
 * Compiles the app into dist/smart-app, so the test never serves an outdated build, and copies the
 * fhirclient build there when `npm run build` has not. An existing copy is left alone because
 * other test files may be reading it.
 */
function buildApp(): void {
  const require = createRequire(import.meta.url);
  const tsc = require.resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', packagePath('smart-app', 'tsconfig.json')], {
    stdio: 'inherit',
  });
  if (!existsSync(packagePath('dist', 'smart-app', 'vendor', 'fhir-client.js'))) {
    execFileSync(process.execPath, ['--import', 'tsx', packagePath('scripts', 'smart-app-vendor.ts')], {
      stdio: 'inherit',
    });
  }
}

describe.skipIf(skipReason !== null)('SMART app', () => {
  const logs = captureLogs();
  let workDir: string;
  let fhir: FhirServerHandle;
  let auth: SmartAuthServer;
  let service: RunningServer;
  let browser: Browser;
  /** Stops what `beforeAll` started, in reverse order, also after a failed start. */
  const cleanups: (() => Promise<void>)[] = [];
  let modelCard: ModelCard;
  let patientId: string;
  /** Row ids of the stored analyses, by study. */
  const analysisIds: Partial<Record<keyof typeof STUDIES, string>> = {};
  const storedResults: Partial<Record<keyof typeof STUDIES, ScoreResult>> = {};
  /** Releases the analysis the queue runs for the pending row, so the service can stop. */
  let releaseAnalysis: (error: Error) => void = () => undefined;
  /** Status of `GET /api/analyses/{id}` and `GET /api/model-card` before the tests ran. */

  beforeAll(async () => {
    buildApp();
    workDir = await mkdtemp(path.join(tmpdir(), 'nqo1-smart-app-'));
    cleanups.push(() => rm(workDir, { recursive: true, force: true }));
    await mkdir(SCREENSHOTS, { recursive: true });
    modelCard = await loadModelCard(BR_RO_CARD_PATH);

    const servicePort = await findFreeLoopbackPort();
    const serviceUrl = `http://127.0.0.1:${servicePort}`;
    fhir = await startFhirServer({ smartConfiguration: () => auth.smartConfiguration() });
    cleanups.push(() => fhir.close());
    auth = await startSmartAuthServer({
      fhirBaseUrl: fhir.baseUrl,
      clientId: CLIENT_ID,
      redirectUri: `${serviceUrl}/smart-app/index.html`,
    });
    cleanups.push(() => auth.close());

    const patient = await fhir.repository.createResource<Patient>({ resourceType: 'Patient' });
    patientId = patient.id!;
    const sqlitePath = path.join(workDir, 'results.sqlite');
    await storeAnalyses(sqlitePath);

    const config = parseConfig({
      server: { host: '127.0.0.1', port: servicePort, publicUrl: serviceUrl },
      dicomweb: {
        baseUrl: 'http://127.0.0.1:9/dicom-web',
        allowedBaseUrls: ['http://127.0.0.1:9/dicom-web'],
      },
      fhir: { baseUrl: fhir.baseUrl, allowedBaseUrls: [fhir.baseUrl] },
      store: { sqlitePath },
      // The app's connect-src must allow the token endpoint, which is on another origin than FHIR.
      smartApp: { clientId: CLIENT_ID, authorizationServerOrigins: [auth.origin] },
      viewerUrlTemplate: VIEWER_URL_TEMPLATE,
    });
    service = await startServer(config, {
      // The queue claims the pending row; its analysis waits until the service stops.
      analyse: () =>
        new Promise((_resolve, reject) => {
          releaseAnalysis = reject;
        }),
      logger: logs.logger,
      modelCard,
    });
    cleanups.push(async () => {
      releaseAnalysis(new Error('the test ended'));
      await service.close();
    });

    browser = await launchChromium();
    cleanups.push(() => browser.close());
  });

  afterAll(async () => {
    for (let i = cleanups.length - 1; i >= 0; i--) await cleanups[i]!();
  });

  /** Inserts a calibrated and an uncalibrated result, a pending and a failed analysis, and keeps their ids. */
  async function storeAnalyses(sqlitePath: string): Promise<void> {
    const store = new ResultStore(sqlitePath);
    try {
      for (const key of Object.keys(STUDIES) as (keyof typeof STUDIES)[]) {
        const studyInstanceUid = STUDIES[key];
        const study = await fhir.repository.createResource<ImagingStudy>({
          resourceType: 'ImagingStudy',
          status: 'available',
          subject: { reference: `Patient/${patientId}` },
          identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${studyInstanceUid}` }],
        });
        const job: AnalysisJob = {
          studyInstanceUid,
          imagingStudyId: study.id,
          patientId,
          modelId: modelCard.id,
          modelVersion: modelCard.version,
        };
        store.insertPending(job);

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
        if (result !== undefined) {
          store.markDone(job, result, `observation-${key}`);
          storedResults[key] = result;
        }
        if (key === 'failed') store.markFailed(job, FAILURE);
        analysisIds[key] = store.getResult(job)!.id;
        if (key === 'done') store.overlays.save(analysisIds[key], phantomOverlay());
      }
    } finally {
      store.close();
    }
  }

  interface LaunchedApp {
    readonly page: Page;
    readonly context: BrowserContext;
    /** Requests the page sent to the service's API, in order. */
    readonly apiRequests: Request[];
  }

  /** Opens the launch page as the EHR does and waits until the app shows its final screen. */
  async function launchApp(
    context: SmartLaunchContext,
    browserLocale = 'en-US',
    faults: { readonly failOverlayList?: boolean } = {},
  ): Promise<LaunchedApp> {
    const browserContext = await browser.newContext({
      viewport: { width: 1024, height: 768 },
      locale: browserLocale,
    });
    const page = await browserContext.newPage();
    if (faults.failOverlayList === true) {
      // A 500 as a broken picture store would return it, without breaking the store.
      await page.route('**/overlay?*', (route) => route.fulfill({ status: 500, body: '' }));
    }
    const apiRequests: Request[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/api/')) apiRequests.push(request);
    });

    const launch = auth.registerLaunch(context);
    const launchUrl = `${service.url}/smart-app/launch.html?iss=${encodeURIComponent(fhir.baseUrl)}&launch=${launch}`;
    await page.goto(launchUrl);
    await page.waitForURL(/\/smart-app\/index\.html/);
    await page.waitForSelector('main[data-screen]:not([data-screen="loading"])');
    return { page, context: browserContext, apiRequests };
  }

  async function screenshot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
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
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    try {
      const page = await context.newPage();
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
    let recordAnalysisId: string;
    let preliminaryId: string;

    beforeAll(async () => {
      const created = await fhir.repository.createResource<Practitioner>({
        resourceType: 'Practitioner',
        name: [{ given: ['Wei'], family: 'Zhang' }],
      });
      practitioner = `Practitioner/${created.id}`;
      const study = await fhir.repository.createResource<ImagingStudy>({
        resourceType: 'ImagingStudy',
        status: 'available',
        subject: { reference: `Patient/${patientId}` },
        identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${RECORD_STUDY_UID}` }],
      });
      // The service's own write-back, as after an analysis: the chart holds a preliminary Observation.
      const written = await new FhirWriteBack({
        baseUrl: fhir.baseUrl,
        allowlist: [fhir.baseUrl],
        timeoutMs: 5_000,
      }).write({
        result: recordResult,
        patientId,
        imagingStudyId: study.id,
        studyInstanceUid: RECORD_STUDY_UID,
      });
      preliminaryId = written.observationId;

      // A second connection to the service's SQLite file (WAL mode) adds the row while the service runs.
      const store = new ResultStore(path.join(workDir, 'results.sqlite'));
      try {
        const job: AnalysisJob = {
          studyInstanceUid: RECORD_STUDY_UID,
          imagingStudyId: study.id,
          patientId,
          modelId: modelCard.id,
          modelVersion: modelCard.version,
        };
        store.insertPending(job);
        store.markDone(job, recordResult, preliminaryId);
        recordAnalysisId = store.getResult(job)!.id;
      } finally {
        store.close();
      }
    });

    async function recordObservations(): Promise<Observation[]> {
      const all = await fhir.repository.searchResources<Observation>({ resourceType: 'Observation' });
      return all.filter((observation) =>
        observation.identifier?.some((identifier) => identifier.value?.startsWith(`${RECORD_STUDY_UID}:`)),
      );
    }

    async function confirmRecord(page: Page): Promise<void> {
      await page.click('#chart-record-open');
      await page.waitForSelector('#chart-record-dialog[open]');
      await page.click('#chart-record-confirm');
      await page.waitForSelector('#chart-record-notice[data-outcome]');
    }

    test('a confirmed record turns the preliminary Observation final in place, naming the clinician', async () => {
      const app = await launchApp({
        patient: patientId,
        appContext: recordAnalysisId,
        locale: 'en',
        fhirUser: practitioner,
      });
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
      const app = await launchApp({
        patient: patientId,
        appContext: recordAnalysisId,
        locale: 'zh-CN',
        fhirUser: practitioner,
      });
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
      const app = await launchApp({
        patient: patientId,
        appContext: recordAnalysisId,
        locale: 'en',
        fhirUser: practitioner,
      });
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

    test('a refused write shows why, and a result without probability or a launch without a clinician offers no record', async () => {
      const refused = await launchApp({
        patient: patientId,
        appContext: recordAnalysisId,
        locale: 'en',
        fhirUser: practitioner,
      });
      try {
        const before = (await recordObservations())[0]!.meta!.versionId;
        // The service's answer when the EHR refuses the clinician's write (see test/server/chart-record.test.ts).
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
  let workDir: string;
  let sqlitePath: string;
  let fhir: FhirServerHandle;
  let auth: SmartAuthServer;
  let service: RunningServer;
  let browser: Browser;
  const cleanups: (() => Promise<void>)[] = [];
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
    buildApp();
    workDir = await mkdtemp(path.join(tmpdir(), 'nqo1-smart-series-'));
    cleanups.push(() => rm(workDir, { recursive: true, force: true }));
    await mkdir(SCREENSHOTS, { recursive: true });
    modelCard = await loadModelCard(BR_RO_CARD_PATH);

    const servicePort = await findFreeLoopbackPort();
    const serviceUrl = `http://127.0.0.1:${servicePort}`;
    fhir = await startFhirServer({ smartConfiguration: () => auth.smartConfiguration() });
    cleanups.push(() => fhir.close());
    auth = await startSmartAuthServer({
      fhirBaseUrl: fhir.baseUrl,
      clientId: CLIENT_ID,
      redirectUri: `${serviceUrl}/smart-app/index.html`,
    });
    cleanups.push(() => auth.close());

    const patient = await fhir.repository.createResource<Patient>({ resourceType: 'Patient' });
    patientId = patient.id!;
    sqlitePath = path.join(workDir, 'results.sqlite');
    await storeResults();

    const config = parseConfig({
      server: { host: '127.0.0.1', port: servicePort, publicUrl: serviceUrl },
      dicomweb: {
        baseUrl: 'http://127.0.0.1:9/dicom-web',
        allowedBaseUrls: ['http://127.0.0.1:9/dicom-web'],
      },
      fhir: { baseUrl: fhir.baseUrl, allowedBaseUrls: [fhir.baseUrl] },
      store: { sqlitePath },
      smartApp: { clientId: CLIENT_ID, authorizationServerOrigins: [auth.origin] },
    });
    service = await startServer(config, { analyse: analyseRequested, logger: logs.logger, modelCard });
    cleanups.push(async () => {
      releaseRanked();
      await service.close();
    });

    browser = await launchChromium();
    cleanups.push(() => browser.close());
  });

  afterAll(async () => {
    for (let i = cleanups.length - 1; i >= 0; i--) await cleanups[i]!();
  });

  /**
   * Stores the automatic result of a study with three CT series and scaled values, and the result
   * of an older study stored before candidates and scaled values were recorded.
   */
  async function storeResults(): Promise<void> {
    const store = new ResultStore(sqlitePath);
    try {
      for (const key of Object.keys(CHOICE_STUDIES) as (keyof typeof CHOICE_STUDIES)[]) {
        const studyInstanceUid = CHOICE_STUDIES[key];
        const study = await fhir.repository.createResource<ImagingStudy>({
          resourceType: 'ImagingStudy',
          status: 'available',
          subject: { reference: `Patient/${patientId}` },
          identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${studyInstanceUid}` }],
        });
        const job: AnalysisJob = {
          studyInstanceUid,
          imagingStudyId: study.id,
          patientId,
          modelId: modelCard.id,
          modelVersion: modelCard.version,
        };
        store.insertPending(job);

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
        store.markDone(job, result, `observation-${key}`);
        storedResults[key] = result;
        analysisIds[key] = store.getResult(job)!.id;
        imagingStudyIds[key] = study.id;
      }
    } finally {
      store.close();
    }
  }

  /** Opens the launch page as the EHR does and waits until the app shows its final screen. */
  async function launchApp(
    analysis: keyof typeof CHOICE_STUDIES,
    locale: 'en' | 'zh-CN',
  ): Promise<{ page: Page; context: BrowserContext }> {
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, locale });
    const page = await context.newPage();
    const launch = auth.registerLaunch({ patient: patientId, appContext: analysisIds[analysis]!, locale });
    await page.goto(
      `${service.url}/smart-app/launch.html?iss=${encodeURIComponent(fhir.baseUrl)}&launch=${launch}`,
    );
    await page.waitForURL(/\/smart-app\/index\.html/);
    await page.waitForSelector('main[data-screen]:not([data-screen="loading"])');
    return { page, context };
  }

  async function screenshot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  /** Reads the stored row of a requested series through a second connection to the service's store. */
  function storedRequest(seriesInstanceUid: string): StoredAnalysis | undefined {
    const store = new ResultStore(sqlitePath);
    try {
      return store.getResult({
        studyInstanceUid: CHOICE_STUDIES.automatic,
        seriesInstanceUid,
        modelId: modelCard.id,
        modelVersion: modelCard.version,
      });
    } finally {
      store.close();
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
      const row = storedRequest(ranked.seriesInstanceUid);
      expect(row?.status === 'pending' || row?.status === 'running').toBe(true);
      expect(row?.job.imagingStudyId).toBe(imagingStudyIds.automatic);
      expect(row?.job.patientId).toBe(patientId);
      expect(analysedJobs.map((job) => job.seriesInstanceUid)).toEqual([ranked.seriesInstanceUid]);

      releaseRanked();
      await page.waitForSelector('main[data-screen="result"]', { timeout: 15_000 });
      expect(storedRequest(ranked.seriesInstanceUid)?.status).toBe('done');
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
      expect(storedRequest(delayed.seriesInstanceUid)?.status).toBe('failed');
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
      expect(storedRequest(excluded.seriesInstanceUid)?.status).toBe('failed');
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

/**
 * Launches without the card's appContext: standalone (no `launch`, the authorization server picks the
 * patient), an ImagingStudy in `fhirContext`, and a viewer button's `studyInstanceUid`. The app finds
 * the analysis with `GET /api/analyses`. Patient A has two analysed CT studies with different
 * probabilities, so a test fails when the app shows the wrong one, plus a running and an unanalysed
 * study. Patient B has a CT study without any analysis.
 */
describe.skipIf(skipReason !== null)('SMART app launch without appContext', () => {
  const logs = captureLogs();
  let fhir: FhirServerHandle;
  let auth: SmartAuthServer;
  let service: RunningServer;
  let browser: Browser;
  const cleanups: (() => Promise<void>)[] = [];
  let releaseAnalysis: (error: Error) => void = () => undefined;
  let patientA: string;
  let patientB: string;

  /** Patient A's studies: UID, FHIR `started`, and the stored probability (null: running, undefined: none). */
  const STUDIES_A = {
    older: { uid: '2.25.7101', started: '2026-03-01T09:00:00Z', probability: 0.62 },
    newest: { uid: '2.25.7102', started: '2026-11-20T14:30:00Z', probability: 0.33 },
    running: { uid: '2.25.7103', started: '2025-06-01T10:00:00Z', probability: null },
    unanalysed: { uid: '2.25.7104', started: '2024-01-15T08:00:00Z', probability: undefined },
  } as const;
  const STUDY_B_UID = '2.25.7201';
  const imagingStudyIds: Partial<Record<keyof typeof STUDIES_A, string>> = {};
  const analysisIds: Partial<Record<keyof typeof STUDIES_A, string>> = {};

  beforeAll(async () => {
    buildSmartApp();
    const workDir = await mkdtemp(path.join(tmpdir(), 'nqo1-smart-launch-'));
    cleanups.push(() => rm(workDir, { recursive: true, force: true }));
    await mkdir(SCREENSHOTS, { recursive: true });
    const modelCard = await loadModelCard(BR_RO_CARD_PATH);

    const servicePort = await findFreeLoopbackPort();
    const serviceUrl = `http://127.0.0.1:${servicePort}`;
    fhir = await startFhirServer({ smartConfiguration: () => auth.smartConfiguration() });
    cleanups.push(() => fhir.close());
    auth = await startSmartAuthServer({
      fhirBaseUrl: fhir.baseUrl,
      clientId: CLIENT_ID,
      redirectUri: `${serviceUrl}/smart-app/index.html`,
    });
    cleanups.push(() => auth.close());

    patientA = (await fhir.repository.createResource<Patient>({ resourceType: 'Patient' })).id!;
    patientB = (await fhir.repository.createResource<Patient>({ resourceType: 'Patient' })).id!;
    const sqlitePath = path.join(workDir, 'results.sqlite');
    const store = new ResultStore(sqlitePath);
    try {
      for (const key of Object.keys(STUDIES_A) as (keyof typeof STUDIES_A)[]) {
        const { uid, started, probability } = STUDIES_A[key];
        const imagingStudyId = await createCtStudy(uid, patientA, started);
        imagingStudyIds[key] = imagingStudyId;
        if (probability === undefined) continue;

        const job: AnalysisJob = {
          studyInstanceUid: uid,
          imagingStudyId,
          patientId: patientA,
          modelId: modelCard.id,
          modelVersion: modelCard.version,
        };
        store.insertPending(job);
        if (probability !== null) {
          const provenance = { ...calibratedResult().provenance, studyInstanceUid: uid };
          const high = probability >= 0.404;
          store.markDone(job, calibratedResult({ probability, class: high ? 'high' : 'low', provenance }));
        }
        analysisIds[key] = store.getResult(job)!.id;
      }
      await createCtStudy(STUDY_B_UID, patientB, '2026-10-01T08:00:00Z');
    } finally {
      store.close();
    }

    const config = parseConfig({
      server: { host: '127.0.0.1', port: servicePort, publicUrl: serviceUrl },
      dicomweb: {
        baseUrl: 'http://127.0.0.1:9/dicom-web',
        allowedBaseUrls: ['http://127.0.0.1:9/dicom-web'],
      },
      fhir: { baseUrl: fhir.baseUrl, allowedBaseUrls: [fhir.baseUrl] },
      store: { sqlitePath },
      smartApp: {
        clientId: CLIENT_ID,
        standaloneFhirBaseUrl: fhir.baseUrl,
        authorizationServerOrigins: [auth.origin],
      },
    });
    service = await startServer(config, {
      // The queue claims the running study's row; its analysis waits until the service stops.
      analyse: () =>
        new Promise((_resolve, reject) => {
          releaseAnalysis = reject;
        }),
      logger: logs.logger,
      modelCard,
    });
    cleanups.push(async () => {
      releaseAnalysis(new Error('the test ended'));
      await service.close();
    });

    browser = await launchChromium();
    cleanups.push(() => browser.close());
  });

  afterAll(async () => {
    for (let i = cleanups.length - 1; i >= 0; i--) await cleanups[i]!();
  });

  /** Creates a CT ImagingStudy of `patient` and returns its logical id. */
  async function createCtStudy(uid: string, patient: string, started: string): Promise<string> {
    const study = await fhir.repository.createResource<ImagingStudy>({
      resourceType: 'ImagingStudy',
      status: 'available',
      subject: { reference: `Patient/${patient}` },
      identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${uid}` }],
      started,
      series: [
        { uid: `${uid}.1`, modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' } },
      ],
    });
    return study.id;
  }

  interface OpenedApp {
    readonly page: Page;
    readonly context: BrowserContext;
    readonly apiRequests: Request[];
  }

  /**
   * Opens `launch.html` with `query` and waits for the screen named by `screen`, or for any final
   * screen of `index.html` when it is undefined. `configJson` replaces the service's config.json.
   */
  async function openApp(
    query: string,
    options: { browserLocale?: string; screen?: string; configJson?: Record<string, unknown> } = {},
  ): Promise<OpenedApp> {
    const context = await browser.newContext({
      viewport: { width: 1024, height: 768 },
      locale: options.browserLocale ?? 'en-US',
    });
    const page = await context.newPage();
    if (options.configJson !== undefined) {
      const body = options.configJson;
      await page.route('**/smart-app/config.json', (route) => route.fulfill({ json: body }));
    }
    const apiRequests: Request[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/api/')) apiRequests.push(request);
    });

    await page.goto(`${service.url}/smart-app/launch.html${query}`);
    if (options.screen !== undefined) {
      await page.waitForSelector(`main[data-screen="${options.screen}"]`);
    } else {
      await page.waitForURL(/\/smart-app\/index\.html/);
      await page.waitForSelector('main[data-screen]:not([data-screen="loading"])');
    }
    return { page, context, apiRequests };
  }

  /** Query of an EHR launch of `launchContext`, with extra query parameters appended. */
  function ehrLaunch(launchContext: SmartLaunchContext, extra = ''): string {
    return `?iss=${encodeURIComponent(fhir.baseUrl)}&launch=${auth.registerLaunch(launchContext)}${extra}`;
  }

  /** Query parameters of the app's `GET /api/analyses` request; fails when it sent none. */
  function searchQuery(app: OpenedApp): URLSearchParams {
    const search = app.apiRequests.find((request) => new URL(request.url()).pathname === '/api/analyses');
    expect(search).toBeDefined();
    return new URL(search!.url()).searchParams;
  }

  /** Path of the app's `GET /api/analyses/{id}` request, or undefined. */
  function analysisReadPath(app: OpenedApp): string | undefined {
    const read = app.apiRequests.find((request) =>
      /^\/api\/analyses\/[^/]+$/.test(new URL(request.url()).pathname),
    );
    return read === undefined ? undefined : new URL(read.url()).pathname;
  }

  async function screenshot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  test('standalone launch shows the newest study', async () => {
    auth.setStandaloneContext({ patient: patientA, locale: 'en' });
    const before = auth.events().length;
    const app = await openApp('');
    try {
      const events = auth.events().slice(before);
      expect(events.map((event) => [event.endpoint, event.accepted])).toEqual([
        ['authorize', true],
        ['token', true],
      ]);
      expect(events[0]!.launch).toBe(false);
      expect(events[0]!.scope).toBe(STANDALONE_SCOPE);
      expect(events[0]!.codeChallengeMethod).toBe('S256');

      const query = searchQuery(app);
      expect(query.get('fhirServer')).toBe(fhir.baseUrl);
      expect(query.get('patient')).toBe(patientA);
      expect(query.has('imagingStudy')).toBe(false);
      expect(query.has('studyInstanceUid')).toBe(false);
      expect(analysisReadPath(app)).toBe(`/api/analyses/${analysisIds.newest!}`);

      expect(await app.page.getAttribute('main', 'data-screen')).toBe('result');
      expect(await app.page.locator('#probability-value').textContent()).toBe('0.330');
      expect(await app.page.locator('#predicted-class').textContent()).toBe('Likely low NQO1 expression');
      await screenshot(app.page, 'standalone-en');
    } finally {
      await app.context.close();
      auth.setStandaloneContext(undefined);
    }
  });

  test('standalone launch with iss only', async () => {
    auth.setStandaloneContext({ patient: patientA, locale: 'en' });
    const before = auth.events().length;
    // Without the configured base, only the iss parameter names the FHIR server.
    const app = await openApp(`?iss=${encodeURIComponent(fhir.baseUrl)}`, {
      configJson: { clientId: CLIENT_ID, fhirBaseUrls: [fhir.baseUrl] },
    });
    try {
      expect(auth.events().slice(before)[0]).toMatchObject({
        endpoint: 'authorize',
        accepted: true,
        launch: false,
      });
      expect(await app.page.locator('#probability-value').textContent()).toBe('0.330');
    } finally {
      await app.context.close();
      auth.setStandaloneContext(undefined);
    }
  });

  test.each([
    ['en-US', 'en', 'Standalone launch is not set up'],
    ['zh-CN', 'zh-CN', '未配置独立启动'],
  ])('standalone launch without a FHIR base (%s)', async (browserLocale, lang, title) => {
    const before = auth.events().length;
    const app = await openApp('', {
      browserLocale,
      screen: 'standaloneNotConfigured',
      configJson: { clientId: CLIENT_ID, fhirBaseUrls: [fhir.baseUrl] },
    });
    try {
      expect(await app.page.getAttribute('html', 'lang')).toBe(lang);
      expect(await app.page.locator('main h2').textContent()).toBe(title);
      const body = await app.page.locator('main p').textContent();
      expect(body).toContain('smartApp.standaloneFhirBaseUrl');
      expect(body).toContain('fhir.allowedBaseUrls');
      expect(auth.events().length).toBe(before);
      expect(app.apiRequests).toEqual([]);
      await screenshot(app.page, `standalone-not-configured-${lang}`);
    } finally {
      await app.context.close();
    }
  });

  test.each([
    [
      'EHR',
      `?iss=${encodeURIComponent('http://127.0.0.1:9/fhir/R4')}&launch=any`,
      'en-US',
      'FHIR server not allowed',
    ],
    [
      'standalone',
      `?iss=${encodeURIComponent('http://127.0.0.1:9/fhir/R4')}`,
      'zh-CN',
      'FHIR 服务器未获允许',
    ],
  ])('%s launch with iss off the allowlist', async (_kind, query, browserLocale, title) => {
    auth.setStandaloneContext({ patient: patientA, locale: 'en' });
    const before = auth.events().length;
    const app = await openApp(query, { browserLocale, screen: 'fhirServerNotAllowed' });
    try {
      expect(await app.page.locator('main h2').textContent()).toBe(title);
      expect(await app.page.locator('main p').textContent()).toContain('fhir.allowedBaseUrls');
      expect(new URL(app.page.url()).pathname).toBe('/smart-app/launch.html');
      expect(auth.events().length).toBe(before);
      expect(app.apiRequests).toEqual([]);
    } finally {
      await app.context.close();
      auth.setStandaloneContext(undefined);
    }
  });

  test('fhirContext ImagingStudy opens that study', async () => {
    const reference = `ImagingStudy/${imagingStudyIds.older!}`;
    const app = await openApp(ehrLaunch({ patient: patientA, fhirContext: [{ reference }], locale: 'en' }));
    try {
      expect(searchQuery(app).get('imagingStudy')).toBe(reference);
      expect(analysisReadPath(app)).toBe(`/api/analyses/${analysisIds.older!}`);
      expect(await app.page.locator('#probability-value').textContent()).toBe('0.620');
      await screenshot(app.page, 'fhir-context-study-en');
    } finally {
      await app.context.close();
    }
  });

  test('fhirContext study identifier opens that study', async () => {
    const fhirContext = [
      {
        type: 'ImagingStudy',
        identifier: { system: 'urn:dicom:uid', value: `urn:oid:${STUDIES_A.older.uid}` },
      },
    ];
    const app = await openApp(ehrLaunch({ patient: patientA, fhirContext, locale: 'en' }));
    try {
      expect(searchQuery(app).get('studyInstanceUid')).toBe(STUDIES_A.older.uid);
      expect(await app.page.locator('#probability-value').textContent()).toBe('0.620');
    } finally {
      await app.context.close();
    }
  });

  test('viewer StudyInstanceUID opens that study', async () => {
    const app = await openApp(
      ehrLaunch({ patient: patientA, locale: 'en' }, `&studyInstanceUid=${STUDIES_A.older.uid}`),
    );
    try {
      const query = searchQuery(app);
      expect(query.get('studyInstanceUid')).toBe(STUDIES_A.older.uid);
      expect(query.has('imagingStudy')).toBe(false);
      expect(analysisReadPath(app)).toBe(`/api/analyses/${analysisIds.older!}`);
      expect(await app.page.locator('#probability-value').textContent()).toBe('0.620');
      await screenshot(app.page, 'viewer-study-uid-en');
    } finally {
      await app.context.close();
    }
  });

  test('viewer study still analysed shows progress', async () => {
    const reference = `ImagingStudy/${imagingStudyIds.running!}`;
    const app = await openApp(ehrLaunch({ patient: patientA, fhirContext: [{ reference }], locale: 'en' }));
    try {
      expect(await app.page.getAttribute('main', 'data-screen')).toBe('pending');
      expect(analysisReadPath(app)).toBe(`/api/analyses/${analysisIds.running!}`);
    } finally {
      await app.context.close();
    }
  });

  test('viewer study without analysis: no eligible study', async () => {
    const app = await openApp(
      ehrLaunch({ patient: patientA, locale: 'en' }, `&studyInstanceUid=${STUDIES_A.unanalysed.uid}`),
    );
    try {
      expect(await app.page.getAttribute('main', 'data-screen')).toBe('noEligibleStudy');
      expect(await app.page.locator('main h2').textContent()).toBe('No analysed CT study');
      expect(analysisReadPath(app)).toBeUndefined();
      expect(await app.page.locator('#probability-value').count()).toBe(0);
    } finally {
      await app.context.close();
    }
  });

  test('viewer study of another patient is not shown', async () => {
    const reference = `ImagingStudy/${imagingStudyIds.older!}`;
    const app = await openApp(ehrLaunch({ patient: patientB, fhirContext: [{ reference }], locale: 'en' }));
    try {
      expect(await app.page.getAttribute('main', 'data-screen')).toBe('otherPatient');
      expect(await app.page.locator('#probability-value').count()).toBe(0);
    } finally {
      await app.context.close();
    }
  });

  test('patient without analysis: zh-CN screen', async () => {
    const app = await openApp(ehrLaunch({ patient: patientB, locale: 'zh-CN' }));
    try {
      const { page } = app;
      expect(await page.getAttribute('main', 'data-screen')).toBe('noEligibleStudy');
      expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
      expect(await page.locator('main h2').textContent()).toBe('无已分析的 CT 检查');
      expect(searchQuery(app).get('patient')).toBe(patientB);
      await screenshot(page, 'no-eligible-study-zh-CN');

      await page.click('#language-switch');
      expect(await page.locator('main h2').textContent()).toBe('No analysed CT study');
    } finally {
      await app.context.close();
    }
  });
});

/**
 * The app inside an EHR iframe, on tablets, and the screens for failures around the result: an
 * unreachable service, an unreadable response, a token the FHIR server rejects, an analysis that
 * runs too long, a failure explained in both languages, long feature names and a hazard ratio
 * beyond the forest plot's scale. The service sends its real security headers, with one EHR origin
 * in `smartApp.frameAncestors` and the authorization server in `smartApp.authorizationServerOrigins`.
 */
describe.skipIf(skipReason !== null)('SMART app in an EHR frame and failure screens', () => {
  const logs = captureLogs();
  let workDir: string;
  let fhir: FhirServerHandle;
  let auth: SmartAuthServer;
  let service: RunningServer;
  let browser: Browser;
  /** The EHR page that may frame the app, and a page of an origin that may not. */
  let ehrPage: LoopbackListener;
  let foreignPage: LoopbackListener;
  const cleanups: (() => Promise<void>)[] = [];
  let patientId: string;
  /** While true, the FHIR server rejects every access token with 401, as it does once one expired. */
  let tokensExpired = false;
  const ids: Partial<Record<'done' | 'pending' | 'failed', string>> = {};
  let releaseAnalysis: (error: Error) => void = () => undefined;

  /** A hazard ratio whose interval runs past both ends of the plot's 0.5–4 scale. */
  const WIDE_HAZARD_RATIO = { value: 5.2, ci: { lower: 0.31, upper: 9.8, level: 0.95 }, cohort: 'test' };

  /** Feature names longer than the BR-RO ones, so the name column has to wrap. */
  const LONG_FEATURES: Readonly<Record<string, number>> = {
    Whole_peri_glszm_SmallAreaLowGrayLevelEmphasisOfTheDilatedPeritumoralRegion: 0.0078,
    Whole_peri_gldm_LargeDependenceHighGrayLevelEmphasisOfTheDilatedRegion: 1520.5,
    Whole_glszm_SmallAreaEmphasis: 0.61,
  };

  /** Serves an HTML page with one iframe of `src`, as an EHR page embeds a SMART app. */
  function framingPage(): Promise<LoopbackListener> {
    return startLoopbackListener((request, response) => {
      const src = new URL(request.url ?? '/', 'http://127.0.0.1').searchParams.get('src') ?? '';
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(
        '<!doctype html><html><body><h1>EHR</h1>' +
          `<iframe id="app" src="${src.replaceAll('"', '&quot;')}" width="1000" height="700"></iframe>` +
          '</body></html>',
      );
    });
  }

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'nqo1-smart-app-frame-'));
    cleanups.push(() => rm(workDir, { recursive: true, force: true }));
    await mkdir(SCREENSHOTS, { recursive: true });
    const card = await loadModelCard(BR_RO_CARD_PATH);
    const modelCard: ModelCard = {
      ...card,
      evidence: [
        ...card.evidence,
        {
          kind: 'hazard-ratio',
          description: { en: 'A wide interval for the test.', 'zh-CN': '用于测试的宽区间。' },
          estimate: WIDE_HAZARD_RATIO,
        },
      ],
    };

    ehrPage = await framingPage();
    cleanups.push(() => ehrPage.close());
    foreignPage = await framingPage();
    cleanups.push(() => foreignPage.close());

    const servicePort = await findFreeLoopbackPort();
    const serviceUrl = `http://127.0.0.1:${servicePort}`;
    fhir = await startFhirServer({
      smartConfiguration: () => auth.smartConfiguration(),
      acceptsToken: () => !tokensExpired,
    });
    cleanups.push(() => fhir.close());
    auth = await startSmartAuthServer({
      fhirBaseUrl: fhir.baseUrl,
      clientId: CLIENT_ID,
      redirectUri: `${serviceUrl}/smart-app/index.html`,
    });
    cleanups.push(() => auth.close());

    const patient = await fhir.repository.createResource<Patient>({ resourceType: 'Patient' });
    patientId = patient.id!;
    const sqlitePath = path.join(workDir, 'results.sqlite');
    const store = new ResultStore(sqlitePath);
    try {
      for (const [key, uid] of [
        ['done', '2.25.7101'],
        ['pending', '2.25.7102'],
        ['failed', '2.25.7103'],
      ] as const) {
        const study = await fhir.repository.createResource<ImagingStudy>({
          resourceType: 'ImagingStudy',
          status: 'available',
          subject: { reference: `Patient/${patientId}` },
          identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${uid}` }],
        });
        const job: AnalysisJob = {
          studyInstanceUid: uid,
          imagingStudyId: study.id,
          patientId,
          modelId: modelCard.id,
          modelVersion: modelCard.version,
        };
        store.insertPending(job);
        if (key === 'done') {
          const contributions = Object.fromEntries(Object.keys(LONG_FEATURES).map((name) => [name, 0.2]));
          store.markDone(
            job,
            calibratedResult({ features: LONG_FEATURES, contributions }),
            'observation-done',
          );
        }
        if (key === 'failed') store.markFailed(job, FAILURE);
        ids[key] = store.getResult(job)!.id;
        if (key === 'done') store.overlays.save(ids[key], phantomOverlay());
      }
    } finally {
      store.close();
    }

    const config = parseConfig({
      server: { host: '127.0.0.1', port: servicePort, publicUrl: serviceUrl },
      dicomweb: {
        baseUrl: 'http://127.0.0.1:9/dicom-web',
        allowedBaseUrls: ['http://127.0.0.1:9/dicom-web'],
      },
      fhir: { baseUrl: fhir.baseUrl, allowedBaseUrls: [fhir.baseUrl] },
      store: { sqlitePath },
      smartApp: {
        clientId: CLIENT_ID,
        frameAncestors: [ehrPage.origin],
        authorizationServerOrigins: [auth.origin],
      },
    });
    service = await startServer(config, {
      analyse: () =>
        new Promise((_resolve, reject) => {
          releaseAnalysis = reject;
        }),
      logger: logs.logger,
      modelCard,
    });
    cleanups.push(async () => {
      releaseAnalysis(new Error('the test ended'));
      await service.close();
    });

    browser = await launchChromium();
    cleanups.push(() => browser.close());
  });

  afterAll(async () => {
    for (let i = cleanups.length - 1; i >= 0; i--) await cleanups[i]!();
  });

  function launchUrl(context: SmartLaunchContext): string {
    const launch = auth.registerLaunch(context);
    return `${service.url}/smart-app/launch.html?iss=${encodeURIComponent(fhir.baseUrl)}&launch=${launch}`;
  }

  interface Opened {
    readonly page: Page;
    readonly context: BrowserContext;
    /** Console messages of the page and its frames that report a Content-Security-Policy violation. */
    readonly policyViolations: string[];
    /** Paths of the requests to `/api/analyses/{id}` (without the overlay routes), in order. */
    readonly analysisReads: string[];
  }

  /** Opens a new page with the given options and records policy violations and analysis reads. */
  async function openPage(options: Parameters<Browser['newContext']>[0] = {}): Promise<Opened> {
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, ...options });
    const page = await context.newPage();
    const policyViolations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) policyViolations.push(message.text());
    });
    const analysisReads: string[] = [];
    page.on('request', (request) => {
      const pathname = new URL(request.url()).pathname;
      if (/^\/api\/analyses\/[^/]+$/.test(pathname)) analysisReads.push(pathname);
    });
    return { page, context, policyViolations, analysisReads };
  }

  /** Launches the app in the top window and waits for its first screen after loading. */
  async function launchTop(opened: Opened, context: SmartLaunchContext): Promise<void> {
    await opened.page.goto(launchUrl(context));
    await opened.page.waitForURL(/\/smart-app\/index\.html/);
    await opened.page.waitForSelector('main[data-screen]:not([data-screen="loading"])');
  }

  async function screenshot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  test('EHR iframe completes the launch', async () => {
    const opened = await openPage();
    try {
      const before = auth.events().length;
      const src = launchUrl({ patient: patientId, appContext: ids.done!, locale: 'en' });
      await opened.page.goto(`${ehrPage.origin}/chart?src=${encodeURIComponent(src)}`);

      const frame = opened.page.frameLocator('#app');
      await frame.locator('main[data-screen="result"]').waitFor();
      await frame.locator('#overlay img.overlay-image').waitFor();

      const appFrame = opened.page.frames().find((candidate) => candidate !== opened.page.mainFrame())!;
      expect(new URL(appFrame.url()).pathname).toBe('/smart-app/index.html');
      expect(new URL(appFrame.url()).origin).toBe(service.url);
      expect(new URL(appFrame.url()).origin).not.toBe(ehrPage.origin);
      expect(await frame.locator('#probability-value').textContent()).toBe('0.810');
      const events = auth.events().slice(before);
      expect(events.map((event) => [event.endpoint, event.accepted])).toEqual([
        ['authorize', true],
        ['token', true],
      ]);
      // fhirclient kept its launch state in the frame's sessionStorage.
      expect(await appFrame.evaluate(() => sessionStorage.length)).toBeGreaterThan(0);
      expect(opened.policyViolations).toEqual([]);
      await screenshot(opened.page, 'ehr-iframe-en');
    } finally {
      await opened.context.close();
    }
  });

  test('origin outside frame-ancestors is blocked', async () => {
    const opened = await openPage();
    try {
      const before = auth.events().length;
      const src = launchUrl({ patient: patientId, appContext: ids.done!, locale: 'en' });
      await opened.page.goto(`${foreignPage.origin}/chart?src=${encodeURIComponent(src)}`);
      await opened.page.waitForTimeout(1_500);

      expect(opened.policyViolations.some((text) => text.includes('frame-ancestors'))).toBe(true);
      expect(auth.events().length).toBe(before);
      expect(await opened.page.frameLocator('#app').locator('main').count()).toBe(0);
    } finally {
      await opened.context.close();
    }
  });

  test.each([
    [768, 1024],
    [1024, 1366],
  ])('tablet %i × %i: no sideways scroll, slider by tap', async (width, height) => {
    const opened = await openPage({ viewport: { width, height }, hasTouch: true, isMobile: true });
    try {
      const { page } = opened;
      await launchTop(opened, { patient: patientId, appContext: ids.done!, locale: 'en' });
      const image = page.locator('#overlay img.overlay-image');
      await image.waitFor();
      expect(await image.getAttribute('data-slice-index')).toBe('2');

      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
      const slider = page.locator('#overlay-slider');
      const box = (await slider.boundingBox())!;
      expect(box.height).toBeGreaterThanOrEqual(44);

      // A tap near the left end of the track moves to the first slice.
      await slider.tap({ position: { x: 4, y: box.height / 2 } });
      await page.waitForFunction(
        () => document.querySelector('#overlay img.overlay-image')?.getAttribute('data-slice-index') === '1',
      );
      expect(await page.locator('#overlay-caption').textContent()).toContain('1 of 2');
      await screenshot(page, `tablet-${width}x${height}-en`);
    } finally {
      await opened.context.close();
    }
  });

  test('long feature names wrap between words', async () => {
    for (const width of [1024, 768]) {
      const opened = await openPage({ viewport: { width, height: 1024 } });
      try {
        const { page } = opened;
        await launchTop(opened, { patient: patientId, appContext: ids.done!, locale: 'en' });

        const names = page.locator('#features th.feature-name');
        expect(await names.count()).toBe(Object.keys(LONG_FEATURES).length);
        expect(await names.allTextContents()).toEqual(Object.keys(LONG_FEATURES));
        // Each word is a text node of its own; one client rect means no line break inside it.
        const brokenWords = await page.evaluate(() => {
          const broken: string[] = [];
          const cells = document.querySelectorAll('#features th.feature-name');
          for (let i = 0; i < cells.length; i++) {
            const nodes = cells[i]!.childNodes;
            for (let j = 0; j < nodes.length; j++) {
              const node = nodes[j]!;
              if (node.nodeType !== Node.TEXT_NODE) continue;
              const range = document.createRange();
              range.selectNodeContents(node);
              if (range.getClientRects().length !== 1) broken.push(node.textContent ?? '');
            }
          }
          return broken;
        });
        expect(brokenWords).toEqual([]);

        // In the chart, each name's lines join to the name and end left of the longest bar.
        const labels = await page.evaluate(() => {
          const texts = document.querySelectorAll<SVGTextElement>(
            'svg.contribution-chart text.feature-label',
          );
          const found: { text: string; lineCount: number; right: number }[] = [];
          for (let i = 0; i < texts.length; i++) {
            const box = texts[i]!.getBBox();
            found.push({
              text: texts[i]!.textContent,
              lineCount: texts[i]!.querySelectorAll('tspan').length,
              right: box.x + box.width,
            });
          }
          return found;
        });
        expect(labels.map((label) => label.text)).toEqual(Object.keys(LONG_FEATURES));
        expect(labels.map((label) => label.lineCount)).toEqual([3, 3, 1]);
        for (const label of labels) expect(label.right, label.text).toBeLessThan(420 - 150);
        const longest = page.locator(`#features tr[data-feature^="Whole_peri_glszm"] th`);
        expect((await longest.boundingBox())!.height).toBeGreaterThan(30);

        const scroller = await page.evaluate(() => {
          const element = document.querySelector('#features .table-scroll')!;
          return { scrollWidth: element.scrollWidth, clientWidth: element.clientWidth };
        });
        expect(scroller.scrollWidth).toBeLessThanOrEqual(scroller.clientWidth);
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
        await screenshot(page, `long-feature-names-${width}-en`);
      } finally {
        await opened.context.close();
      }
    }
  });

  test('forest plot marks a clamped interval', async () => {
    const opened = await openPage();
    try {
      const { page } = opened;
      await launchTop(opened, { patient: patientId, appContext: ids.done!, locale: 'en' });

      expect(await page.locator('svg.forest-plot rect.estimate').count()).toBe(3);
      const marks = page.locator('svg.forest-plot g.clamp-mark');
      expect(await marks.count()).toBe(2);
      expect(await marks.nth(0).getAttribute('data-side')).toBe('left');
      expect(await marks.nth(0).locator('text').textContent()).toBe('0.310');
      expect(await marks.nth(1).getAttribute('data-side')).toBe('right');
      // The estimate, 5.2, lies beyond the scale as well, so the right mark names the largest value.
      expect(Number(await marks.nth(1).getAttribute('data-value'))).toBe(WIDE_HAZARD_RATIO.ci.upper);
      expect(await marks.nth(1).locator('text').textContent()).toBe('9.80');
      await page
        .locator('svg.forest-plot')
        .screenshot({ path: path.join(SCREENSHOTS, 'forest-clamped-en.png') });
    } finally {
      await opened.context.close();
    }
  });

  test('unreachable service shows a service error', async () => {
    const opened = await openPage();
    try {
      await opened.page.route(/\/api\/analyses\/[^/?]+\?/, (route) => route.abort('connectionrefused'));
      await launchTop(opened, { patient: patientId, appContext: ids.done!, locale: 'en' });

      expect(await opened.page.getAttribute('main', 'data-screen')).toBe('serviceUnreachable');
      expect(await opened.page.locator('main h2').textContent()).toBe('The NQO1 service cannot be reached');
      await screenshot(opened.page, 'service-unreachable-en');
    } finally {
      await opened.context.close();
    }
  });

  test.each([
    ['an HTML page', 'text/html', '<html><body>Gateway login</body></html>'],
    ['JSON without a status', 'application/json', '{"id":"x"}'],
  ])('malformed 200 body (%s) shows a service error', async (_case, contentType, body) => {
    const opened = await openPage({ locale: 'zh-CN' });
    try {
      await opened.page.route(/\/api\/analyses\/[^/?]+\?/, (route) =>
        route.fulfill({ status: 200, contentType, body }),
      );
      await launchTop(opened, { patient: patientId, appContext: ids.done!, locale: 'zh-CN' });

      expect(await opened.page.getAttribute('main', 'data-screen')).toBe('serviceMalformed');
      expect(await opened.page.locator('main h2').textContent()).toBe('服务返回了无法读取的响应');
      await screenshot(opened.page, 'service-malformed-zh-CN');
    } finally {
      await opened.context.close();
    }
  });

  test('token the FHIR server rejects shows the expired session', async () => {
    const opened = await openPage();
    try {
      // The token expires between the launch and the first read. The launch reads no FHIR resource,
      // only the discovery document, which the FHIR server serves without a token check.
      tokensExpired = true;
      const read = opened.page.waitForResponse((response) =>
        /\/api\/analyses\/[^/?]+\?/.test(response.url()),
      );
      await launchTop(opened, { patient: patientId, appContext: ids.done!, locale: 'en' });

      // With playwright-core 1.65.2, reading the body of this 401 never settled, so the service's
      // log line gives the error code.
      expect((await read).status()).toBe(401);
      const rejections = logs.withMessage('request rejected').map((line) => line.code);
      expect(rejections).toContain('ERR_FHIR_TOKEN_REJECTED');
      expect(await opened.page.getAttribute('main', 'data-screen')).toBe('sessionExpired');
      expect(await opened.page.locator('main h2').textContent()).toBe('Session expired');
    } finally {
      tokensExpired = false;
      await opened.context.close();
    }
  });

  test('token endpoint outside connect-src is named', async () => {
    const opened = await openPage();
    try {
      // Playwright does not route a request that follows a redirect, so the authorize redirect to
      // index.html becomes a script navigation, whose request the next route changes.
      await opened.page.route(`${auth.origin}/authorize?*`, async (route) => {
        const response = await route.fetch({ maxRedirects: 0 });
        const location = JSON.stringify(response.headers()['location']);
        await route.fulfill({
          contentType: 'text/html',
          body: `<script>location.replace(${location})</script>`,
        });
      });
      // index.html as a site serves it without smartApp.authorizationServerOrigins.
      await opened.page.route(/\/smart-app\/index\.html/, async (route) => {
        const response = await route.fetch();
        const policy = response.headers()['content-security-policy']!;
        expect(policy).toContain(` ${auth.origin}`);
        await route.fulfill({
          response,
          headers: {
            ...response.headers(),
            'content-security-policy': policy.replace(` ${auth.origin}`, ''),
          },
        });
      });
      await launchTop(opened, { patient: patientId, appContext: ids.done!, locale: 'en' });

      expect(await opened.page.getAttribute('main', 'data-screen')).toBe('connectionBlocked');
      expect(await opened.page.locator('main p').textContent()).toContain(
        'smartApp.authorizationServerOrigins',
      );
      expect(opened.policyViolations.some((text) => text.includes(auth.origin))).toBe(true);
      expect(opened.analysisReads).toEqual([]);
      await screenshot(opened.page, 'connection-blocked-en');
    } finally {
      await opened.context.close();
    }
  });

  test('pending analysis stops polling after 30 minutes', async () => {
    const opened = await openPage();
    try {
      const { page } = opened;
      await page.clock.install();
      await launchTop(opened, { patient: patientId, appContext: ids.pending!, locale: 'en' });
      expect(await page.getAttribute('main', 'data-screen')).toBe('pending');
      expect(opened.analysisReads).toHaveLength(1);

      // Ten seconds later the app reads again, and still shows the pending screen.
      await page.clock.runFor(10_000);
      await expect.poll(() => opened.analysisReads.length).toBe(2);
      expect(await page.getAttribute('main', 'data-screen')).toBe('pending');

      // At the next read after 30 minutes it gives up and offers to check again.
      await page.clock.fastForward('30:00');
      await page.waitForSelector('main[data-screen="stillRunning"]');
      const reads = opened.analysisReads.length;
      expect(await page.locator('main h2').textContent()).toBe('Analysis still running');
      expect(await page.locator('main p').first().textContent()).toContain('after 30 minutes');
      await screenshot(page, 'still-running-en');

      await page.clock.runFor(60_000);
      expect(opened.analysisReads.length).toBe(reads);

      await page.locator('#check-again').click();
      await page.waitForSelector('main[data-screen="pending"]');
      expect(opened.analysisReads.length).toBe(reads + 1);
    } finally {
      await opened.context.close();
    }
  });

  test.each(['en', 'zh-CN'] as const)('failure is explained in %s', async (locale) => {
    const opened = await openPage({ locale });
    try {
      const { page } = opened;
      await launchTop(opened, { patient: patientId, appContext: ids.failed!, locale });
      const expected = failureText(FAILURE.code, locale);

      expect(await page.getAttribute('main', 'data-screen')).toBe('failed');
      expect(await page.locator('.failure-explanation').textContent()).toBe(expected.explanation);
      expect(await page.locator('.failure-action').textContent()).toBe(
        `${messagesFor(locale).failureActionLabel} ${expected.action}`,
      );
      const details = page.locator('details.failure-details');
      expect(await details.getAttribute('open')).toBeNull();
      expect(await page.locator('.failure-message').isVisible()).toBe(false);
      expect(await details.locator('summary').textContent()).toBe(messagesFor(locale).technicalDetails);
      await screenshot(page, `failure-explained-${locale}`);

      await details.locator('summary').click();
      expect(await page.locator('.failure-message').isVisible()).toBe(true);
      expect(await page.locator('.failure-message').textContent()).toBe(FAILURE.message);
      expect(await page.locator('.failure-code').textContent()).toBe(FAILURE.code);
      await screenshot(page, `failure-details-${locale}`);
    } finally {
      await opened.context.close();
    }
  });
});
