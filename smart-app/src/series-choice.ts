/**
 * The "CT series analysed" section: the series used and why, the table of every CT series the
 * selection rules considered, with a radio button per series, and the "Analyse this series" button.
 * Also the confirmation before a requested analysis and the label of a requested result.
 *
 * The section only renders. `main.ts` listens for the `change` of the radio buttons and the clicks
 * on the buttons that carry `data-action`, so the rendering stays free of the request flow.
 */

import type { Messages } from './messages.js';
import type { SeriesCandidateView, SeriesSelectionView } from './service-api.js';
import { element } from './dom.js';

/** Name of the radio group; one radio button per candidate, its value the Series Instance UID. */
export const SERIES_CHOICE_NAME = 'series-choice';

/** `data-action` of the button that opens the confirmation to analyse the selected series. */
export const ANALYSE_SERIES_ACTION = 'analyse-series';

/** `data-action` of the button that returns from a requested result to the automatic one. */
export const BACK_TO_AUTOMATIC_ACTION = 'back-to-automatic';

/** A CT series a user requested, as the app names it on the pending screen and above the result. */
export interface RequestedSeries {
  readonly seriesInstanceUid: string;
  readonly seriesDescription: string;
  readonly seriesNumber: number | null;
}

/** State of the series choice on the automatic result, kept across renders. */
export interface SeriesChoice {
  /** Series Instance UID of the selected radio button; the analysed series until the user picks another. */
  readonly selectedSeriesUid: string | undefined;
  /** The last failed request, shown as an alert in the section; undefined when none failed. */
  readonly requestError: { readonly status: number; readonly code: string | undefined } | undefined;
}

/** Returns the series in sentence form, with a dash for a missing SeriesNumber. */
export function seriesName(series: RequestedSeries, messages: Messages): string {
  const seriesNumber = series.seriesNumber === null ? '–' : String(series.seriesNumber);
  return messages.seriesName(series.seriesDescription, seriesNumber);
}

/** Returns the plain-words reason behind a candidate's outcome. */
export function candidateRuleText(candidate: SeriesCandidateView, messages: Messages): string {
  // Own keys only: a stored rule such as "constructor" must not reach Object.prototype.
  const lookup = (table: Readonly<Record<string, string>>): string =>
    Object.hasOwn(table, candidate.rule) ? table[candidate.rule]! : candidate.rule;
  switch (candidate.outcome) {
    case 'chosen':
      return lookup(messages.seriesReason);
    case 'ranked':
      return lookup(messages.seriesRankedRule);
    case 'excluded':
      return messages.seriesExcludedRule(candidate.rule, candidate.pattern);
  }
}

/**
 * Builds the section. With `choice`, on the automatic result, it lists the candidates to choose from.
 * Without it, on a requested result, it shows the series used and its reason only.
 */
export function seriesSection(
  selection: SeriesSelectionView,
  choice: SeriesChoice | undefined,
  messages: Messages,
): HTMLElement {
  const created = element('section', undefined, { id: 'series', 'aria-labelledby': 'series-heading' });
  created.append(element('h2', messages.seriesHeading, { id: 'series-heading' }));
  const number = selection.seriesNumber === null ? '–' : String(selection.seriesNumber);
  created.append(element('p', messages.seriesLine(selection.seriesDescription, number)));
  // Own keys only, as in candidateRuleText.
  const reason = Object.hasOwn(messages.seriesReason, selection.reason)
    ? messages.seriesReason[selection.reason]
    : undefined;
  if (reason !== undefined) created.append(element('p', reason));
  if (choice === undefined) return created;

  const candidates = selection.candidates;
  if (candidates === undefined || candidates.length === 0) {
    created.append(
      element('p', messages.seriesCandidatesUnavailable, { id: 'series-candidates-unavailable' }),
    );
    return created;
  }

  const chosenUid = candidates.find((candidate) => candidate.outcome === 'chosen')?.seriesInstanceUid;
  const selectedUid = choice.selectedSeriesUid ?? chosenUid;
  created.append(candidateTable(candidates, selectedUid, messages));

  const button = element('button', messages.analyseSeries, {
    type: 'button',
    id: 'analyse-series',
    'data-action': ANALYSE_SERIES_ACTION,
    'aria-describedby': 'analyse-series-hint',
  });
  button.disabled = selectedUid === undefined || selectedUid === chosenUid;
  const hint = element('p', messages.analyseSeriesHint, { id: 'analyse-series-hint', class: 'hint' });
  created.append(hint, button);

  if (choice.requestError !== undefined) {
    const { status, code } = choice.requestError;
    created.append(
      element('p', messages.analysisRequestFailed(status, code), {
        id: 'series-request-error',
        role: 'alert',
        class: 'error',
      }),
    );
  }
  return created;
}

