/**
 * One set-up for the SMART app browser tests: the medplum FHIR server, the mock SMART authorization
 * server, a result store filled by the test, the real service (`startServer`) serving the app, and
 * headless Chromium. The app is launched the way an EHR launches it from the CDS card's smart link:
 * `launch.html?iss=<FHIR base>&launch=<id>`, then the authorization server, the PKCE token exchange
 * and `index.html` reading the service.
 *
 * The service runs for real. The only fakes are the authorization server, the FHIR server and, unless
 * a suite brings its own, the queue's analysis, which never finishes before the harness closes.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { Patient } from '@medplum/fhirtypes';
import type { Browser, BrowserContext, BrowserContextOptions, Page, Request } from 'playwright-core';

import type { AnalyseStudy } from '../../src/jobs/types.js';
import { SqliteResultStore } from '../../src/jobs/result-store.js';
import { BR_RO_CARD_PATH, loadModelCard, type ModelCard } from '../../src/model/card.js';
import { packagePath } from '../../src/paths.js';
import { parseConfig } from '../../src/server/config.js';
import type { Logger } from '../../src/server/logger.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { launchChromium } from './chromium.js';
import { startFhirServer, type FhirServerHandle, type FhirServerOptions } from './fhir-server.js';
import { startLoopbackListener, type LoopbackListener } from './loopback-listener.js';
import { findFreeLoopbackPort } from './orthanc.js';
import { buildSmartApp } from './smart-app-build.js';
import { startSmartAuthServer, type SmartAuthServer, type SmartLaunchContext } from './smart-auth-server.js';

/** Client id of the app, in the service's `smartApp.clientId` and at the authorization server. */
export const SMART_APP_CLIENT_ID = 'nqo1-cds-test';

/** Folder of the screenshots of every screen, kept as test artifacts. */
export const SCREENSHOT_DIR = packagePath('test-artifacts', 'screenshots');

/** Viewport of a new browser context unless a test sets another: a small laptop screen. */
const DEFAULT_VIEWPORT = { width: 1024, height: 768 } as const;

/** Selector of any final screen of `index.html`. */
const FINAL_SCREEN = 'main[data-screen]:not([data-screen="loading"])';

/** Keys of the service's `smartApp` config section. */
export type SmartAppConfig = Readonly<Record<string, unknown>>;

/** What a suite's `seed` hook receives, before the service starts. */
export interface SmartAppSeed {
  readonly fhir: FhirServerHandle;
  /** A connection to the service's SQLite file, closed after the hook returns. */
  readonly store: SqliteResultStore;
  readonly modelCard: ModelCard;
  /** The one Patient the harness created, for suites that need only one. */
  readonly patientId: string;
}

export interface SmartAppHarnessOptions {
  /** Prefix of the temporary folder of the result store, e.g. `nqo1-smart-series-`. */
  readonly tempPrefix: string;
  /** Logger of the service, usually from `captureLogs()`. */
  readonly logger: Logger;
  /**
   * Keys added to the service's `smartApp` config, or a function of the FHIR base URL that returns
   * them, e.g. for `standaloneFhirBaseUrl`.
   */
  readonly smartApp?: SmartAppConfig | ((fhirBaseUrl: string) => SmartAppConfig);
  /** The service's `viewerUrlTemplate`, if any. */
  readonly viewerUrlTemplate?: string;
  /** Model card the service serves, by default the BR-RO card. */
  readonly modelCard?: ModelCard;
  /** Passed to the FHIR server, e.g. to reject expired tokens. */
  readonly acceptsToken?: FhirServerOptions['acceptsToken'];
  /**
   * The queue's analysis. Omitted: each job waits until {@link SmartAppHarness.close}, so a pending
   * row stays pending or running while the tests run.
   */
  readonly analyse?: AnalyseStudy;
  /** Called before the service stops, so that a custom `analyse` still waiting can finish. */
  readonly releaseAnalyses?: () => void;
  /**
   * Starts two pages that embed the app in an iframe, each on its own loopback origin, and allows
   * only the first in `smartApp.frameAncestors`.
   */
  readonly framePages?: boolean;
  /** Fills the FHIR server and the result store before the service starts. */
  readonly seed?: (seed: SmartAppSeed) => Promise<void>;
}

/** A browser page in a context of its own, with what it sent and logged. */
export interface OpenedApp {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Requests the page sent to the service's API, in order. */
  readonly apiRequests: Request[];
  /** Paths of the requests to `/api/analyses/{id}` (without the overlay routes), in order. */
  readonly analysisReads: string[];
  /** Console messages of the page and its frames that report a Content-Security-Policy violation. */
  readonly policyViolations: string[];
}

