/**
 * Renders the app's screens into `<main>`: the result with its evidence, or one screen that
 * explains why there is no result. `main[data-screen]` names the screen shown, for tests and styles.
 */

import {
  contributionChart,
  forestPlot,
  probabilityBar,
  type ContributionBar,
  type ForestRow,
} from './charts.js';
import { failureText } from './failure-text.js';
import { featureNameWords } from './feature-name.js';
import type { Locale, Messages, ScreenText } from './messages.js';
import {
  requestedBanner,
  seriesName,
  seriesSection,
  type RequestedSeries,
  type SeriesChoice,
} from './series-choice.js';
import type { Estimate, Fetched, ModelCardView, ScoreResultView } from './service-api.js';
import { element } from './dom.js';

/** Keys of the screens that replace the result. */
export type ScreenKey =
  | 'sessionExpired'
  | 'missingPatient'
  | 'noEligibleStudy'
  | 'pending'
  | 'notFound'
  | 'forbidden'
  | 'otherPatient'
  | 'launchFailed'
  | 'serviceUnreachable'
  | 'serviceMalformed'
  | 'connectionBlocked';

/** Content of the page, kept so that it is rendered again when the user switches the language. */
export type View =
  | { readonly kind: 'loading' }
  | { readonly kind: 'screen'; readonly screen: ScreenKey }
  | { readonly kind: 'serviceError'; readonly status: number }
  | {
      readonly kind: 'failed';
      readonly code: string;
      readonly message: string;
      /** The series a user requested; undefined when the automatic analysis failed. */
      readonly requested?: RequestedSeries;
    }
  | {
      readonly kind: 'stillRunning';
      /** Minutes the app read the analysis again before it stopped. */
      readonly minutes: number;
      /** Reads the analysis again and restarts the bounded polling. */
      readonly checkAgain: () => void;
    }
  | {
      readonly kind: 'result';
      readonly result: ScoreResultView;
      readonly card: Fetched<ModelCardView>;
      /** Link to the study in the configured image viewer; undefined without a viewer. */
      readonly viewerUrl: string | undefined;
      /** State of the series choice; undefined on a requested result, which offers none. */
      readonly seriesChoice?: SeriesChoice;
      /** The series a user requested; undefined on the automatic result. */
      readonly requested?: RequestedSeries;
    }
  | { readonly kind: 'requestedPending'; readonly series: RequestedSeries };

/** Significant digits of a feature value; enough to compare with the stored double by eye. */
const FEATURE_SIGNIFICANT_DIGITS = 6;

/** Formats a probability or threshold with three decimals, as the CDS card does. */
export function formatProbability(value: number): string {
  return value.toFixed(3);
}

/** Formats a feature value with six significant digits in the given locale. */
export function formatFeature(value: number, locale: Locale): string {
  return new Intl.NumberFormat(locale, { maximumSignificantDigits: FEATURE_SIGNIFICANT_DIGITS }).format(
    value,
  );
}

function section(id: string, heading: string): HTMLElement {
  const created = element('section', undefined, { id, 'aria-labelledby': `${id}-heading` });
  created.append(element('h2', heading, { id: `${id}-heading` }));
  return created;
}

function screen(main: HTMLElement, key: string, text: ScreenText, role: 'alert' | 'status'): HTMLElement {
  main.dataset.screen = key;
  const box = element('section', undefined, { class: `screen screen-${key}`, role });
  box.append(element('h2', text.title), element('p', text.body));
  main.append(box);
  return box;
}

/** Replaces the content of `main` with `view` in the language of `messages`. */
export function renderView(main: HTMLElement, view: View, messages: Messages, locale: Locale): void {
  main.replaceChildren();
  switch (view.kind) {
    case 'loading':
      main.dataset.screen = 'loading';
      main.append(element('p', messages.loading));
      return;
    case 'screen': {
      const text = messages[view.screen];
      screen(main, view.screen, text, view.screen === 'pending' ? 'status' : 'alert');
      return;
    }
    case 'serviceError':
      screen(main, 'serviceError', messages.serviceError(view.status), 'alert');
      return;
    case 'failed':
      renderFailure(main, view, messages, locale);
      return;
    case 'stillRunning': {
      const box = screen(main, 'stillRunning', messages.stillRunning(view.minutes), 'status');
      const button = element('button', messages.checkAgain, { type: 'button', id: 'check-again' });
      button.addEventListener('click', view.checkAgain);
      box.append(button);
      return;
    }
    case 'requestedPending':
      main.append(requestedBanner(view.series, messages));
      screen(
        main,
        'requestedPending',
        messages.requestedPending(seriesName(view.series, messages)),
        'status',
      );
      return;
    case 'result':
      renderResult(main, view, messages, locale);
      return;
  }
}

