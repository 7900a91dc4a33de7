/**
 * `GET /api/analyses/{id}?fhirServer=<FHIR base>`: the SMART app reads one stored analysis by the id
 * that the card's smart link passed as `appContext`, or that `POST /api/analyses` returned.
 *
 * The caller proves access the same way as for `POST /api/analyses`: the service reads the row's
 * `ImagingStudy/{imagingStudyId}` from `fhirServer` with the caller's bearer token
 * (`imaging-study-access.ts`). The row is returned only when that read succeeds and the ImagingStudy
 * has the row's Study Instance UID and Patient subject. So a token that may read the study in the
 * EHR may read its result, and the analysis id alone grants nothing.
 *
 * Checks, in order, each with the response when it fails:
 * 1. a bearer token is present (a bare 401);
 * 2. `fhirServer` is on `fhir.allowedBaseUrls` (403, before any connection);
 * 3. the row exists (404 without a FHIR request, which reveals nothing because ids are random UUIDs);
 * 4. the row has an ImagingStudy id and a patient (409);
 * 5. the token reads that ImagingStudy (401 `ERR_FHIR_TOKEN_REJECTED` when the FHIR server rejects
 *    the token as expired or invalid, 403 when it denies access), and it has the row's study and
 *    patient (403);
 * 6. when the app sends the `patient` of its launch, it is the row's patient (409).
 */

import type express from 'express';

import { Nqo1Error, isNqo1Error } from '../errors.js';
import type { ResultStore } from '../jobs/store.js';
import type { StoredAnalysis } from '../jobs/types.js';
import { analysisFhirBase, sameFhirBase } from '../fhir/fhir-base.js';
import { assertUrlAllowed } from '../net/url-allowlist.js';
import { viewOf } from './analysis-view.js';
import { bearerToken } from './bearer-token.js';
import type { AppConfig } from './config.js';
import { readAccessibleStudy } from './imaging-study-access.js';
import { requestContext } from './logger.js';
import { auditAnalysis, smartAppActor } from './route-audit.js';

/** An analysis id: the store's ids are UUIDs, and anything else outside this pattern cannot exist. */
const ANALYSIS_ID = /^[A-Za-z0-9-]{1,64}$/;

/** Maximum length of the `fhirServer` query parameter, as for the `POST` body field. */
const MAX_FHIR_SERVER_LENGTH = 2048;

export interface AnalysisReadDeps {
  readonly config: Pick<AppConfig, 'fhir' | 'smartApp'>;
  readonly store: Pick<ResultStore, 'getById' | 'chartRecords' | 'audit'>;
}

/** Handles `GET /api/analyses/:id`; the bearer token was checked by an earlier middleware. */
export async function readAnalysis(
  deps: AnalysisReadDeps,
  req: express.Request,
  res: express.Response,
): Promise<void> {
  const stored = await readAccessibleAnalysis(deps, req);
  requestContext(res).log.info(
    { analysisId: stored.id, studyInstanceUid: stored.job.studyInstanceUid, status: stored.status },
    'analysis read',
  );
  await auditAnalysis(deps.store.audit, 'read', smartAppActor(deps.config), stored);
  res.status(200).json(viewOf(stored, await deps.store.chartRecords.latestForStudy(stored.job)));
}

/**
 * Returns the row named by `req.params.id` once the caller proved access to it, by the checks in the
 * module header. Shared by every route that serves a part of one analysis.
 */
