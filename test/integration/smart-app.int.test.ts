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

import type { ImagingStudy, Patient } from '@medplum/fhirtypes';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { renderRoiOverlay, type RoiOverlay } from '../../src/imaging/roi-overlay.js';
import { ResultStore } from '../../src/jobs/result-store.js';
import type { AnalysisFailure, AnalysisJob } from '../../src/jobs/types.js';
import { BR_RO_CARD_PATH, loadModelCard, type ModelCard } from '../../src/model/card.js';
import type { ScoreResult, SeriesSelection } from '../../src/model/result.js';
import { packagePath } from '../../src/paths.js';
import { parseConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { failureText } from '../../smart-app/src/failure-text.js';
import { SMART_SCOPE } from '../../smart-app/src/launch-scope.js';
import { messagesFor } from '../../smart-app/src/messages.js';
import { axisAlignedGrid } from '../support/grid.js';
import { chromiumSkipReason, launchChromium } from '../support/chromium.js';
import { startFhirServer, type FhirServerHandle } from '../support/fhir-server.js';
import { captureLogs } from '../support/log-capture.js';
import { startLoopbackListener, type LoopbackListener } from '../support/loopback-listener.js';
import { findFreeLoopbackPort } from '../support/orthanc.js';
import { SAMPLE_FEATURES, calibratedResult, uncalibratedResult } from '../support/score-result.js';
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

  test('launch without appContext names the missing analysis', async () => {
    const app = await launchApp({ patient: patientId, locale: 'en' });
    try {
      expect(await app.page.getAttribute('main', 'data-screen')).toBe('missingAnalysis');
      expect(await app.page.locator('main h2').textContent()).toBe('No analysis named');
      expect(app.apiRequests).toEqual([]);
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