export interface LaunchAppOptions {
  /** Language of the browser (`navigator.language`), which the launch context may override. */
  readonly browserLocale?: string;
  readonly viewport?: { readonly width: number; readonly height: number };
  /** Makes the overlay list fail with HTTP 500, as a broken picture store would. */
  readonly failOverlayList?: boolean;
}

export interface NavigateOptions {
  /** The `data-screen` to wait for. Without it, any final screen of `index.html` ends the wait. */
  readonly screen?: string;
  /** Replaces the service's `smart-app/config.json`. */
  readonly configJson?: Readonly<Record<string, unknown>>;
}

export interface SmartAppHarness {
  readonly fhir: FhirServerHandle;
  readonly auth: SmartAuthServer;
  readonly service: RunningServer;
  readonly browser: Browser;
  readonly modelCard: ModelCard;
  /** Path of the service's SQLite file, for a second connection (WAL mode) while it runs. */
  readonly sqlitePath: string;
  /** Logical id of the Patient the harness created. */
  readonly patientId: string;
  /** The allowed framing page and one of an origin outside `frameAncestors`, set with `framePages`. */
  readonly framePages?: { readonly ehr: LoopbackListener; readonly foreign: LoopbackListener };
  /** URL of an EHR launch of `context`, with `extraQuery` (`&name=value…`) appended. */
  launchUrl(context: SmartLaunchContext, extraQuery?: string): string;
  /** Opens a page in a new context (default viewport 1024 × 768) and records its requests. */
  openPage(options?: BrowserContextOptions): Promise<OpenedApp>;
  /** Opens `launch.html` with `query` (`?iss=…` or empty) in `opened` and waits for the screen. */
  navigateToLaunch(opened: OpenedApp, query: string, options?: NavigateOptions): Promise<void>;
  /** Opens a new page, launches the app as the EHR does, and waits until it shows its final screen. */
  launchApp(context: SmartLaunchContext, options?: LaunchAppOptions): Promise<OpenedApp>;
  /** Stops everything the harness started, in reverse order. */
  close(): Promise<void>;
}

