/**
 * The SMART app in headless Chromium launched without the card's appContext: a standalone launch
 * (no `launch`, the authorization server picks the patient), an ImagingStudy in `fhirContext`, and
 * a viewer button's `studyInstanceUid`. The app finds the analysis with `GET /api/analyses`.
 *
 * Needs Chromium at /usr/bin/chromium. Without it the suite is skipped with a warning, except under
 * `CI=true`, where it fails.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { STANDALONE_SCOPE } from '../../smart-app/src/launch-scope.js';
import { chromiumSkipReason } from '../support/chromium.js';
import type { FhirServerHandle } from '../support/fhir-server.js';
import { captureLogs } from '../support/log-capture.js';
import { calibratedResult } from '../support/score-result.js';
import { createImagingStudy, storeStudyAnalysis } from '../support/smart-app-fixtures.js';
import {
  SMART_APP_CLIENT_ID as CLIENT_ID,
  screenshot,
  startSmartAppHarness,
  type NavigateOptions,
  type OpenedApp,
  type SmartAppHarness,
  type SmartAppSeed,
} from '../support/smart-app-harness.js';
import type { SmartAuthServer, SmartLaunchContext } from '../support/smart-auth-server.js';

const skipReason = chromiumSkipReason('the SMART app launch tests');

/**
 * Launches without the card's appContext. Patient A has two analysed CT studies with different
 * probabilities, so a test fails when the app shows the wrong one, plus a running and an unanalysed
 * study. Patient B has a CT study without any analysis.
 */
describe.skipIf(skipReason !== null)('SMART app launch without appContext', () => {
  const logs = captureLogs();
  let harness: SmartAppHarness | undefined;
  let fhir: FhirServerHandle;
  let auth: SmartAuthServer;
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
    // The queue claims the running study's row; its analysis waits until the harness closes.
    harness = await startSmartAppHarness({
      tempPrefix: 'nqo1-smart-launch-',
      logger: logs.logger,
      smartApp: (fhirBaseUrl) => ({ standaloneFhirBaseUrl: fhirBaseUrl }),
      seed: storeStudies,
    });
    ({ fhir, auth } = harness);
  });

  afterAll(async () => {
    await harness?.close();
  });

  /** Creates the CT studies of patients A and B and stores the analyses of patient A's studies. */
  async function storeStudies(seed: SmartAppSeed): Promise<void> {
    patientA = seed.patientId;
    patientB = (await seed.fhir.repository.createResource({ resourceType: 'Patient' })).id;
    for (const key of Object.keys(STUDIES_A) as (keyof typeof STUDIES_A)[]) {
      const { uid, started, probability } = STUDIES_A[key];
      const study = { studyInstanceUid: uid, patientId: patientA, started, ctSeries: true };
      if (probability === undefined) {
        imagingStudyIds[key] = await createImagingStudy(seed.fhir, study);
        continue;
      }

      // A null probability leaves the row pending, for the queue to claim.
      const provenance = { ...calibratedResult().provenance, studyInstanceUid: uid };
      const high = probability !== null && probability >= 0.404;
      const result =
        probability === null
          ? undefined
          : calibratedResult({ probability, class: high ? 'high' : 'low', provenance });
      const stored = await storeStudyAnalysis(seed, { ...study, result });
      imagingStudyIds[key] = stored.imagingStudyId;
      analysisIds[key] = stored.analysisId;
    }
    await createImagingStudy(seed.fhir, {
      studyInstanceUid: STUDY_B_UID,
      patientId: patientB,
      started: '2026-10-01T08:00:00Z',
      ctSeries: true,
    });
  }

  /**
   * Opens `launch.html` with `query` and waits for the screen named by `screen`, or for any final
   * screen of `index.html` when it is undefined. `configJson` replaces the service's config.json.
   */
  async function openApp(
    query: string,
    options: { browserLocale?: string } & NavigateOptions = {},
  ): Promise<OpenedApp> {
    const app = await harness!.openPage({ locale: options.browserLocale ?? 'en-US' });
    await harness!.navigateToLaunch(app, query, options);
    return app;
  }

  /** Query of an EHR launch of `launchContext`, with extra query parameters appended. */
  function ehrLaunch(launchContext: SmartLaunchContext, extra = ''): string {
    return new URL(harness!.launchUrl(launchContext, extra)).search;
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

  test.each([
    ['HTML', '"><script>alert(1)</script>'],
    ['70 digits', '1.'.padEnd(70, '2')],
  ])('viewer studyInstanceUid that is not a UID (%s) is named, not dropped', async (_case, uid) => {
    const before = auth.events().length;
    const app = await openApp(
      ehrLaunch({ patient: patientA, locale: 'en' }, `&studyInstanceUid=${encodeURIComponent(uid)}`),
      {
        screen: 'invalidStudyUid',
      },
    );
    try {
      expect(await app.page.locator('main h2').textContent()).toBe('Invalid study UID from the image viewer');
      expect(auth.events().length).toBe(before);
      expect(app.apiRequests).toEqual([]);
    } finally {
      await app.context.close();
    }
  });

  test.each([
    ['fhirServiceUrl', `fhirServiceUrl=${encodeURIComponent('http://127.0.0.1:9/fhir/R4')}`],
    ['patientId', 'patientId=other-patient'],
    ['clientId', 'clientId=another-client'],
  ])('launch URL with %s, which would override the launch, does not start', async (_name, parameter) => {
    const before = auth.events().length;
    const app = await openApp(`?launch=any&${parameter}`, { screen: 'launchFailed' });
    try {
      expect(await app.page.locator('main h2').textContent()).toBe('The app could not start');
      expect(new URL(app.page.url()).pathname).toBe('/smart-app/launch.html');
      expect(auth.events().length).toBe(before);
      expect(app.apiRequests).toEqual([]);
    } finally {
      await app.context.close();
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
