/**
 * `index.html`: completes the SMART launch (`FHIR.oauth2.ready()` exchanges the code for a token
 * and checks `state`), then reads the analysis named by the token response's `appContext` and the
 * model card from the service, and renders them. A launch without `appContext` (standalone, the
 * EHR's app menu, a radiology viewer) finds the patient's analyses with `GET /api/analyses`, of the
 * study in `fhirContext` or passed by the viewer when there is one, and shows the first.
 *
 * From the automatic result, the user may choose another CT series of the study (`series-flow.ts`):
 * the app shows a confirmation dialog, requests its analysis with `POST /api/analyses`, shows the pending screen while it
 * reads the new row, and labels the requested result, with a button back to the automatic one.
 *
 * Below the probability, "Record in chart" (`chart-record.ts`) lets the signed-in clinician record
 * the result shown, automatic or requested, as final in the chart.
 *
 * LIMITATION: with several analysed studies the app shows the most recent one and offers no choice
 * among them (docs/limitations.md).
 */

import { appendChartRecord, type ChartRecordSource } from './chart-record.js';
import { fhirClient, type SmartClient } from './fhirclient.js';
import { launchStudy, type LaunchStudy } from './launch-context.js';
import { messagesFor, resolveLocale, type Locale } from './messages.js';
import { appendOverlay, type OverlaySource } from './overlay.js';
import { PENDING_POLL_LIMIT_MS, PENDING_POLL_MS } from './polling.js';
import { renderView, type View } from './screens.js';
import type { RequestedSeries } from './series-choice.js';
import { listenForSeriesChoice } from './series-flow.js';
import {
  fetchAnalysis,
  fetchAppSettings,
  fetchModelCard,
  searchAnalyses,
  type AppSettings,
} from './service-api.js';

/**
 * Wait between two reads of a requested analysis, in milliseconds. It is shorter because the user
 * started this analysis and waits on the screen for it.
 */
const REQUESTED_POLL_MS = 3_000;

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

/** Launch values that every service request needs, and the row id of the automatic result. */
interface Session {
  readonly client: SmartClient;
  readonly accessToken: string;
  readonly patientId: string;
  readonly automaticAnalysisId: string;
  /** Logical id of the automatic result's ImagingStudy, once read; a series request needs it. */
  imagingStudyId: string | undefined;
}
let session: Session | undefined;

/**
 * Counts the analyses the user opened. A read or a poll started for an earlier count discards
 * its response, so leaving a requested analysis stops its polling.
 */
let displayGeneration = 0;

function render(): void {
  const messages = messagesFor(locale);
  document.documentElement.lang = locale;
  document.title = messages.appTitle;
  document.getElementById('app-title')!.textContent = messages.appTitle;
  const languageSwitch = document.getElementById('language-switch')!;
  languageSwitch.textContent = messages.otherLanguage;
  languageSwitch.setAttribute('lang', locale === 'en' ? 'zh-CN' : 'en');
  renderView(document.getElementById('content')!, view, messages, locale);
  // A render rebuilds <main>, so the sections that the result view does not contain are added again.
  if (view.kind === 'result') addResultSections();
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
  requested?: RequestedSeries,
  pendingSince?: number,
): Promise<void> {
  const generation = displayGeneration;
  const [analysis, card, settings] = await Promise.all([
    fetchAnalysis(analysisId, client.state.serverUrl, accessToken, patientId),
    fetchModelCard(),
    fetchAppSettings(),
  ]);
  if (generation !== displayGeneration) return;

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
  const origin = requested === undefined ? {} : { requested };
  if (body.status === 'pending' || body.status === 'running') {
    const since = pendingSince ?? Date.now();
    if (Date.now() - since >= PENDING_POLL_LIMIT_MS) {
      show({
        kind: 'stillRunning',
        minutes: Math.round(PENDING_POLL_LIMIT_MS / 60_000),
        checkAgain: () => {
          show({ kind: 'loading' });
          void showAnalysis(client, analysisId, accessToken, patientId, requested).catch(showStartFailure);
        },
      });
      return;
    }
    show(
      requested === undefined
        ? { kind: 'screen', screen: 'pending' }
        : { kind: 'requestedPending', series: requested },
    );
    setTimeout(
      () => {
        if (generation !== displayGeneration) return;
        void showAnalysis(client, analysisId, accessToken, patientId, requested, since).catch(
          showStartFailure,
        );
      },
      requested === undefined ? PENDING_POLL_MS : REQUESTED_POLL_MS,
    );
    return;
  }
  if (body.status === 'failed' || body.result === undefined) {
    show({
      kind: 'failed',
      code: body.failure?.code ?? 'ERR_UNKNOWN',
      message: body.failure?.message ?? '',
      ...origin,
    });
    return;
  }
  const viewerUrl = settings.ok ? viewerLink(settings.body, body.studyInstanceUid) : undefined;
  if (requested === undefined && session !== undefined) session.imagingStudyId = body.imagingStudyId;
  // The series choice starts from the automatic result only, and needs its ImagingStudy id.
  const seriesChoice =
    requested === undefined && body.imagingStudyId !== undefined
      ? { seriesChoice: { selectedSeriesUid: undefined, requestError: undefined } }
      : {};
  overlaySource = { analysisId, fhirServer: client.state.serverUrl, accessToken };
  chartRecordSource = {
    analysisId,
    fhirServer: client.state.serverUrl,
    accessToken,
    patientId,
    clinician: client.getFhirUser() ?? undefined,
    result: body.result,
    chartRecord: body.chartRecord,
  };
  show({ kind: 'result', result: body.result, card, viewerUrl, ...seriesChoice, ...origin });
}