/**
 * Shows a failed analysis: the code, its explanation and what to do in the page's language, and the
 * service's stored message, which is English only, under a disclosure for hospital IT.
 */
function renderFailure(
  main: HTMLElement,
  view: Extract<View, { kind: 'failed' }>,
  messages: Messages,
  locale: Locale,
): void {
  if (view.requested !== undefined) main.append(requestedBanner(view.requested, messages));
  const box = screen(main, 'failed', messages.failed(view.code), 'alert');
  const text = failureText(view.code, locale);
  box.append(element('p', text.explanation, { class: 'failure-explanation' }));
  const action = element('p', undefined, { class: 'failure-action' });
  action.append(element('strong', messages.failureActionLabel), ` ${text.action}`);
  box.append(action);

  if (view.code === 'ERR_REQUESTED_SERIES_INVALID') {
    box.append(element('p', messages.requestedSeriesInvalid, { id: 'requested-series-invalid' }));
  }
  // A requested series often lacks a segmentation, because a tumour is usually segmented on one phase.
  if (view.requested !== undefined && view.code === 'ERR_SEGMENTATION_MISSING') {
    box.append(element('p', messages.requestedSegmentationMissing, { id: 'requested-segmentation-missing' }));
  }

  const details = element('details', undefined, { class: 'failure-details' });
  details.append(
    element('summary', messages.technicalDetails),
    element('p', view.code, { class: 'failure-code' }),
    element('p', view.message, { lang: 'en', class: 'failure-message' }),
  );
  box.append(details);
}

/**
 * Appends a feature name with a line break opportunity (`<wbr>`) between its words, so a long name
 * wraps between words, never inside one.
 */
function appendBreakableName(parent: HTMLElement, name: string): void {
  const parts = featureNameWords(name);
  for (let i = 0; i < parts.length; i++) {
    if (i > 0) parent.append(document.createElement('wbr'));
    parent.append(parts[i]!);
  }
}

function renderResult(
  main: HTMLElement,
  view: Extract<View, { kind: 'result' }>,
  messages: Messages,
  locale: Locale,
): void {
  const { result, card } = view;
  main.dataset.screen = 'result';
  if (view.requested !== undefined) main.append(requestedBanner(view.requested, messages));

  if (result.probability === null) {
    const notice =
      result.probabilityUnavailableReason === 'coefficients-missing'
        ? messages.coefficientsMissing
        : messages.uncalibrated;
    const box = element('section', undefined, {
      class: 'screen notice',
      role: 'status',
      id: 'no-probability',
    });
    box.append(element('h2', notice.title), element('p', notice.body));
    main.append(box);
  } else {
    main.append(probabilitySection(result, result.probability, messages));
    if (result.calibrated)
      appendCalibrationCohort(document.getElementById('probability'), result, card, messages, locale);
  }

  main.append(featureSection(result, card, messages, locale));
  const selection = result.provenance.seriesSelection;
  if (selection !== undefined) main.append(seriesSection(selection, view.seriesChoice, messages));

  if (view.viewerUrl !== undefined) {
    const link = element('a', messages.openImages, {
      href: view.viewerUrl,
      target: '_blank',
      rel: 'noopener',
    });
    link.id = 'open-images';
    const paragraph = element('p');
    paragraph.append(link);
    main.append(paragraph);
  }

  if (card.ok) main.append(evidenceSection(card.body, messages, locale));
  else
    main.append(element('p', messages.modelCardUnavailable(card.status), { id: 'model-card-unavailable' }));
}

