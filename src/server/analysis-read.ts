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
 * Order of checks: the bearer token is present (else a bare 401); `fhirServer` is on
 * `fhir.allowedBaseUrls` (else 403 before any connection); the row exists (else 404, with no FHIR
 * request, which reveals nothing because ids are random UUIDs); the row has an ImagingStudy and a
 * patient (else 409); then the FHIR read and the comparison (403 on a mismatch).
 */

import type express from 'express';

import { Nqo1Error, isNqo1Error } from '../errors.js';
import type { ResultStore } from '../jobs/result-store.js';
import { assertUrlAllowed } from '../net/url-allowlist.js';
import { viewOf } from './analysis-view.js';
import { bearerToken } from './bearer-token.js';
import type { AppConfig } from './config.js';
import { readAccessibleStudy } from './imaging-study-access.js';
import { requestContext } from './logger.js';

/** An analysis id: the store's ids are UUIDs, and anything else outside this pattern cannot exist. */
const ANALYSIS_ID = /^[A-Za-z0-9-]{1,64}$/;

/** Maximum length of the `fhirServer` query parameter, as for the `POST` body field. */
const MAX_FHIR_SERVER_LENGTH = 2048;

export interface AnalysisReadDeps {
  readonly config: Pick<AppConfig, 'fhir'>;
  readonly store: Pick<ResultStore, 'getById'>;
}

/** Handles `GET /api/analyses/:id`; the bearer token was checked by an earlier middleware. */
export async function readAnalysis(
  deps: AnalysisReadDeps,
  req: express.Request,
  res: express.Response,
): Promise<void> {
  const accessToken = bearerToken(req.get('authorization')) ?? '';
  const fhirServer = assertUrlAllowed(
    fhirServerParameter(req.query),
    deps.config.fhir.allowedBaseUrls,
    'FHIR',
  );

  const id = typeof req.params.id === 'string' ? req.params.id : '';
  const stored = ANALYSIS_ID.test(id) ? deps.store.getById(id) : undefined;
  if (stored === undefined) {
    throw new Nqo1Error(
      'ERR_NOT_FOUND',
      `No stored analysis has id ${id.slice(0, 64)}; open the app again from the card of the study.`,
    );
  }

  const { imagingStudyId, patientId, studyInstanceUid } = stored.job;
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

  requestContext(res).log.info(
    { analysisId: stored.id, studyInstanceUid, status: stored.status },
    'analysis read',
  );
  res.status(200).json(viewOf(stored));
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
    // For a POST this is a bad request; here the stored row was analysed from a study that had both,
    // so the ImagingStudy the token reads now cannot be matched to it.
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

/** The one `fhirServer` query parameter, as a string. */
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
