/**
 * Reading the `studies` prefetch: a searchset Bundle of FHIR ImagingStudy resources. Only the
 * fields used to pick a study are validated; entries of other types (e.g. an OperationOutcome the
 * server added to the search result) and studies of other patients are skipped.
 *
 * @see https://hl7.org/fhir/R4/imagingstudy.html
 */

import * as z from 'zod';

import { Nqo1Error } from '../../src/errors.js';

/** Identifier system of a DICOM UID in FHIR; the value is `urn:oid:<uid>`. */
export const DICOM_UID_SYSTEM = 'urn:dicom:uid';

/** A DICOM UID: dot-separated numeric components, at most 64 characters (PS3.5 §9.1). */
const DICOM_UID_PATTERN = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;

const codingSchema = z.looseObject({ system: z.string().optional(), code: z.string().optional() });

/** R4 types `series.modality` as a Coding, R5 as a CodeableConcept; both are accepted. */
const modalitySchema = z.looseObject({
  code: z.string().optional(),
  coding: z.array(codingSchema).optional(),
});

const imagingStudySchema = z.looseObject({
  resourceType: z.literal('ImagingStudy'),
  id: z.string().min(1),
  status: z.string().optional(),
  started: z.string().optional(),
  subject: z.looseObject({ reference: z.string().optional() }).optional(),
  identifier: z
    .array(z.looseObject({ system: z.string().optional(), value: z.string().optional() }))
    .optional(),
  series: z.array(z.looseObject({ modality: modalitySchema.optional() })).optional(),
});

type ImagingStudy = z.infer<typeof imagingStudySchema>;

const bundleSchema = z.looseObject({
  resourceType: z.literal('Bundle', { error: 'expected prefetch.studies to be a FHIR Bundle' }),
  entry: z.array(z.looseObject({ resource: z.unknown().optional() })).optional(),
});

const bundleLinksSchema = z.looseObject({
  resourceType: z.literal('Bundle'),
  link: z.array(z.looseObject({ relation: z.string().optional() })).optional(),
});

const operationOutcomeSchema = z.looseObject({
  resourceType: z.literal('OperationOutcome'),
  issue: z.array(z.looseObject({ code: z.string().optional() })).optional(),
});

/**
 * State of the `prefetch.studies` value the client sent, decided before any study is read:
 * - `absent`: no value, or `null` (the client did not or could not prefetch);
 * - `failed`: an OperationOutcome, which CDS Hooks 2.0 lets a client send when the prefetch query
 *   failed; `issueCodes` are its `issue.code` values (codes only, never the diagnostics text);
 * - `paginated`: a Bundle with a `next` link, i.e. only the first page of the search;
 * - `complete`: any other value, parsed by {@link scanCtStudies}.
 *
 * @see https://cds-hooks.hl7.org/2.0/#prefetch-template
 */
export type StudiesPrefetchState =
  | { readonly kind: 'absent' }
  | { readonly kind: 'failed'; readonly issueCodes: readonly string[] }
  | { readonly kind: 'paginated'; readonly entryCount: number }
  | { readonly kind: 'complete' };

/** Classifies the `studies` prefetch value; see {@link StudiesPrefetchState}. */
export function classifyStudiesPrefetch(value: unknown): StudiesPrefetchState {
  if (value === undefined || value === null) return { kind: 'absent' };

  const outcome = operationOutcomeSchema.safeParse(value);
  if (outcome.success) {
    const issueCodes = (outcome.data.issue ?? []).flatMap((issue) =>
      issue.code === undefined ? [] : [issue.code],
    );
    return { kind: 'failed', issueCodes };
  }

  const bundle = bundleLinksSchema.safeParse(value);
  if (bundle.success && (bundle.data.link ?? []).some((link) => link.relation === 'next')) {
    const entries = bundleSchema.safeParse(value);
    return { kind: 'paginated', entryCount: entries.success ? (entries.data.entry ?? []).length : 0 };
  }
  return { kind: 'complete' };
}

/** The study the hook analyses. */
export interface SelectedStudy {
  readonly imagingStudyId: string;
  readonly studyInstanceUid: string;
}

/** A usable CT study of the prefetch, with its FHIR `started` dateTime when the study has one. */
export interface CandidateStudy extends SelectedStudy {
  readonly started?: string;
}

/**
 * Reason an ImagingStudy of the prefetch Bundle was skipped as a candidate for analysis. `invalid-study-uid`
 * covers a missing `urn:dicom:uid` identifier and a value that is not a DICOM UID (e.g. injected text).
 */
export type StudySkipReason =
  'invalid-imaging-study' | 'other-patient' | 'inactive-status' | 'no-ct-series' | 'invalid-study-uid';

/** Reasons that point at a wrong prefetch or EHR record rather than a patient without CT. */
export const UNEXPECTED_SKIP_REASONS: readonly StudySkipReason[] = [
  'invalid-imaging-study',
  'other-patient',
  'invalid-study-uid',
];