/**
 * Builds the table of candidates inside a fieldset. The radio buttons share one name, so the arrow
 * keys move between them and Tab leaves the group, as in any radio group.
 */
function candidateTable(
  candidates: readonly SeriesCandidateView[],
  selectedUid: string | undefined,
  messages: Messages,
): HTMLElement {
  const fieldset = element('fieldset', undefined, { id: 'series-candidates' });
  fieldset.append(element('legend', messages.seriesChoiceLegend));

  const table = element('table');
  const head = element('tr');
  head.append(
    element('th', '', { scope: 'col' }),
    element('th', messages.seriesDescriptionColumn, { scope: 'col' }),
    element('th', messages.seriesNumberColumn, { scope: 'col', class: 'number' }),
    element('th', messages.seriesImagesColumn, { scope: 'col', class: 'number' }),
    element('th', messages.seriesThicknessColumn, { scope: 'col', class: 'number' }),
    element('th', messages.seriesKernelColumn, { scope: 'col' }),
    element('th', messages.seriesOutcomeColumn, { scope: 'col' }),
  );
  table.append(element('thead'), element('tbody'));
  table.tHead!.append(head);

  for (let i = 0; i < candidates.length; i++) {
    const candidate = candidates[i]!;
    const inputId = `series-choice-${i}`;
    const radio = element('input', undefined, {
      type: 'radio',
      name: SERIES_CHOICE_NAME,
      id: inputId,
      value: candidate.seriesInstanceUid,
    });
    radio.checked = candidate.seriesInstanceUid === selectedUid;

    const description = element('td');
    description.append(element('label', candidate.seriesDescription || '–', { for: inputId }));
    const selectCell = element('td');
    selectCell.append(radio);

    const outcome = element('td', undefined, { class: 'series-outcome' });
    outcome.append(
      element('strong', messages.seriesOutcome[candidate.outcome]),
      ' ',
      candidateRuleText(candidate, messages),
    );

    const row = element('tr', undefined, {
      'data-series-uid': candidate.seriesInstanceUid,
      'data-outcome': candidate.outcome,
    });
    row.append(
      selectCell,
      description,
      element('td', candidate.seriesNumber === null ? '–' : String(candidate.seriesNumber), {
        class: 'number',
      }),
      element('td', candidate.instanceCount === null ? '–' : String(candidate.instanceCount), {
        class: 'number',
      }),
      element('td', candidate.sliceThicknessMm === null ? '–' : `${candidate.sliceThicknessMm} mm`, {
        class: 'number',
      }),
      element('td', candidate.convolutionKernel ?? '–'),
      outcome,
    );
    table.tBodies[0]!.append(row);
  }

  const scroller = element('div', undefined, { class: 'table-scroll' });
  scroller.append(table);
  fieldset.append(scroller);
  return fieldset;
}

/** Builds the label above a requested result or its pending or failed screen, with the way back. */
export function requestedBanner(series: RequestedSeries, messages: Messages): HTMLElement {
  const banner = element('section', undefined, {
    id: 'requested-series',
    class: 'screen requested',
    role: 'note',
  });
  banner.append(element('p', messages.requestedResultLabel(seriesName(series, messages))));
  banner.append(
    element('button', messages.backToAutomatic, {
      type: 'button',
      id: 'back-to-automatic',
      'data-action': BACK_TO_AUTOMATIC_ACTION,
    }),
  );
  return banner;
}

/**
 * Asks the user to confirm the analysis of `candidate` in a modal dialog, which names what happens
 * and, for an excluded series, the rule that excluded it. Resolves true on confirmation, false on
 * Cancel or Escape.
 */
export function confirmSeriesAnalysis(candidate: SeriesCandidateView, messages: Messages): Promise<boolean> {
  const dialog = element('dialog', undefined, {
    id: 'confirm-series',
    'aria-labelledby': 'confirm-series-title',
    'aria-describedby': 'confirm-series-body',
  });
  dialog.append(element('h2', messages.confirmAnalysisTitle, { id: 'confirm-series-title' }));
  const body = element('div', undefined, { id: 'confirm-series-body' });
  body.append(element('p', messages.confirmAnalysisBody(seriesName(candidate, messages))));
  if (candidate.outcome === 'excluded') {
    body.append(
      element('p', messages.confirmExcludedSeries(candidateRuleText(candidate, messages)), {
        id: 'confirm-series-excluded',
        class: 'error',
      }),
    );
  }
  dialog.append(body);

  const form = element('form', undefined, { method: 'dialog', class: 'dialog-buttons' });
  const confirm = element('button', messages.confirmAnalysis, {
    value: 'confirm',
    id: 'confirm-series-start',
  });
  const cancel = element('button', messages.cancel, { value: 'cancel', id: 'confirm-series-cancel' });
  form.append(confirm, cancel);
  dialog.append(form);

  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'confirm');
    });
    dialog.showModal();
    confirm.focus();
  });
}
