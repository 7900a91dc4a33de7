/**
 * The SMART app in headless Chromium inside an EHR iframe, on tablets, with long feature names and
 * with a hazard ratio beyond the forest plot's scale. The suite also covers the screens for failures
 * around the result: an unreachable service, an unreadable response, a token the FHIR server
 * rejects, an analysis that runs too long, and a failure explained in both languages. The service
 * sends its real security headers, with one EHR origin in `smartApp.frameAncestors` and the
 * authorization server in `smartApp.authorizationServerOrigins`.
 *
 * Needs Chromium at /usr/bin/chromium. Without it the suite is skipped with a warning, except under
 * `CI=true`, where it fails.
 */
import path from 'node:path';

import type { BrowserContextOptions } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { BR_RO_CARD_PATH, loadModelCard, type ModelCard } from '../../src/model/card.js';
import type { RunningServer } from '../../src/server/start.js';
import { failureText } from '../../smart-app/src/failure-text.js';
import { messagesFor } from '../../smart-app/src/messages.js';
import { chromiumSkipReason } from '../support/chromium.js';
import { captureLogs } from '../support/log-capture.js';
import type { LoopbackListener } from '../support/loopback-listener.js';
import { calibratedResult } from '../support/score-result.js';
import { FAILURE, phantomOverlay, storeStudyAnalysis } from '../support/smart-app-fixtures.js';
import {
  SCREENSHOT_DIR as SCREENSHOTS,
  screenshot,
  startSmartAppHarness,
  type OpenedApp as Opened,
  type SmartAppHarness,
  type SmartAppSeed,
} from '../support/smart-app-harness.js';
import type { SmartAuthServer, SmartLaunchContext } from '../support/smart-auth-server.js';

const skipReason = chromiumSkipReason('the SMART app frame and failure screen tests');

describe.skipIf(skipReason !== null)('SMART app in an EHR frame and failure screens', () => {
  const logs = captureLogs();
  let harness: SmartAppHarness | undefined;
  let auth: SmartAuthServer;
  let service: RunningServer;
  /** The EHR page that may frame the app, and a page of an origin that may not. */
  let ehrPage: LoopbackListener;
  let foreignPage: LoopbackListener;
  let patientId: string;
  /** While true, the FHIR server rejects every access token with 401, as it does once one expired. */
  let tokensExpired = false;
  const ids: Partial<Record<'done' | 'pending' | 'failed', string>> = {};

  /** A hazard ratio whose interval runs past both ends of the plot's 0.5–4 scale. */
  const WIDE_HAZARD_RATIO = { value: 5.2, ci: { lower: 0.31, upper: 9.8, level: 0.95 }, cohort: 'test' };

  /** Feature names longer than the BR-RO ones, so the name column has to wrap. */
  const LONG_FEATURES: Readonly<Record<string, number>> = {
    Whole_peri_glszm_SmallAreaLowGrayLevelEmphasisOfTheDilatedPeritumoralRegion: 0.0078,
    Whole_peri_gldm_LargeDependenceHighGrayLevelEmphasisOfTheDilatedRegion: 1520.5,
    Whole_glszm_SmallAreaEmphasis: 0.61,
  };

  beforeAll(async () => {
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

    harness = await startSmartAppHarness({
      tempPrefix: 'nqo1-smart-app-frame-',
      logger: logs.logger,
      modelCard,
      acceptsToken: () => !tokensExpired,
      framePages: true,
      seed: storeAnalyses,
    });
    ({ auth, service, patientId } = harness);
    ehrPage = harness.framePages!.ehr;
    foreignPage = harness.framePages!.foreign;
  });

  afterAll(async () => {
    await harness?.close();
  });

  /** Stores a result with long feature names and region pictures, a pending and a failed analysis. */
  async function storeAnalyses(seed: SmartAppSeed): Promise<void> {
    const contributions = Object.fromEntries(Object.keys(LONG_FEATURES).map((name) => [name, 0.2]));
    for (const [key, uid] of [
      ['done', '2.25.7101'],
      ['pending', '2.25.7102'],
      ['failed', '2.25.7103'],
    ] as const) {
      const { analysisId } = await storeStudyAnalysis(seed, {
        studyInstanceUid: uid,
        patientId: seed.patientId,
        ...(key === 'done'
          ? {
              result: calibratedResult({ features: LONG_FEATURES, contributions }),
              observationId: 'observation-done',
            }
          : {}),
        ...(key === 'failed' ? { failure: FAILURE } : {}),
      });
      ids[key] = analysisId;
      if (key === 'done') await seed.store.overlays.save(analysisId, phantomOverlay());
    }
  }

  function launchUrl(context: SmartLaunchContext): string {
    return harness!.launchUrl(context);
  }

  /** Opens a new page with the given options and records policy violations and analysis reads. */
  function openPage(options: BrowserContextOptions = {}): Promise<Opened> {
    return harness!.openPage(options);
  }

  /** Launches the app in the top window and waits for its first screen after loading. */
  async function launchTop(opened: Opened, context: SmartLaunchContext): Promise<void> {
    await harness!.navigateToLaunch(opened, new URL(launchUrl(context)).search);
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