function probabilitySection(result: ScoreResultView, probability: number, messages: Messages): HTMLElement {
  const created = section('probability', messages.probabilityHeading);
  const probabilityText = formatProbability(probability);
  const thresholdText = formatProbability(result.threshold);

  created.append(
    probabilityBar({
      probability,
      threshold: result.threshold,
      probabilityText,
      thresholdText,
      thresholdLabel: messages.thresholdLabel,
      label: messages.probabilityChartLabel(probabilityText, thresholdText),
    }),
  );

  const figures = element('dl', undefined, { class: 'figures' });
  figures.append(
    element('dt', messages.probabilityLabel),
    element('dd', probabilityText, { id: 'probability-value', 'data-value': String(probability) }),
    element('dt', messages.thresholdLabel),
    element('dd', thresholdText, { id: 'threshold-value', 'data-value': String(result.threshold) }),
  );
  created.append(figures);

  if (result.class !== null) {
    const classText = result.class === 'high' ? messages.classHigh : messages.classLow;
    created.append(
      element('p', classText, { id: 'predicted-class', 'data-class': result.class, class: 'class' }),
    );
  }
  if (result.calibrated)
    created.append(element('p', messages.calibrated(result.model.version), { id: 'calibration' }));
  return created;
}

/**
 * Adds where the model was calibrated: the calibration cohort of the loaded model card, when that
 * card has the result's model version (a later card may have been calibrated on another cohort).
 * A generated demo cohort gets a warning that the result is not for clinical use.
 */
function appendCalibrationCohort(
  holder: HTMLElement | null,
  result: ScoreResultView,
  card: Fetched<ModelCardView>,
  messages: Messages,
  locale: Locale,
): void {
  if (holder === null || !card.ok || card.body.version !== result.model.version) return;
  const cohort = card.body.calibration?.scaling?.cohort;
  if (cohort === undefined) return;

  const date = new Intl.DateTimeFormat(locale, { dateStyle: 'medium' }).format(new Date(cohort.createdAt));
  holder.append(
    element('p', messages.calibrationCohort(cohort.description, cohort.caseCount, date), {
      id: 'calibration-cohort',
    }),
  );
  if (cohort.synthetic) {
    holder.append(
      element('p', messages.syntheticCohort, { id: 'synthetic-cohort', class: 'error', role: 'alert' }),
    );
  }
}

function featureSection(
  result: ScoreResultView,
  card: Fetched<ModelCardView>,
  messages: Messages,
  locale: Locale,
): HTMLElement {
  const created = section('features', messages.featuresHeading);
  const regions = new Map<string, 'tumour' | 'peri'>();
  if (card.ok) for (const feature of card.body.features) regions.set(feature.name, feature.region);

  const table = element('table');
  const head = element('tr');
  head.append(
    element('th', messages.featureColumn, { scope: 'col' }),
    element('th', messages.regionColumn, { scope: 'col' }),
    element('th', messages.valueColumn, { scope: 'col', class: 'number' }),
  );
  // Null: the card has no scaling. Absent on a calibrated result: stored before the field existed.
  const scaledFeatures = result.scaledFeatures;
  const scaledNotStored = scaledFeatures === undefined && result.calibrated;
  if (scaledFeatures != null || scaledNotStored) {
    head.append(element('th', messages.scaledColumn, { scope: 'col', class: 'number' }));
  }
  const contributions = result.contributions;
  if (contributions !== null) {
    head.append(element('th', messages.contributionColumn, { scope: 'col', class: 'number' }));
  }
  table.append(element('thead'), element('tbody'));
  table.tHead!.append(head);

  for (const [name, value] of Object.entries(result.features)) {
    const region = regions.get(name);
    let regionText = '–';
    if (region === 'tumour') regionText = messages.regionTumour;
    if (region === 'peri') regionText = messages.regionPeri(result.provenance.dilationMm);

    const row = element('tr', undefined, { 'data-feature': name });
    const nameCell = element('th', undefined, { scope: 'row', class: 'feature-name' });
    appendBreakableName(nameCell, name);
    row.append(
      nameCell,
      element('td', regionText, { class: 'region' }),
      element('td', formatFeature(value, locale), {
        class: 'number feature-value',
        'data-value': String(value),
      }),
    );
    if (scaledFeatures != null || scaledNotStored) row.append(scaledCell(scaledFeatures?.[name]));
    const contribution = contributions?.[name];
    if (contributions !== null) {
      // A feature without a term shows a dash, so the columns stay aligned.
      // A non-finite value arrives as JSON null; it shows a dash rather than stopping the page.
      const known = typeof contribution === 'number' && Number.isFinite(contribution);
      const text = known ? contribution.toFixed(3) : '–';
      const attributes = known ? { 'data-contribution': String(contribution) } : {};
      row.append(element('td', text, { class: 'number contribution', ...attributes }));
    }
    table.tBodies[0]!.append(row);
  }

  const scroller = element('div', undefined, { class: 'table-scroll', tabindex: '0', role: 'region' });
  scroller.setAttribute('aria-labelledby', 'features-heading');
  scroller.append(table);
  created.append(scroller);
  if (scaledNotStored) created.append(element('p', messages.scaledNotStored, { id: 'scaled-not-stored' }));

  if (contributions !== null) {
    const bars: ContributionBar[] = [];
    for (const [name, value] of Object.entries(contributions)) {
      if (typeof value === 'number' && Number.isFinite(value)) bars.push({ label: name, value });
    }
    created.append(contributionChart(bars, messages.contributionChartLabel));
  }
  return created;
}

