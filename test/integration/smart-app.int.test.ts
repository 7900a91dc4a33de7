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
import { SMART_SCOPE, STANDALONE_SCOPE } from '../../smart-app/src/launch-scope.js';
import { axisAlignedGrid } from '../support/grid.js';
import { chromiumSkipReason, launchChromium } from '../support/chromium.js';
import { startFhirServer, type FhirServerHandle } from '../support/fhir-server.js';
import { captureLogs } from '../support/log-capture.js';
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
      smartApp: { clientId: CLIENT_ID },
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
      smartApp: { clientId: CLIENT_ID, standaloneFhirBaseUrl: fhir.baseUrl },
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
