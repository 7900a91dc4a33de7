/**
 * `GET /api/analyses?fhirServer=…&patient=…[&imagingStudy=ImagingStudy/{id} | &studyInstanceUid=…]`:
 * the SMART app finds the stored analyses of its launch patient when the launch named no analysis
 * (a standalone launch, the EHR's app menu, or a radiology viewer).
 *
 * The caller proves access with the FHIR access token of its launch, as for `GET /api/analyses/{id}`:
 * - with `imagingStudy`, the service reads that ImagingStudy with the token (`imaging-study-access.ts`);
 * - otherwise it searches the patient's CT studies with the token, with the hook's query
 *   `ImagingStudy?patient=…&modality=CT&_sort=-started` and its paging limits
 *   (`cds-services/nqo1-risk/fhir-studies.ts`), and with `studyInstanceUid` keeps the study of that UID.
 *
 * Only studies whose ImagingStudy the token returned, with the launch patient as subject, are looked
 * up in the store, and only the rows of the served model version that are bound to that patient. So
 * the token grants no more than the EHR grants, and a row bound to another patient record is never
 * returned. The response never contains the patient id.
 *
 * Checks, in order, each with the response when it fails:
 * 1. a bearer token is present (a bare 401);
 * 2. the query is well formed (400, before any connection);
 * 3. `fhirServer` is on `fhir.allowedBaseUrls` (403, before any connection);
 * 4. the FHIR server accepts the token (403 `ERR_FHIR_ACCESS_DENIED`);
 * 5. the ImagingStudy named by `imagingStudy` exists (404) and has the launch patient as subject (409).
 *
 * @see https://hl7.org/fhir/R4/imagingstudy.html#search
 */

import type express from 'express';
import * as z from 'zod';

import { readStudiesFromFhir } from '../../cds-services/nqo1-risk/fhir-studies.js';
import { readStudyInstanceUid } from '../../cds-services/nqo1-risk/prefetch.js';
import { Nqo1Error, isNqo1Error } from '../errors.js';
import type { ResultStore } from '../jobs/store.js';
import type { ModelCard } from '../model/card.js';
import { analysisFhirBase, sameFhirBase } from '../fhir/fhir-base.js';
import { assertUrlAllowed } from '../net/url-allowlist.js';
import { viewOf, type AnalysisView } from './analysis-view.js';
import { bearerToken } from './bearer-token.js';
import type { AppConfig } from './config.js';
import { readAccessibleStudy } from './imaging-study-access.js';
import { requestContext } from './logger.js';
import { auditAnalysis, smartAppActor } from './route-audit.js';

/** A FHIR logical id (R4 `id` datatype). */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** `ImagingStudy/<id>` or a bare id. */
const IMAGING_STUDY_REFERENCE = /^(?:ImagingStudy\/)?([A-Za-z0-9\-.]{1,64})$/;

/** A DICOM UID (PS3.5 §9.1): dot-separated numeric components, at most 64 characters. */
const DICOM_UID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/;

/** Maximum length of the `fhirServer` query parameter, as for the analysis read. */
const MAX_FHIR_SERVER_LENGTH = 2048;

export interface AnalysisSearchDeps {
  readonly config: Pick<AppConfig, 'fhir' | 'smartApp'>;
  readonly store: Pick<ResultStore, 'listByStudy' | 'audit'>;
  readonly modelCard: Pick<ModelCard, 'id' | 'version'>;
}

/** One imaging study of the patient that the access token returned; never carries the patient id. */
export interface StudySummary {
  readonly imagingStudyId: string;
  readonly studyInstanceUid: string;
  /** FHIR `ImagingStudy.started`, when the EHR has it. */
  readonly started?: string;
}

/** Body of the 200 response. */
export interface AnalysisSearchResult {
  /** The patient's studies that were looked up, most recent first (studies without `started` last). */
  readonly studies: readonly StudySummary[];
  /**
   * Their stored analyses of the served model version: by study as in `studies`, and within a study
   * the service's automatic choice first, then requested series, most recently updated first.
   */
  readonly analyses: readonly AnalysisView[];
}

interface SearchQuery {
  readonly fhirServer: string;
  readonly patientId: string;
  readonly imagingStudyId?: string;
  readonly studyInstanceUid?: string;
}

