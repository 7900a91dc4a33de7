/**
 * The request flow of the series choice (`series-choice.ts` renders it): the radio selection, the
 * confirmation, `POST /api/analyses`, and the way back to the automatic result. The listeners sit on
 * `<main>` and act on the `data-action` buttons, so they survive every render of the page.
 */

import type { Messages } from './messages.js';
import type { View } from './screens.js';
import {
  ANALYSE_SERIES_ACTION,
  BACK_TO_AUTOMATIC_ACTION,
  SERIES_CHOICE_NAME,
  confirmSeriesAnalysis,
  type RequestedSeries,
} from './series-choice.js';
import { requestAnalysis, type SeriesCandidateView } from './service-api.js';

/** Launch values that a series request needs. */
export interface SeriesRequestSession {
  readonly fhirServer: string;
  readonly accessToken: string;
  /** Logical id of the automatic result's ImagingStudy; undefined until that result was read. */
  readonly imagingStudyId: string | undefined;
}

/** The parts of the page that the flow reads and changes, kept in `main.ts`. */
export interface SeriesFlowPage {
  readonly view: () => View;
  /** Replaces the view without rendering it, so that the keyboard focus stays where it is. */
  readonly keepView: (next: View) => void;
  /** Replaces the view and renders it, with the region pictures of a result. */
  readonly show: (next: View) => void;
  readonly messages: () => Messages;
  readonly session: () => SeriesRequestSession | undefined;
  /** Shows the row `analysisId`, labelled as `requested` when given, in place of the page's analysis. */
  readonly openAnalysis: (analysisId: string, requested?: RequestedSeries) => Promise<void>;
  /** Shows the automatic result again. */
  readonly openAutomatic: () => Promise<void>;
}

/** Listens on `main` for the radio buttons and the buttons of the series choice. */
export function listenForSeriesChoice(main: HTMLElement, page: SeriesFlowPage): void {
  main.addEventListener('change', (event) => {
    onSeriesSelected(event, page);
  });
  main.addEventListener('click', (event) => {
    onClick(event, page).catch((error: unknown) => {
      console.error('the series choice failed', error);
      page.show({ kind: 'screen', screen: 'launchFailed' });
    });
  });
}

/** Returns the candidates of the result on screen, or an empty list on any other view. */
function candidatesOf(view: View): readonly SeriesCandidateView[] {
  if (view.kind !== 'result') return [];
  return view.result.provenance.seriesSelection?.candidates ?? [];
}

/**
 * Keeps the selected radio button in the view, so that a language switch keeps it, and enables the
 * button for any series but the analysed one. The page is not rendered again, which would move the
 * keyboard focus away from the radio group.
 */
function onSeriesSelected(event: Event, page: SeriesFlowPage): void {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || input.name !== SERIES_CHOICE_NAME) return;
  const view = page.view();
  if (view.kind !== 'result' || view.seriesChoice === undefined) return;

  page.keepView({ ...view, seriesChoice: { ...view.seriesChoice, selectedSeriesUid: input.value } });
  const chosen = candidatesOf(view).find((candidate) => candidate.outcome === 'chosen');
  const button = document.getElementById('analyse-series');
  if (button instanceof HTMLButtonElement) button.disabled = input.value === chosen?.seriesInstanceUid;
}

/** Handles the buttons of the series choice, which carry `data-action`. */
async function onClick(event: Event, page: SeriesFlowPage): Promise<void> {
  const target = event.target instanceof Element ? event.target.closest('[data-action]') : null;
  if (target === null) return;

  const action = target.getAttribute('data-action');
  if (action === BACK_TO_AUTOMATIC_ACTION) {
    await page.openAutomatic();
    return;
  }
  const view = page.view();
  if (action !== ANALYSE_SERIES_ACTION || view.kind !== 'result' || view.seriesChoice === undefined) return;

  const selectedUid = view.seriesChoice.selectedSeriesUid;
  const candidate = candidatesOf(view).find((item) => item.seriesInstanceUid === selectedUid);
  if (candidate === undefined) return;
  if (!(await confirmSeriesAnalysis(candidate, page.messages()))) {
    document.getElementById('analyse-series')?.focus();
    return;
  }
  await requestSeries(page, candidate);
}

/**
 * Requests the analysis of `candidate`, then shows its pending screen and its result. A failed
 * request stays on the automatic result with an alert that names the failure.
 */
async function requestSeries(page: SeriesFlowPage, candidate: SeriesCandidateView): Promise<void> {
  const session = page.session();
  if (session?.imagingStudyId === undefined) return;
  const outcome = await requestAnalysis(
    session.fhirServer,
    session.imagingStudyId,
    candidate.seriesInstanceUid,
    session.accessToken,
  );

  if (!outcome.ok) {
    const view = page.view();
    if (view.kind !== 'result' || view.seriesChoice === undefined) return;
    const requestError = { status: outcome.status, code: outcome.code };
    page.show({ ...view, seriesChoice: { ...view.seriesChoice, requestError } });
    return;
  }

  await page.openAnalysis(outcome.analysisId, {
    seriesInstanceUid: candidate.seriesInstanceUid,
    seriesDescription: candidate.seriesDescription,
    seriesNumber: candidate.seriesNumber,
  });
}