export interface StudyScan {
  /** The newest usable CT study, or undefined when none qualifies. */
  readonly study: CandidateStudy | undefined;
  /** Every usable CT study, newest first; `study` is the first. */
  readonly candidates: readonly CandidateStudy[];
  /** Number of skipped entries per reason; reasons that did not occur are absent. */
  readonly skipped: Readonly<Partial<Record<StudySkipReason, number>>>;
}

/**
 * Picks the newest ImagingStudy of `patientId` that has a CT series and a DICOM Study Instance UID,
 * by `started` (studies without it come last, in bundle order). Cancelled studies and studies
 * entered in error are skipped.
 *
 * @returns undefined when no study qualifies.
 * @throws Nqo1Error `ERR_REQUEST_INVALID` when `bundle` is not a FHIR Bundle.
 */
export function selectNewestCtStudy(bundle: unknown, patientId: string): SelectedStudy | undefined {
  const study = scanCtStudies(bundle, patientId).study;
  return study === undefined
    ? undefined
    : { imagingStudyId: study.imagingStudyId, studyInstanceUid: study.studyInstanceUid };
}

/**
 * Does what {@link selectNewestCtStudy} does, and also counts the skipped entries by reason, so the
 * hook can log why a prefetch with studies produced no card.
 *
 * @throws Nqo1Error `ERR_REQUEST_INVALID` when `bundle` is not a FHIR Bundle.
 */
export function scanCtStudies(bundle: unknown, patientId: string): StudyScan {
  const parsed = bundleSchema.safeParse(bundle);
  if (!parsed.success) {
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      'prefetch.studies is not a FHIR Bundle of ImagingStudy resources; check the prefetch template',
    );
  }

  const skipped: Partial<Record<StudySkipReason, number>> = {};
  const candidates: { study: CandidateStudy; startedMs: number }[] = [];
  for (const entry of parsed.data.entry ?? []) {
    const study = imagingStudySchema.safeParse(entry.resource);
    if (!study.success) {
      // Other resource types (an OperationOutcome the server added to the search result) are expected.
      if (isImagingStudyResource(entry.resource)) count(skipped, 'invalid-imaging-study');
      continue;
    }

    const reason = skipReason(study.data, patientId);
    if (reason !== undefined) {
      count(skipped, reason);
      continue;
    }

    const studyInstanceUid = readStudyInstanceUid(study.data);
    if (studyInstanceUid === undefined) {
      count(skipped, 'invalid-study-uid');
      continue;
    }

    const startedMs =
      study.data.started === undefined ? Number.NEGATIVE_INFINITY : Date.parse(study.data.started);
    candidates.push({
      study: {
        imagingStudyId: study.data.id,
        studyInstanceUid,
        ...(study.data.started === undefined ? {} : { started: study.data.started }),
      },
      startedMs: Number.isNaN(startedMs) ? Number.NEGATIVE_INFINITY : startedMs,
    });
  }

  // Array.prototype.sort is stable, so equal start times keep the server's order.
  candidates.sort((a, b) => compareNewestFirst(a.startedMs, b.startedMs));
  const sorted = candidates.map((candidate) => candidate.study);
  return { study: sorted[0], candidates: sorted, skipped };
}

function isImagingStudyResource(resource: unknown): boolean {
  return (
    typeof resource === 'object' &&
    resource !== null &&
    'resourceType' in resource &&
    resource.resourceType === 'ImagingStudy'
  );
}

function count(skipped: Partial<Record<StudySkipReason, number>>, reason: StudySkipReason): void {
  skipped[reason] = (skipped[reason] ?? 0) + 1;
}

/** Orders start times newest first; `-Infinity` (no start time) compares equal to itself. */
function compareNewestFirst(aMs: number, bMs: number): number {
  if (aMs === bMs) return 0;
  return bMs > aMs ? 1 : -1;
}

function skipReason(study: ImagingStudy, patientId: string): StudySkipReason | undefined {
  if (study.status === 'cancelled' || study.status === 'entered-in-error') return 'inactive-status';

  const reference = study.subject?.reference;
  const ofPatient =
    reference === `Patient/${patientId}` || (reference?.endsWith(`/Patient/${patientId}`) ?? false);
  if (!ofPatient) return 'other-patient';
  if (!(study.series ?? []).some((series) => modalityCodes(series.modality).includes('CT')))
    return 'no-ct-series';
  return undefined;
}

function modalityCodes(modality: z.infer<typeof modalitySchema> | undefined): string[] {
  if (modality === undefined) return [];
  const codes = (modality.coding ?? []).flatMap((coding) => (coding.code === undefined ? [] : [coding.code]));
  return modality.code === undefined ? codes : [modality.code, ...codes];
}

/** Reads the Study Instance UID from the `urn:dicom:uid` identifier, or undefined when absent or malformed. */
export function readStudyInstanceUid(study: Pick<ImagingStudy, 'identifier'>): string | undefined {
  for (const identifier of study.identifier ?? []) {
    if (identifier.system !== DICOM_UID_SYSTEM || identifier.value === undefined) continue;

    const uid = identifier.value.replace(/^urn:oid:/, '');
    if (uid.length <= 64 && DICOM_UID_PATTERN.test(uid)) return uid;
  }
  return undefined;
}
