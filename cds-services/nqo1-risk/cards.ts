/**
 * Cards of the NQO1 risk service, built from the stored analysis of one study. Every card has a
 * summary under 140 characters, a source citing the model's publication, and a uuid that stays the
 * same for the same study, model version and status, so an EHR can recognise a card it has shown.
 *
 * A probability appears only when the stored result carries one. Without calibration, the card
 * lists the measured features and states that a probability needs site calibration.
 *
 * @see https://cds-hooks.hl7.org/2.0/#card-attributes
 */

import { createHash } from 'node:crypto';

import { DEFAULT_RETRY_FAILED_AFTER_MS } from '../../src/jobs/queue.js';
import type { StoredAnalysis } from '../../src/jobs/types.js';
import type { ModelCard } from '../../src/model/card.js';
import type { ScoreResult, SeriesExclusionRule } from '../../src/model/result.js';
import type { CdsCard, CdsLink, CdsSource, OverrideReasonCoding } from '../../src/server/cds-types.js';
import type { Locale } from '../../src/server/config.js';
import { CARD_MESSAGES, type CardMessages, type FailureKind, type OverrideReasonCode } from './messages.js';

/** Coding system of the card topic. */
export const CARD_TOPIC_SYSTEM = 'urn:nqo1-cds:card-topic';

/** Coding system of the override reasons offered on result cards. */
export const OVERRIDE_REASON_SYSTEM = 'urn:nqo1-cds:override-reason';

/** Override reason codes in the order the EHR lists them. */
export const OVERRIDE_REASON_CODES: readonly OverrideReasonCode[] = [
  'segmentation-incorrect',
  'wrong-series-or-phase',
  'not-relevant-to-patient',
  'already-known',
];

/** Inputs that every card of one hook call needs besides the stored analysis. */
export interface CardContext {
  readonly studyInstanceUid: string;
  readonly modelCard: Pick<ModelCard, 'id' | 'version' | 'title' | 'citation' | 'features'> &
    Partial<Pick<ModelCard, 'evidence'>>;
  readonly locale: Locale;
  readonly smartAppUrl: string;
  /**
   * Wait before a failed analysis runs again (`jobs.retryFailedAfterMs`), stated on failure cards.
   * Defaults to {@link DEFAULT_RETRY_FAILED_AFTER_MS}.
   */
  readonly retryFailedAfterMs?: number;
  /** Template of a viewer link with `{{studyInstanceUid}}`, when configured. */
  readonly viewerUrlTemplate?: string;
}

/** Error codes grouped by what is missing; any other code is `unavailable`. */
const FAILURE_KIND_BY_CODE: Readonly<Record<string, FailureKind>> = {
  ERR_DICOMWEB_FAILED: 'images-unavailable',
  ERR_FHIR_FAILED: 'write-back',
  ERR_FHIR_REJECTED: 'write-back',
  ERR_MASK_EMPTY: 'segmentation',
  ERR_MASK_GEOMETRY: 'segmentation',
  ERR_SEG_MALFORMED: 'segmentation',
  ERR_SEGMENTATION_MISSING: 'segmentation',
  ERR_REQUESTED_SEGMENTATION_INVALID: 'segmentation',
  ERR_SEGMENT_SELECTION: 'segmentation',
  ERR_ROI_TOO_SMALL: 'segmentation',
  ERR_SERIES_EMPTY: 'series',
  ERR_SERIES_GEOMETRY: 'series',
  ERR_SERIES_MIXED: 'series',
  ERR_REQUESTED_SERIES_INVALID: 'series',
  ERR_DICOM_MALFORMED: 'series',
  ERR_DICOM_UNSUPPORTED: 'series',
  ERR_IMAGE_VALUES: 'series',
  ERR_MODEL_CARD_INVALID: 'model',
  ERR_MODEL_FEATURE_MISSING: 'model',
  ERR_SETTINGS_INVALID: 'model',
  ERR_TOO_MANY_GRAY_LEVELS: 'model',
};