/** Handles `GET /api/analyses`; the bearer token was checked by an earlier middleware. */
export async function searchAnalyses(
  deps: AnalysisSearchDeps,
  req: express.Request,
  res: express.Response,
): Promise<void> {
  const accessToken = bearerToken(req.get('authorization')) ?? '';
  const query = parseQuery(req.query);
  const fhirServer = assertUrlAllowed(query.fhirServer, deps.config.fhir.allowedBaseUrls, 'FHIR');

  const studies =
    query.imagingStudyId === undefined
      ? await searchPatientStudies(fhirServer, accessToken, query, deps)
      : await readLaunchStudy(fhirServer, accessToken, query.imagingStudyId, query.patientId, deps);

  const analyses: AnalysisView[] = [];
  const actor = smartAppActor(deps.config);
  for (let i = 0; i < studies.length; i++) {
    const rows = await deps.store.listByStudy(
      studies[i]!.studyInstanceUid,
      deps.modelCard.id,
      deps.modelCard.version,
    );
    for (let j = 0; j < rows.length; j++) {
      const row = rows[j]!;
      // A row without a patient was started by the PACS, and no hook has linked it yet. The analysis
      // read cannot check such a row, so it is left out, like a row bound to another patient record
      // or to another FHIR server, whose Patient ids may collide with this one's.
      if (
        row.job.patientId === query.patientId &&
        row.job.imagingStudyId !== undefined &&
        sameFhirBase(analysisFhirBase(row.job, deps.config.fhir.baseUrl), fhirServer.href)
      ) {
        analyses.push(viewOf(row));
        await auditAnalysis(deps.store.audit, 'search', actor, row);
      }
    }
  }

  requestContext(res).log.info(
    {
      studies: studies.length,
      analyses: analyses.length,
      byImagingStudy: query.imagingStudyId !== undefined,
      byStudyInstanceUid: query.studyInstanceUid !== undefined,
    },
    'analyses searched',
  );
  res.status(200).json({ studies, analyses } satisfies AnalysisSearchResult);
}

/**
 * Searches the patient's CT studies with the caller's token and keeps the ones that have the patient
 * as subject and a Study Instance UID, one per UID, most recent first.
 */
async function searchPatientStudies(
  fhirServer: URL,
  accessToken: string,
  query: SearchQuery,
  deps: AnalysisSearchDeps,
): Promise<StudySummary[]> {
  let entries: readonly unknown[];
  try {
    const found = await readStudiesFromFhir({
      fhirServer,
      accessToken,
      patientId: query.patientId,
      timeoutMs: deps.config.fhir.timeoutMs,
    });
    entries = found.bundle.entry;
  } catch (error) {
    throw searchFailure(error);
  }

  const studies: { summary: StudySummary; startedMs: number }[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < entries.length; i++) {
    const summary = summaryOf(entries[i], query.patientId);
    if (summary === undefined || seen.has(summary.studyInstanceUid)) continue;
    if (query.studyInstanceUid !== undefined && summary.studyInstanceUid !== query.studyInstanceUid) continue;

    seen.add(summary.studyInstanceUid);
    const startedMs = summary.started === undefined ? Number.NaN : Date.parse(summary.started);
    studies.push({ summary, startedMs: Number.isNaN(startedMs) ? Number.NEGATIVE_INFINITY : startedMs });
  }

  // Array.prototype.sort is stable, so studies with equal start times keep the server's order.
  studies.sort((a, b) => compareNewestFirst(a.startedMs, b.startedMs));
  return studies.map((study) => study.summary);
}

/** Orders start times newest first; `-Infinity` (no start time) compares equal to itself. */
function compareNewestFirst(aMs: number, bMs: number): number {
  if (aMs === bMs) return 0;
  return bMs > aMs ? 1 : -1;
}

const searchEntrySchema = z.looseObject({
  resource: z.looseObject({
    resourceType: z.literal('ImagingStudy'),
    id: z.string().regex(FHIR_ID),
    status: z.string().optional(),
    started: z.string().optional(),
    subject: z.looseObject({ reference: z.string().optional() }).optional(),
    identifier: z
      .array(z.looseObject({ system: z.string().optional(), value: z.string().optional() }))
      .optional(),
  }),
});

/**
 * Returns the summary of one search entry, or undefined for another resource type, a study of another
 * patient, a study entered in error or cancelled, or one without a Study Instance UID.
 */
function summaryOf(entry: unknown, patientId: string): StudySummary | undefined {
  const parsed = searchEntrySchema.safeParse(entry);
  if (!parsed.success) return undefined;

  const study = parsed.data.resource;
  if (study.status === 'entered-in-error' || study.status === 'cancelled') return undefined;
  const reference = study.subject?.reference ?? '';
  if (reference !== `Patient/${patientId}` && !reference.endsWith(`/Patient/${patientId}`)) return undefined;
  const studyInstanceUid = readStudyInstanceUid(study);
  if (studyInstanceUid === undefined) return undefined;

  return {
    imagingStudyId: study.id,
    studyInstanceUid,
    ...(study.started === undefined ? {} : { started: study.started }),
  };
}

/**
 * Reads the ImagingStudy of a viewer launch with the caller's token and checks its patient. A study
 * without a Study Instance UID or a Patient subject cannot have been analysed, so it yields no study.
 */