export async function readAccessibleAnalysis(
  deps: AnalysisReadDeps,
  req: express.Request,
): Promise<StoredAnalysis> {
  const accessToken = bearerToken(req.get('authorization')) ?? '';
  const fhirServer = assertUrlAllowed(
    fhirServerParameter(req.query),
    deps.config.fhir.allowedBaseUrls,
    'FHIR',
  );

  const id = typeof req.params.id === 'string' ? req.params.id : '';
  const stored = ANALYSIS_ID.test(id) ? await deps.store.getById(id) : undefined;
  if (stored === undefined) {
    throw new Nqo1Error(
      'ERR_NOT_FOUND',
      `No stored analysis has id ${id.slice(0, 64)}; open the app again from the card of the study.`,
    );
  }

  const { imagingStudyId, patientId, studyInstanceUid } = stored.job;
  // Logical ids mean something only on the FHIR server that issued them: another allowed server
  // may hold an ImagingStudy with the same id and a patient with the same id.
  if (!sameFhirBase(analysisFhirBase(stored.job, deps.config.fhir.baseUrl), fhirServer.href)) {
    throw new Nqo1Error(
      'ERR_ANALYSIS_ACCESS_DENIED',
      `Analysis ${stored.id} belongs to another FHIR server than the one of this launch, so its ids prove ` +
        'nothing here. Open the app from the EHR whose record the analysis belongs to.',
      { details: { analysisId: stored.id } },
    );
  }
  if (imagingStudyId === undefined || patientId === undefined) {
    throw new Nqo1Error(
      'ERR_ANALYSIS_NOT_LINKED',
      `Analysis ${stored.id} of study ${studyInstanceUid} is not yet linked to an EHR ImagingStudy and ` +
        'patient, so access to it cannot be checked. Open the patient record in the EHR, which links the ' +
        'result when the CDS hook runs, and try again.',
      { details: { analysisId: stored.id, studyInstanceUid } },
    );
  }

  const study = await readStudyForAnalysis(fhirServer, accessToken, imagingStudyId, deps, stored.id);
  if (study.studyInstanceUid !== studyInstanceUid || study.patientId !== patientId) {
    throw deniedFor(
      stored.id,
      imagingStudyId,
      'has another Study Instance UID or Patient subject than the analysis',
    );
  }

  // The app names the patient of its launch. A clinician's token may read every patient's studies,
  // so proof of access alone would let a card link of one patient show in another's record.
  const launchPatient = req.query.patient;
  if (launchPatient !== undefined && launchPatient !== patientId) {
    throw new Nqo1Error(
      'ERR_PATIENT_CONFLICT',
      `Analysis ${stored.id} belongs to another patient than the one the app was launched for; ` +
        "open the app from the NQO1 card in that patient's record.",
      { details: { analysisId: stored.id } },
    );
  }
  return stored;
}

/** Reads the row's ImagingStudy, turning "no UID or no Patient subject" into a denial of access. */
async function readStudyForAnalysis(
  fhirServer: URL,
  accessToken: string,
  imagingStudyId: string,
  deps: AnalysisReadDeps,
  analysisId: string,
): Promise<{ studyInstanceUid: string; patientId: string }> {
  try {
    return await readAccessibleStudy({
      fhirServer,
      accessToken,
      imagingStudyId,
      timeoutMs: deps.config.fhir.timeoutMs,
    });
  } catch (error) {
    // A POST reports this as a bad request. Here the row was analysed from a study that had both, so
    // the ImagingStudy that the token reads now cannot be matched to the row.
    if (isNqo1Error(error, 'ERR_REQUEST_INVALID')) {
      throw deniedFor(analysisId, imagingStudyId, 'lacks a DICOM Study Instance UID or a Patient subject');
    }
    throw error;
  }
}

function deniedFor(analysisId: string, imagingStudyId: string, problem: string): Nqo1Error {
  return new Nqo1Error(
    'ERR_ANALYSIS_ACCESS_DENIED',
    `ImagingStudy/${imagingStudyId}, as read with the access token, ${problem}, so it does not prove ` +
      `access to analysis ${analysisId}. Launch the app from the record of the patient whom the analysis belongs to.`,
    { details: { analysisId, imagingStudyId } },
  );
}

/**
 * Returns the single `fhirServer` query parameter.
 *
 * @throws Nqo1Error `ERR_REQUEST_INVALID` when it is missing, empty, repeated or too long.
 */
function fhirServerParameter(query: express.Request['query']): string {
  const value = query.fhirServer;
  if (typeof value === 'string' && value.length > 0 && value.length <= MAX_FHIR_SERVER_LENGTH) return value;

  throw new Nqo1Error(
    'ERR_REQUEST_INVALID',
    'Invalid analysis read: expected one fhirServer query parameter with the URL-encoded FHIR base URL of ' +
      `the launch, at most ${MAX_FHIR_SERVER_LENGTH} characters, e.g. ` +
      `?fhirServer=${encodeURIComponent('https://ehr.example.org/fhir/R4')}.`,
  );
}