/** Builds the card shown while the study waits in the queue or is being analysed. */
export function buildInProgressCard(context: CardContext): CdsCard {
  const messages = CARD_MESSAGES[context.locale];
  return {
    uuid: cardUuid(context, 'in-progress'),
    summary: messages.inProgressSummary,
    detail: joinParagraphs([messages.inProgressDetail, messages.studyLine(context.studyInstanceUid)]),
    indicator: 'info',
    source: buildSource(context, messages),
  };
}

/** Builds the card for a stored analysis: in progress, result, or what is missing after a failure. */
export function buildCard(context: CardContext, analysis: StoredAnalysis): CdsCard {
  switch (analysis.status) {
    case 'pending':
    case 'running':
      return buildInProgressCard(context);
    case 'done':
      return buildResultCard(context, analysis.result, analysis.id);
    case 'failed':
      return buildFailureCard(context, analysis.failure.code);
  }
}

/** Builds the result card: probability against threshold, or the feature values when there is none. */
export function buildResultCard(context: CardContext, result: ScoreResult, analysisId: string): CdsCard {
  const messages = CARD_MESSAGES[context.locale];
  const { probability } = result;
  const links: CdsLink[] = [
    { label: messages.smartLinkLabel, url: context.smartAppUrl, type: 'smart', appContext: analysisId },
  ];
  const viewerLink = buildViewerLink(context, messages);
  if (viewerLink !== undefined) links.push(viewerLink);

  if (probability === null) {
    const reason = result.probabilityUnavailableReason ?? 'uncalibrated';
    return {
      uuid: cardUuid(context, resultCardStatus(result)),
      summary: messages.featuresOnlySummary[reason],
      detail: joinParagraphs([
        messages.noProbability[reason],
        featureTable(context, result, messages),
        seriesLine(result, messages),
        ...footer(context, messages),
      ]),
      indicator: 'info',
      source: buildSource(context, messages),
      links,
      overrideReasons: buildOverrideReasons(messages),
    };
  }

  const atOrAbove = probability >= result.threshold;
  const probabilityText = probability.toFixed(2);
  return {
    uuid: cardUuid(context, resultCardStatus(result)),
    summary: atOrAbove
      ? messages.likelyHighSummary(probabilityText)
      : messages.likelyLowSummary(probabilityText),
    detail: joinParagraphs([
      messages.probabilityLine(probabilityText, String(result.threshold), atOrAbove),
      atOrAbove ? prognosisLine(context, messages) : '',
      seriesLine(result, messages),
      ...footer(context, messages),
    ]),
    indicator: atOrAbove ? 'warning' : 'info',
    source: buildSource(context, messages),
    links,
    overrideReasons: buildOverrideReasons(messages),
  };
}

/**
 * Status part of a result card's uuid: `done-high` or `done-low` for a probability at or above, or
 * below, the threshold, and `done-features` when the card shows the features without a probability.
 */
export function resultCardStatus(result: ScoreResult): 'done-features' | 'done-high' | 'done-low' {
  if (result.probability === null) return 'done-features';
  return result.probability >= result.threshold ? 'done-high' : 'done-low';
}

/** Dates of the two studies named on a result shown for an older study: FHIR `started` values. */
export interface OlderStudyDates {
  readonly resultStudyStarted?: string;
  readonly newestStudyStarted?: string;
}

/**
 * Builds the result card of an older study, shown while the newest eligible study has no finished
 * result yet. `context.studyInstanceUid` is the older study's. The card opens with a line naming
 * both study dates, so the reader does not mistake the result for one of the newest study. Its uuid
 * differs from the plain result card's because its text differs: its status part is `older-` before
 * the result card's status, so feedback on it still links to the older study's analysis.
 */
export function buildOlderStudyResultCard(
  context: CardContext,
  result: ScoreResult,
  analysisId: string,
  dates: OlderStudyDates,
): CdsCard {
  const messages = CARD_MESSAGES[context.locale];
  const card = buildResultCard(context, result, analysisId);
  const line = messages.olderStudyLine(
    studyDate(dates.resultStudyStarted, messages),
    studyDate(dates.newestStudyStarted, messages),
  );
  return {
    ...card,
    uuid: cardUuid(context, `older-${resultCardStatus(result)}`),
    detail: joinParagraphs([line, card.detail ?? '']),
  };
}

/**
 * Extracts the calendar date of a FHIR dateTime as recorded (its first 10 characters, `YYYY-MM-DD`, in the
 * time zone the EHR wrote), or the year or year-month of a partial date.
 */