async function readLaunchStudy(
  fhirServer: URL,
  accessToken: string,
  imagingStudyId: string,
  patientId: string,
  deps: AnalysisSearchDeps,
): Promise<StudySummary[]> {
  let study: Awaited<ReturnType<typeof readAccessibleStudy>>;
  try {
    study = await readAccessibleStudy({
      fhirServer,
      accessToken,
      imagingStudyId,
      timeoutMs: deps.config.fhir.timeoutMs,
    });
  } catch (error) {
    if (isNqo1Error(error, 'ERR_REQUEST_INVALID')) return [];
    throw error;
  }

  if (study.patientId !== patientId) {
    throw new Nqo1Error(
      'ERR_PATIENT_CONFLICT',
      `ImagingStudy/${imagingStudyId} belongs to another patient than the one the app was launched for; ` +
        "open the app from that patient's record or from the study in the image viewer.",
      { details: { imagingStudyId } },
    );
  }
  return [{ imagingStudyId, studyInstanceUid: study.studyInstanceUid }];
}

/**
 * Turns a failure of the study search into the error of this route. A 401 of the FHIR server means
 * that it rejected the token as expired or invalid, and a 403 that the token does not grant the
 * search. A timeout gets `timedOut`, and too many pages call for a narrower query.
 */
function searchFailure(error: unknown): unknown {
  if (!isNqo1Error(error)) return error;

  const status = error.details.status;
  if (error.code === 'ERR_FHIR_FAILED' && status === 401) {
    return new Nqo1Error(
      'ERR_FHIR_TOKEN_REJECTED',
      "The FHIR server answered HTTP 401 to the search of the patient's ImagingStudy resources: it rejected " +
        'the access token as expired or invalid; launch the app again from the EHR to get a new token.',
      { details: { status }, cause: error },
    );
  }
  if (error.code === 'ERR_FHIR_FAILED' && status === 403) {
    return new Nqo1Error(
      'ERR_FHIR_ACCESS_DENIED',
      `The FHIR server answered HTTP ${status} to the search of the patient's ImagingStudy resources with ` +
        'the access token sent; launch the app again to get a token that grants patient/ImagingStudy.rs.',
      { details: { status }, cause: error },
    );
  }
  // The search reports a timeout by its deadline alone; the error mapping needs `timedOut` for a 504.
  if (error.code === 'ERR_FHIR_FAILED' && typeof error.details.timeoutMs === 'number') {
    return new Nqo1Error(error.code, error.message, {
      details: { ...error.details, timedOut: true },
      cause: error,
    });
  }
  if (error.code === 'ERR_PREFETCH_MISSING') {
    return new Nqo1Error(
      'ERR_FHIR_FAILED',
      "The FHIR search of the patient's ImagingStudy resources has too many pages or leaves the FHIR base, " +
        'so the newest studies may be missing; open the app from the study in the image viewer instead.',
      { details: error.details, cause: error },
    );
  }
  return error;
}

/**
 * Validates the query.
 *
 * @throws Nqo1Error `ERR_REQUEST_INVALID` naming each problem and the expected form.
 */
function parseQuery(query: express.Request['query']): SearchQuery {
  const problems: string[] = [];
  const single = (name: string): string | undefined => {
    const value = query[name];
    if (value === undefined) return undefined;
    if (typeof value === 'string' && value.length > 0) return value;
    problems.push(`${name} must be given once and not be empty`);
    return undefined;
  };

  const fhirServer = single('fhirServer');
  if (fhirServer === undefined)
    problems.push('fhirServer, the URL-encoded FHIR base URL of the launch, is missing');
  else if (fhirServer.length > MAX_FHIR_SERVER_LENGTH)
    problems.push(`fhirServer is longer than ${MAX_FHIR_SERVER_LENGTH} characters`);

  const patientId = single('patient');
  if (patientId === undefined) problems.push('patient, the FHIR Patient id of the launch, is missing');
  else if (!FHIR_ID.test(patientId)) problems.push('patient is not a FHIR logical id');

  const imagingStudy = single('imagingStudy');
  const imagingStudyId =
    imagingStudy === undefined ? undefined : IMAGING_STUDY_REFERENCE.exec(imagingStudy)?.[1];
  if (imagingStudy !== undefined && imagingStudyId === undefined) {
    problems.push('imagingStudy is not ImagingStudy/<FHIR logical id>');
  }

  const studyInstanceUid = single('studyInstanceUid')?.replace(/^urn:oid:/, '');
  if (studyInstanceUid !== undefined && (studyInstanceUid.length > 64 || !DICOM_UID.test(studyInstanceUid))) {
    problems.push('studyInstanceUid is not a DICOM UID of at most 64 characters');
  }
  if (imagingStudy !== undefined && studyInstanceUid !== undefined) {
    problems.push('give imagingStudy or studyInstanceUid, not both');
  }

  if (problems.length > 0 || fhirServer === undefined || patientId === undefined) {
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      `Invalid analysis search: ${problems.join('; ')}. Expected ` +
        '?fhirServer=<FHIR base>&patient=<Patient id>, optionally with &imagingStudy=ImagingStudy/<id> or ' +
        '&studyInstanceUid=<DICOM UID>.',
    );
  }
  return {
    fhirServer,
    patientId,
    ...(imagingStudyId === undefined ? {} : { imagingStudyId }),
    ...(studyInstanceUid === undefined ? {} : { studyInstanceUid }),
  };
}