/** Saves a full-page screenshot of `page` as `<name>.png` in {@link SCREENSHOT_DIR}. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/** Serves an HTML page with one iframe of `?src=`, as an EHR page embeds a SMART app. */
function startFramingPage(): Promise<LoopbackListener> {
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

/**
 * Builds the app, then starts the servers and Chromium. When a step fails, it stops what already
 * started and throws.
 */
export async function startSmartAppHarness(options: SmartAppHarnessOptions): Promise<SmartAppHarness> {
  /**
   * Stops what started so far, in reverse order. A failed step does not keep the others from
   * running, and the first failure is thrown after them.
   */
  const cleanups: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    const failures: unknown[] = [];
    while (cleanups.length > 0) {
      try {
        await cleanups.pop()!();
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw failures[0];
  };

  try {
    return await startAll(options, cleanups, close);
  } catch (error) {
    // The start-up error explains the failure better than a later one while stopping.
    await close().catch(() => undefined);
    throw error;
  }
}

async function startAll(
  options: SmartAppHarnessOptions,
  cleanups: (() => Promise<void>)[],
  close: () => Promise<void>,
): Promise<SmartAppHarness> {
  buildSmartApp();
  const workDir = await mkdtemp(path.join(tmpdir(), options.tempPrefix));
  cleanups.push(() => rm(workDir, { recursive: true, force: true }));
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const modelCard = options.modelCard ?? (await loadModelCard(BR_RO_CARD_PATH));

  let framePages: SmartAppHarness['framePages'];
  if (options.framePages === true) {
    const ehr = await startFramingPage();
    cleanups.push(() => ehr.close());
    const foreign = await startFramingPage();
    cleanups.push(() => foreign.close());
    framePages = { ehr, foreign };
  }

  // The FHIR server reads its SMART configuration, which names the authorization server, only on
  // a request, so after `authServer` below has started.
  const servicePort = await findFreeLoopbackPort();
  const serviceUrl = `http://127.0.0.1:${servicePort}`;
  const fhir = await startFhirServer({
    smartConfiguration: () => authServer.smartConfiguration(),
    ...(options.acceptsToken === undefined ? {} : { acceptsToken: options.acceptsToken }),
  });
  cleanups.push(() => fhir.close());
  const authServer = await startSmartAuthServer({
    fhirBaseUrl: fhir.baseUrl,
    clientId: SMART_APP_CLIENT_ID,
    redirectUri: `${serviceUrl}/smart-app/index.html`,
  });
  cleanups.push(() => authServer.close());

  const patientId = (await fhir.repository.createResource<Patient>({ resourceType: 'Patient' })).id;
  const sqlitePath = path.join(workDir, 'results.sqlite');
  const store = new SqliteResultStore(sqlitePath);
  try {
    await options.seed?.({ fhir, store, modelCard, patientId });
  } finally {
    await store.close();
  }

  const config = parseConfig({
    server: { host: '127.0.0.1', port: servicePort, publicUrl: serviceUrl },
    dicomweb: {
      baseUrl: 'http://127.0.0.1:9/dicom-web',
      allowedBaseUrls: ['http://127.0.0.1:9/dicom-web'],
    },
    fhir: { baseUrl: fhir.baseUrl, allowedBaseUrls: [fhir.baseUrl] },
    store: { sqlitePath },
    // The app's connect-src must allow the token endpoint, which is on another origin than FHIR.
    smartApp: {
      clientId: SMART_APP_CLIENT_ID,
      authorizationServerOrigins: [authServer.origin],
      ...(framePages === undefined ? {} : { frameAncestors: [framePages.ehr.origin] }),
      ...(typeof options.smartApp === 'function' ? options.smartApp(fhir.baseUrl) : options.smartApp),
    },
    ...(options.viewerUrlTemplate === undefined ? {} : { viewerUrlTemplate: options.viewerUrlTemplate }),
  });

  // The default analysis waits until the harness closes, so the queue's claimed rows stay open.
  const waitingAnalyses: ((error: Error) => void)[] = [];
  const analyse: AnalyseStudy =
    options.analyse ??
    (() =>
      new Promise((_resolve, reject) => {
        waitingAnalyses.push(reject);
      }));
  const service = await startServer(config, { analyse, logger: options.logger, modelCard });
  cleanups.push(async () => {
    for (let i = 0; i < waitingAnalyses.length; i++) waitingAnalyses[i]!(new Error('the test ended'));
    options.releaseAnalyses?.();
    await service.close();
  });

  const browser = await launchChromium();
  cleanups.push(() => browser.close());

  const launchUrl = (context: SmartLaunchContext, extraQuery = ''): string =>
    `${service.url}/smart-app/launch.html?iss=${encodeURIComponent(fhir.baseUrl)}` +
    `&launch=${authServer.registerLaunch(context)}${extraQuery}`;

  const openPage = async (contextOptions: BrowserContextOptions = {}): Promise<OpenedApp> => {
    const context = await browser.newContext({ viewport: DEFAULT_VIEWPORT, ...contextOptions });
    const page = await context.newPage();
    const apiRequests: Request[] = [];
    const analysisReads: string[] = [];
    page.on('request', (request) => {
      const pathname = new URL(request.url()).pathname;
      if (pathname.startsWith('/api/')) apiRequests.push(request);
      if (/^\/api\/analyses\/[^/]+$/.test(pathname)) analysisReads.push(pathname);
    });
    const policyViolations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) policyViolations.push(message.text());
    });
    return { page, context, apiRequests, analysisReads, policyViolations };
  };

  const navigateToLaunch = async (
    opened: OpenedApp,
    query: string,
    navigateOptions: NavigateOptions = {},
  ): Promise<void> => {
    const { page } = opened;
    const { configJson, screen } = navigateOptions;
    if (configJson !== undefined) {
      await page.route('**/smart-app/config.json', (route) => route.fulfill({ json: configJson }));
    }

    await page.goto(`${service.url}/smart-app/launch.html${query}`);
    if (screen !== undefined) {
      await page.waitForSelector(`main[data-screen="${screen}"]`);
      return;
    }
    await page.waitForURL(/\/smart-app\/index\.html/);
    await page.waitForSelector(FINAL_SCREEN);
  };

  const launchApp = async (
    context: SmartLaunchContext,
    launchOptions: LaunchAppOptions = {},
  ): Promise<OpenedApp> => {
    const opened = await openPage({
      viewport: launchOptions.viewport ?? DEFAULT_VIEWPORT,
      locale: launchOptions.browserLocale ?? 'en-US',
    });
    if (launchOptions.failOverlayList === true) {
      // A 500 as a broken picture store would return it, without breaking the store.
      await opened.page.route('**/overlay?*', (route) => route.fulfill({ status: 500, body: '' }));
    }
    await navigateToLaunch(opened, new URL(launchUrl(context)).search);
    return opened;
  };

  return {
    fhir,
    auth: authServer,
    service,
    browser,
    modelCard,
    sqlitePath,
    patientId,
    ...(framePages === undefined ? {} : { framePages }),
    launchUrl,
    openPage,
    navigateToLaunch,
    launchApp,
    close,
  };
}