function studyDate(started: string | undefined, messages: CardMessages): string {
  if (started === undefined) return messages.unknownStudyDate;
  const date = /^\d{4}(-\d{2}(-\d{2})?)?/.exec(started)?.[0];
  return date ?? messages.unknownStudyDate;
}

/**
 * States the prognosis of the positive class from the model card's first hazard-ratio evidence with
 * a confidence interval (for BR-RO the multivariate Cox model: HR 1.761, 95 % CI 1.136–2.73,
 * p = 0.011), so that the card shows the figures the model card carries.
 */
function prognosisLine(context: CardContext, messages: CardMessages): string {
  const hazard = context.modelCard.evidence?.find(
    (item) => item.kind === 'hazard-ratio' && item.estimate?.ci !== undefined,
  );
  const estimate = hazard?.estimate;
  if (hazard === undefined || estimate?.ci === undefined) return messages.highRiskContext;
  const level = Math.round(estimate.ci.level * 100);
  const pText = estimate.pValue === undefined ? '' : `, p = ${estimate.pValue}`;
  return messages.hazardRatioLine(
    hazard.description[context.locale],
    `HR ${estimate.value}, ${level}% CI ${estimate.ci.lower}–${estimate.ci.upper}${pText}`,
    estimate.cohort,
  );
}

/** Builds the card after a failed analysis, stating what is missing and giving the error code for IT. */
export function buildFailureCard(context: CardContext, code: string): CdsCard {
  if (code === 'ERR_PATIENT_CONFLICT') return buildPatientConflictCard(context);
  const messages = CARD_MESSAGES[context.locale];
  const kind = FAILURE_KIND_BY_CODE[code] ?? 'unavailable';
  const viewerLink = kind === 'segmentation' ? buildViewerLink(context, messages) : undefined;

  return {
    uuid: cardUuid(context, `failed-${kind}`),
    summary: messages.failureSummary[kind],
    detail: joinParagraphs([
      messages.failureDetail[kind],
      messages.retryLine(retryMinutes(context.retryFailedAfterMs ?? DEFAULT_RETRY_FAILED_AFTER_MS)),
      messages.failureCodeLine(code),
      messages.studyLine(context.studyInstanceUid),
    ]),
    indicator: kind === 'segmentation' || kind === 'series' ? 'info' : 'warning',
    source: buildSource(context, messages),
    ...(viewerLink === undefined ? {} : { links: [viewerLink] }),
  };
}

/**
 * Builds the warning shown instead of a result when the study's stored analysis belongs to another
 * patient record, so one patient's result never appears in another patient's chart.
 */
export function buildPatientConflictCard(context: CardContext): CdsCard {
  const messages = CARD_MESSAGES[context.locale];
  return {
    uuid: cardUuid(context, 'patient-conflict'),
    summary: messages.patientConflictSummary,
    detail: joinParagraphs([messages.patientConflictDetail, messages.studyLine(context.studyInstanceUid)]),
    indicator: 'warning',
    source: buildSource(context, messages),
  };
}

/** Whole minutes of a retry wait, rounded up and at least 1, for the card text. */
function retryMinutes(retryFailedAfterMs: number): number {
  return Math.max(1, Math.ceil(retryFailedAfterMs / 60_000));
}

function buildSource(context: CardContext, messages: CardMessages): CdsSource {
  return {
    label: messages.sourceLabel,
    url: `https://doi.org/${context.modelCard.citation.doi}`,
    topic: { system: CARD_TOPIC_SYSTEM, code: 'nqo1-expression-risk', display: messages.topicDisplay },
  };
}

/**
 * Builds the override reasons of a result card, with display text in the card's locale. Only result
 * cards offer them: each reason disputes a computed result (its segmentation, its series, its
 * relevance), and feedback counted per model version must count only dismissed results. The
 * in-progress, failure and patient-conflict cards state a condition and have nothing to dispute.
 */
function buildOverrideReasons(messages: CardMessages): OverrideReasonCoding[] {
  return OVERRIDE_REASON_CODES.map((code) => ({
    system: OVERRIDE_REASON_SYSTEM,
    code,
    display: messages.overrideReasons[code],
  }));
}