/**
 * Finds the patient's stored analyses, of `study` when the launch named one, and returns the first:
 * the service lists the most recent study first, and its automatic analysis before requested series.
 * Without one it shows the screen that explains why and returns undefined.
 */
async function findAnalysis(
  client: SmartClient,
  accessToken: string,
  patientId: string,
  study: LaunchStudy | undefined,
): Promise<string | undefined> {
  const found = await searchAnalyses(client.state.serverUrl, accessToken, patientId, study);
  if (!found.ok) {
    if (found.problem === 'unreachable') show({ kind: 'screen', screen: 'serviceUnreachable' });
    else if (found.problem === 'malformed') show({ kind: 'screen', screen: 'serviceMalformed' });
    else if (found.status === 401) show({ kind: 'screen', screen: 'sessionExpired' });
    else if (found.status === 403) show({ kind: 'screen', screen: 'forbidden' });
    else if (found.status === 409) show({ kind: 'screen', screen: 'otherPatient' });
    // The viewer's ImagingStudy does not exist in the EHR, so no analysis of it can be shown.
    else if (found.status === 404) show({ kind: 'screen', screen: 'noEligibleStudy' });
    else show({ kind: 'serviceError', status: found.status });
    return undefined;
  }

  const latest = found.body.analyses[0];
  if (latest === undefined) show({ kind: 'screen', screen: 'noEligibleStudy' });
  return latest?.id;
}

/** The analysis of the result shown, whose region pictures are added after each render. */
let overlaySource: OverlaySource | undefined;

/** The result shown, which "Record in chart" records; added after each render. */
let chartRecordSource: ChartRecordSource | undefined;

/**
 * Adds to a rendered result what it does not render itself: "Record in chart" after the
 * probability, where the surgeon reads the result, and the region pictures below the feature table.
 */
function addResultSections(): void {
  const probability = document.getElementById('probability') ?? document.getElementById('no-probability');
  if (chartRecordSource !== undefined && probability !== null) {
    const holder = document.createElement('div');
    probability.after(holder);
    appendChartRecord(holder, chartRecordSource, messagesFor(locale), locale);
  }

  const features = document.getElementById('features');
  if (overlaySource !== undefined && features !== null) {
    const holder = document.createElement('div');
    features.after(holder);
    void appendOverlay(holder, overlaySource, messagesFor(locale));
  }
}

/** Shows another analysis in place of the one on screen, which stops polling the earlier one. */
async function openAnalysis(analysisId: string, requested?: RequestedSeries): Promise<void> {
  if (session === undefined) return;
  displayGeneration++;
  show(requested === undefined ? { kind: 'loading' } : { kind: 'requestedPending', series: requested });
  const { client, accessToken, patientId } = session;
  await showAnalysis(client, analysisId, accessToken, patientId, requested);
}

async function start(): Promise<void> {
  listenForSeriesChoice(document.getElementById('content')!, {
    view: () => view,
    keepView: (next) => {
      view = next;
    },
    show,
    messages: () => messagesFor(locale),
    session: () =>
      session === undefined
        ? undefined
        : {
            fhirServer: session.client.state.serverUrl,
            accessToken: session.accessToken,
            imagingStudyId: session.imagingStudyId,
          },
    openAnalysis,
    openAutomatic: async () => {
      if (session !== undefined) await openAnalysis(session.automaticAnalysisId);
    },
  });

  document.getElementById('language-switch')!.addEventListener('click', () => {
    locale = locale === 'en' ? 'zh-CN' : 'en';
    render();
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
  // Without the card's appContext (or with another app's), the patient's analyses are searched.
  const analysisId =
    typeof token.appContext === 'string' && ANALYSIS_ID.test(token.appContext)
      ? token.appContext
      : await findAnalysis(
          client,
          token.access_token,
          token.patient,
          launchStudy(token.fhirContext, client.state.serverUrl),
        );
  if (analysisId === undefined) return;

  session = {
    client,
    accessToken: token.access_token,
    patientId: token.patient,
    automaticAnalysisId: analysisId,
    imagingStudyId: undefined,
  };
  await showAnalysis(client, analysisId, token.access_token, token.patient);
}

function showStartFailure(error: unknown): void {
  console.error('the app failed', error);
  show({ kind: 'screen', screen: 'launchFailed' });
}

start().catch(showStartFailure);
