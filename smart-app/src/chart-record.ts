/**
 * "Record in chart": the section below the result that shows whether a clinician recorded the result
 * in the chart, and lets the signed-in clinician record it as final, or amend the record, after a
 * confirmation dialog. The service writes the Observation and its Provenance with the launch's token
 * (`POST /api/analyses/{id}/record`); the browser sends only who confirmed.
 */

import { chartRecordMessages, type ChartRecordMessages } from './chart-record-messages.js';
import type { Locale, Messages } from './messages.js';
import { postChartRecord, type ChartRecordView, type ScoreResultView } from './service-api.js';

/** The analysis shown, the launch it was opened in, and the chart's latest record of its study. */
export interface ChartRecordSource {
  readonly analysisId: string;
  readonly fhirServer: string;
  readonly accessToken: string;
  readonly patientId: string;
  /** The launch's `fhirUser`, e.g. `Practitioner/123`; undefined when the EHR sent none. */
  readonly clinician: string | undefined;
  readonly result: ScoreResultView;
  /** Updated after each successful record, so a language switch shows the new state. */
  chartRecord: ChartRecordView | undefined;
}

/** Appends the section to `container`. */
export function appendChartRecord(
  container: HTMLElement,
  source: ChartRecordSource,
  messages: Messages,
  locale: Locale,
): void {
  const text = chartRecordMessages(locale);
  const section = document.createElement('section');
  section.id = 'chart-record';
  section.setAttribute('aria-labelledby', 'chart-record-heading');
  const heading = document.createElement('h2');
  heading.id = 'chart-record-heading';
  heading.textContent = text.heading;
  const status = paragraph('chart-record-status', statusLine(source, text, locale));
  const notice = paragraph('chart-record-notice', '');
  notice.setAttribute('role', 'status');
  section.append(heading, status);

  const blocker = recordBlocker(source, text);
  if (blocker !== undefined) {
    section.append(paragraph('chart-record-blocked', blocker));
    container.append(section);
    return;
  }

  const button = document.createElement('button');
  button.type = 'button';
  button.id = 'chart-record-open';
  button.textContent = source.chartRecord === undefined ? text.recordButton : text.amendButton;
  const dialog = confirmationDialog(source, messages, text);
  button.addEventListener('click', () => {
    notice.textContent = '';
    dialog.showModal();
  });

  dialog.addEventListener('close', () => {
    if (dialog.returnValue !== 'confirm') {
      button.focus();
      return;
    }
    void record(source, text, { button, notice }).then((recorded) => {
      if (recorded === undefined) return;
      status.textContent = statusLine(source, text, locale);
      button.textContent = text.amendButton;
    });
  });

  section.append(button, notice, dialog);
  container.append(section);
}

/** Returns why this result cannot be recorded by this user, or undefined when it can. */
function recordBlocker(source: ChartRecordSource, text: ChartRecordMessages): string | undefined {
  if (source.result.probability === null) return text.noProbability;
  if (source.clinician === undefined || !/^(Practitioner|PractitionerRole)\//.test(source.clinician)) {
    return text.noClinician;
  }
  return undefined;
}

/** Sends the record and reports the outcome in `notice`; returns the new record, or undefined on failure. */
async function record(
  source: ChartRecordSource,
  text: ChartRecordMessages,
  controls: { readonly button: HTMLButtonElement; readonly notice: HTMLElement },
): Promise<ChartRecordView | undefined> {
  const { button, notice } = controls;
  button.disabled = true;
  notice.textContent = text.saving;

  const outcome = await postChartRecord(
    source.analysisId,
    source.fhirServer,
    source.accessToken,
    source.patientId,
    source.clinician ?? '',
  );
  button.disabled = false;
  if (!outcome.ok) {
    notice.textContent = text.failure(outcome.status, outcome.code);
    notice.dataset.outcome = 'failed';
    button.focus();
    return undefined;
  }

  source.chartRecord = outcome.body;
  notice.textContent = text.saved(outcome.body.status);
  notice.dataset.outcome = 'recorded';
  button.focus();
  return outcome.body;
}

/**
 * Builds the modal dialog that states what will be written before anything is. Its form uses
 * `method="dialog"`, so the buttons close it with `returnValue` `confirm` or `cancel`, and Escape
 * cancels.
 */
function confirmationDialog(
  source: ChartRecordSource,
  messages: Messages,
  text: ChartRecordMessages,
): HTMLDialogElement {
  const dialog = document.createElement('dialog');
  dialog.id = 'chart-record-dialog';
  dialog.setAttribute('aria-labelledby', 'chart-record-dialog-title');
  const form = document.createElement('form');
  form.method = 'dialog';

  const title = document.createElement('h3');
  title.id = 'chart-record-dialog-title';
  title.textContent = text.dialogTitle;
  const { result } = source;
  let predicted = '—';
  if (result.class === 'high') predicted = messages.classHigh;
  if (result.class === 'low') predicted = messages.classLow;
  const selection = result.provenance.seriesSelection;
  const series =
    selection === undefined
      ? '—'
      : `${selection.seriesDescription}${selection.seriesNumber === null ? '' : ` (#${selection.seriesNumber})`}`;
  form.append(
    title,
    paragraph(
      'chart-record-dialog-body',
      text.dialogBody(result.probability?.toFixed(3) ?? '—', predicted, series),
    ),
  );
  if (source.chartRecord !== undefined)
    form.append(paragraph('chart-record-dialog-amend', text.dialogAmendNote));
  form.append(paragraph('chart-record-dialog-signer', text.dialogSigner));

  const actions = document.createElement('div');
  actions.className = 'dialog-actions';
  const cancel = document.createElement('button');
  cancel.value = 'cancel';
  cancel.textContent = text.cancel;
  cancel.id = 'chart-record-cancel';
  const confirm = document.createElement('button');
  confirm.value = 'confirm';
  confirm.textContent = text.confirm;
  confirm.id = 'chart-record-confirm';
  confirm.className = 'primary';
  // Cancel comes first and takes the focus, so Enter on an opened dialog does not write to the chart.
  cancel.autofocus = true;
  actions.append(cancel, confirm);
  form.append(actions);
  dialog.append(form);
  return dialog;
}

function statusLine(source: ChartRecordSource, text: ChartRecordMessages, locale: Locale): string {
  const latest = source.chartRecord;
  if (latest === undefined) return text.notRecorded;
  const time = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(
    new Date(latest.recordedAt),
  );
  const line = text.recorded(latest.status, latest.clinician.display ?? text.unknownClinician, time);
  return latest.analysisId === source.analysisId ? line : `${line} ${text.recordedFromOtherAnalysis}`;
}

function paragraph(id: string, content: string): HTMLParagraphElement {
  const created = document.createElement('p');
  created.id = id;
  created.textContent = content;
  return created;
}
