/**
 * `index.html`: completes the SMART launch (`FHIR.oauth2.ready()` exchanges the code for a token
 * and checks `state`), then reads the analysis named by the token response's `appContext` and the
 * model card from the service, and renders them.
 *
 * LIMITATION: this first slice shows the result, the region pictures, the evidence and the viewer
 * link only. Not built yet: the choice of another series, "Record in chart" and the radiology viewer
 * launch (ImagingStudy in `fhirContext`). docs/limitations.md lists what each needs.
 */

import { fhirClient, type SmartClient } from './fhirclient.js';
import { messagesFor, resolveLocale, type Locale } from './messages.js';
import { appendOverlay, type OverlaySource } from './overlay.js';
import { PENDING_POLL_LIMIT_MS, PENDING_POLL_MS } from './polling.js';
import { renderView, type View } from './screens.js';
import { fetchAnalysis, fetchAppSettings, fetchModelCard, type AppSettings } from './service-api.js';

/** The analysis id the CDS card puts in `appContext`: a row id of the result store. */
const ANALYSIS_ID = /^[A-Za-z0-9-]{1,64}$/;

/**
 * URLs whose requests the page's Content-Security-Policy blocked (`connect-src`). A token endpoint
 * that the site did not list in `smartApp.authorizationServerOrigins` ends up here.
 */
const blockedConnections = new Set<string>();
document.addEventListener('securitypolicyviolation', (event) => {
  if (event.effectiveDirective === 'connect-src') blockedConnections.add(event.blockedURI);
});

let locale: Locale = resolveLocale(navigator.language);
let view: View = { kind: 'loading' };

function render(): void {
  const messages = messagesFor(locale);
  document.documentElement.lang = locale;
  document.title = messages.appTitle;
  document.getElementById('app-title')!.textContent = messages.appTitle;
  const languageSwitch = document.getElementById('language-switch')!;
  languageSwitch.textContent = messages.otherLanguage;
  languageSwitch.setAttribute('lang', locale === 'en' ? 'zh-CN' : 'en');
  renderView(document.getElementById('content')!, view, messages, locale);
}

function show(next: View): void {
  view = next;
  render();
}

/**
 * Returns the viewer URL for the study, with `{{studyInstanceUid}}` replaced as on the CDS card, or
 * undefined without a template or for a URL that is not http(s).
 */
function viewerLink(settings: AppSettings, studyInstanceUid: string): string | undefined {
  if (settings.viewerUrlTemplate === undefined) return undefined;
  const url = settings.viewerUrlTemplate.replaceAll(
    '{{studyInstanceUid}}',
    encodeURIComponent(studyInstanceUid),
  );
  return /^https?:\/\//i.test(url) ? url : undefined;
}

/**
 * Reads the analysis and the model card and shows them. While the analysis is pending or running it
 * reads again every {@link PENDING_POLL_MS}, until {@link PENDING_POLL_LIMIT_MS} after
 * `pendingSince`, the time of the first pending response. Then it shows the "still running" screen.
 */
async function showAnalysis(
  client: SmartClient,
  analysisId: string,
  accessToken: string,
  patientId: string,
  pendingSince?: number,
): Promise<void> {
  const [analysis, card, settings] = await Promise.all([
    fetchAnalysis(analysisId, client.state.serverUrl, accessToken, patientId),
    fetchModelCard(),
    fetchAppSettings(),
  ]);

  if (!analysis.ok) {
    if (analysis.problem === 'unreachable') show({ kind: 'screen', screen: 'serviceUnreachable' });
    else if (analysis.problem === 'malformed') show({ kind: 'screen', screen: 'serviceMalformed' });
    else if (analysis.status === 401) show({ kind: 'screen', screen: 'sessionExpired' });
    else if (analysis.status === 403) show({ kind: 'screen', screen: 'forbidden' });
    else if (analysis.status === 409) show({ kind: 'screen', screen: 'otherPatient' });
    else if (analysis.status === 404) show({ kind: 'screen', screen: 'notFound' });
    else show({ kind: 'serviceError', status: analysis.status });
    return;
  }

  const body = analysis.body;
  if (body.status === 'pending' || body.status === 'running') {
    const since = pendingSince ?? Date.now();
    if (Date.now() - since >= PENDING_POLL_LIMIT_MS) {
      show({
        kind: 'stillRunning',
        minutes: Math.round(PENDING_POLL_LIMIT_MS / 60_000),
        checkAgain: () => {
          show({ kind: 'loading' });
          void showAnalysis(client, analysisId, accessToken, patientId).catch(showStartFailure);
        },
      });
      return;
    }
    show({ kind: 'screen', screen: 'pending' });
    setTimeout(() => {
      void showAnalysis(client, analysisId, accessToken, patientId, since).catch(showStartFailure);
    }, PENDING_POLL_MS);
    return;
  }
  if (body.status === 'failed' || body.result === undefined) {
    show({ kind: 'failed', code: body.failure?.code ?? 'ERR_UNKNOWN', message: body.failure?.message ?? '' });
    return;
  }
  const viewerUrl = settings.ok ? viewerLink(settings.body, body.studyInstanceUid) : undefined;
  show({ kind: 'result', result: body.result, card, viewerUrl });
  await showOverlay({ analysisId, fhirServer: client.state.serverUrl, accessToken });
}

/** The analysis whose region pictures are shown, kept to add them again after a language switch. */
let overlaySource: OverlaySource | undefined;

/**
 * Adds the region pictures below the feature table. A language switch renders the page again
 * without them, so they are added again after each render of the result.
 */
async function showOverlay(source: OverlaySource): Promise<void> {
  overlaySource = source;
  const features = document.getElementById('features');
  if (features === null) return;
  const holder = document.createElement('div');
  features.after(holder);
  await appendOverlay(holder, source, messagesFor(locale));
}

async function start(): Promise<void> {
  document.getElementById('language-switch')!.addEventListener('click', () => {
    locale = locale === 'en' ? 'zh-CN' : 'en';
    render();
    if (view.kind === 'result' && overlaySource !== undefined) void showOverlay(overlaySource);
  });
  render();

  let client: SmartClient;
  try {
    client = await fhirClient().oauth2.ready();
  } catch (error) {
    // fhirclient rejects when no launch state is stored, or the state or code is invalid or expired.
    console.warn('SMART launch could not be completed', error);
    // The browser queues the violation event as a task of its own, which can run after the
    // rejected fetch has settled; one more task lets it arrive.
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (blockedConnections.size > 0) {
      console.error('the Content-Security-Policy blocked requests to', [...blockedConnections]);
      show({ kind: 'screen', screen: 'connectionBlocked' });
      return;
    }
    show({ kind: 'screen', screen: 'sessionExpired' });
    return;
  }

  const token = client.state.tokenResponse ?? {};
  if (typeof token.locale === 'string') locale = resolveLocale(token.locale);
  if (typeof token.access_token !== 'string') {
    show({ kind: 'screen', screen: 'sessionExpired' });
    return;
  }
  if (typeof token.patient !== 'string' || token.patient === '') {
    show({ kind: 'screen', screen: 'missingPatient' });
    return;
  }
  if (typeof token.appContext !== 'string' || !ANALYSIS_ID.test(token.appContext)) {
    show({ kind: 'screen', screen: 'missingAnalysis' });
    return;
  }
  await showAnalysis(client, token.appContext, token.access_token, token.patient);
}

function showStartFailure(error: unknown): void {
  console.error('the app failed', error);
  show({ kind: 'screen', screen: 'launchFailed' });
}

start().catch(showStartFailure);