/** Builds the cell of a scaled value z, three decimals as for contributions, or a dash without one. */
function scaledCell(value: number | undefined): HTMLElement {
  // A non-finite value arrives as JSON null and shows a dash, as for a contribution.
  if (typeof value !== 'number' || !Number.isFinite(value))
    return element('td', '–', { class: 'number scaled' });
  return element('td', value.toFixed(3), { class: 'number scaled', 'data-scaled': String(value) });
}

function estimateText(estimate: Estimate, messages: Messages): string {
  const value = estimate.value.toFixed(3);
  if (estimate.ci === undefined) return value;
  const { lower, upper, level } = estimate.ci;
  return `${value} (${messages.confidenceInterval(level)} ${lower.toFixed(3)}–${upper.toFixed(3)})`;
}

function evidenceSection(card: ModelCardView, messages: Messages, locale: Locale): HTMLElement {
  const created = section('evidence', messages.evidenceHeading);
  created.append(element('p', card.title[locale], { class: 'card-title' }));

  const performance = element('dl', undefined, { class: 'figures', id: 'auc' });
  const auc = card.performance?.auc;
  const externalAuc = card.performance?.externalAuc;
  if (auc !== undefined) {
    performance.append(element('dt', messages.aucDevelopment), element('dd', estimateText(auc, messages)));
  }
  if (externalAuc !== undefined) {
    performance.append(
      element('dt', messages.aucExternal),
      element('dd', estimateText(externalAuc, messages)),
    );
  }
  created.append(performance);

  const rows: ForestRow[] = [];
  const hazardRatios = (card.evidence ?? []).filter((item) => item.kind === 'hazard-ratio');
  for (let i = 0; i < hazardRatios.length; i++) {
    const item = hazardRatios[i]!;
    const estimate = item.estimate;
    if (estimate?.ci === undefined) continue;
    rows.push({
      label: `(${rows.length + 1})`,
      value: estimate.value,
      lower: estimate.ci.lower,
      upper: estimate.ci.upper,
      text: `${estimate.value.toFixed(3)} (${estimate.ci.lower.toFixed(3)}–${estimate.ci.upper.toFixed(3)})`,
    });
  }
  if (rows.length > 0) {
    created.append(element('h3', messages.hazardRatioHeading));
    created.append(forestPlot(rows, messages.hazardRatioChartLabel));
    // The list numbers the same estimates as the plot's row labels, with their full description.
    const list = element('ol', undefined, { id: 'hazard-ratios' });
    for (let i = 0; i < hazardRatios.length; i++) {
      const item = hazardRatios[i]!;
      if (item.estimate?.ci === undefined) continue;
      list.append(element('li', `${item.description[locale]} HR ${estimateText(item.estimate, messages)}`));
    }
    created.append(list);
  }

  created.append(element('h3', messages.intendedUseHeading), element('p', card.intendedUse[locale]));
  const limitations = element('ul', undefined, { id: 'limitations' });
  for (const limitation of card.limitations) limitations.append(element('li', limitation[locale]));
  created.append(element('h3', messages.limitationsHeading), limitations);

  const citation = element('p', card.citation.text, { id: 'citation', lang: 'en' });
  if (card.citation.url !== undefined && /^https:\/\//.test(card.citation.url)) {
    citation.append(' ');
    citation.append(
      element('a', card.citation.url, { href: card.citation.url, target: '_blank', rel: 'noopener' }),
    );
  }
  created.append(element('h3', messages.citationHeading), citation);
  return created;
}