function buildViewerLink(context: CardContext, messages: CardMessages): CdsLink | undefined {
  if (context.viewerUrlTemplate === undefined) return undefined;
  const url = context.viewerUrlTemplate.replaceAll(
    '{{studyInstanceUid}}',
    encodeURIComponent(context.studyInstanceUid),
  );
  return { label: messages.viewerLinkLabel, url, type: 'absolute' };
}

/** Formats a Markdown table of the model's features in card order, with values to 4 significant digits. */
function featureTable(context: CardContext, result: ScoreResult, messages: CardMessages): string {
  const [feature, region, value] = messages.featureTableHeader;
  const rows = context.modelCard.features.flatMap((spec) => {
    const measured = result.features[spec.name];
    if (measured === undefined) return [];
    return [`| ${spec.name} | ${messages.regionNames[spec.region]} | ${formatFeatureValue(measured)} |`];
  });
  return [`| ${feature} | ${region} | ${value} |`, '|---|---|---:|', ...rows].join('\n');
}

/** Magnitudes shown in plain decimal notation; others are shown as `m × 10ⁿ`. */
const PLAIN_NOTATION_MIN = 1e-3;
const PLAIN_NOTATION_MAX = 1e5;

const SUPERSCRIPT_DIGITS = '⁰¹²³⁴⁵⁶⁷⁸⁹';

/**
 * Formats a feature value to 4 significant digits: plain for magnitudes in [0.001, 100 000) (whole
 * numbers exactly), else in scientific notation, e.g. 307 000 000 as `3.07 × 10⁸`.
 */
export function formatFeatureValue(value: number): string {
  const magnitude = Math.abs(value);
  if (value === 0 || !Number.isFinite(value)) return String(value);
  if (magnitude >= PLAIN_NOTATION_MIN && magnitude < PLAIN_NOTATION_MAX) {
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
  }

  const [mantissa = '', exponent = '0'] = value.toExponential(3).split('e');
  return `${Number(mantissa)} × 10${toSuperscript(Number(exponent))}`;
}

function toSuperscript(exponent: number): string {
  const digits = String(Math.abs(exponent)).replace(
    /\d/g,
    (digit) => SUPERSCRIPT_DIGITS[Number(digit)] ?? digit,
  );
  return exponent < 0 ? `⁻${digits}` : digits;
}

/**
 * States which CT series was analysed and why, from the result's series selection; '' for results
 * without one, such as those scored from files.
 */
function seriesLine(result: ScoreResult, messages: CardMessages): string {
  const selection = result.provenance.seriesSelection;
  if (selection === undefined) return '';

  const excluded = (selection.candidates ?? []).filter((candidate) => candidate.outcome === 'excluded');
  return messages.seriesLine({
    seriesNumber: selection.seriesNumber,
    description: selection.seriesDescription.replaceAll('`', ''),
    instanceCount: selection.instanceCount,
    ctSeriesCount: selection.ctSeriesCount,
    reason: selection.reason,
    excludedCount: excluded.length,
    excludedRules: [...new Set(excluded.map((candidate) => candidate.rule as SeriesExclusionRule))],
  });
}

function footer(context: CardContext, messages: CardMessages): string[] {
  const { modelCard } = context;
  return [
    messages.modelLine(modelCard.title[context.locale], modelCard.version),
    messages.studyLine(context.studyInstanceUid),
    messages.citationLine(modelCard.citation.text),
    messages.decisionSupportNote,
  ];
}

function joinParagraphs(paragraphs: readonly string[]): string {
  return paragraphs.filter((paragraph) => paragraph !== '').join('\n\n');
}

/**
 * A UUID derived from the SHA-1 of study, model and card status, with the version-5 and variant bits
 * of RFC 9562 set, so the same card keeps the same uuid across hook calls and locales.
 */
export function cardUuid(
  context: Pick<CardContext, 'studyInstanceUid'> & { readonly modelCard: Pick<ModelCard, 'id' | 'version'> },
  status: string,
): string {
  const name = [context.studyInstanceUid, context.modelCard.id, context.modelCard.version, status].join('|');
  const bytes = createHash('sha1').update(`nqo1-cds:card:${name}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
