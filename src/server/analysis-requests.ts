/**
 * `POST /api/analyses`: the SMART app requests an analysis of a study with a CT series (and
 * optionally a segmentation) that a user chose in place of the service's automatic choice.
 *
 * The caller proves access, not identity. It sends the FHIR access token of its SMART launch as
 * `Authorization: Bearer <token>`, and the service reads `ImagingStudy/{imagingStudyId}` from the
 * `fhirServer` of the body with that token (`imaging-study-access.ts`). `fhirServer` must be on the
 * FHIR allowlist (`fhir.allowedBaseUrls`), which is checked before any connection. The Study Instance
 * UID and the patient come from the ImagingStudy that the FHIR server returned, never from the
 * request. The token is used for that one read; it is never logged or stored.
 *
 * The job is keyed by study, requested series, requested segmentation and model version
 * (`ResultStore`), so a second request with the same choice finds the first one's row. Responses:
 * 202 `{ id, status }` while the row is pending or running, 200 with the stored row once it is done
 * or failed. A failed row runs again only after `jobs.retryFailedAfterMs`, as for hooks.
 *
 * The app reads a row by id with `GET /api/analyses/{id}` (`analysis-read.ts`), which proves access the
 * same way.
 */

import express from 'express';
import * as z from 'zod';

import { Nqo1Error } from '../errors.js';
import type { AnalysisQueue } from '../jobs/queue.js';
import type { ResultStore } from '../jobs/store.js';
import type { AnalysisJob } from '../jobs/types.js';
import type { ModelCard } from '../model/card.js';
import { analysisFhirBase, fhirBaseKey, sameFhirBase } from '../fhir/fhir-base.js';
import { assertUrlAllowed } from '../net/url-allowlist.js';
import { listOverlay, sendOverlaySlice } from './analysis-overlay.js';
import { readAnalysis } from './analysis-read.js';
import { chartRecordRouter } from './chart-record-route.js';
import { searchAnalyses } from './analysis-search.js';
import { viewOf } from './analysis-view.js';
import { bearerToken, requireBearerToken } from './bearer-token.js';
import type { AppConfig } from './config.js';
import { readAccessibleStudy } from './imaging-study-access.js';
import { parseJsonBody } from './json-body.js';
import { requestContext } from './logger.js';

/** Path of the route. */
export const ANALYSES_PATH = '/api/analyses';

/** Body size limit: four short strings. */
const MAX_REQUEST_BODY_BYTES = '4kb';

/** Builds the schema of a DICOM UID (PS3.5 §9.1): digits in dot-separated components, at most 64 characters. */
function dicomUid(field: string): z.ZodString {
  return z
    .string({ error: `expected ${field} as a string` })
    .max(64, { error: `expected ${field} as a DICOM UID of at most 64 characters` })
    .regex(/^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/, {
      error: `expected ${field} as a DICOM UID such as 1.2.840.113619.2.55.3, digits and dots only`,
    });
}

const requestSchema = z.strictObject({
  fhirServer: z.string({ error: 'expected fhirServer as the FHIR base URL of the launch' }).max(2048),
  /** FHIR logical id (R4 `id` datatype). */
  imagingStudyId: z
    .string({ error: 'expected imagingStudyId as a string' })
    .regex(/^[A-Za-z0-9\-.]{1,64}$/, { error: 'expected imagingStudyId as a FHIR logical id' }),
  seriesInstanceUid: dicomUid('seriesInstanceUid'),
  segmentationSopInstanceUid: dicomUid('segmentationSopInstanceUid').optional(),
});

/** Body of the 202 response. */
export interface AnalysisAccepted {
  readonly id: string;
  readonly status: 'pending' | 'running';
}

export interface AnalysisRequestDeps {
  readonly config: Pick<AppConfig, 'fhir' | 'smartApp'>;
  readonly store: Pick<
    ResultStore,
    'getResult' | 'getById' | 'overlays' | 'chartRecords' | 'recordObservation' | 'listByStudy' | 'audit'
  >;
  readonly queue: Pick<AnalysisQueue, 'enqueue'>;
  readonly modelCard: Pick<ModelCard, 'id' | 'version'>;
}

/**
 * Builds the router of `POST /api/analyses`, the search `GET /api/analyses` (`analysis-search.ts`),
 * `GET /api/analyses/{id}`, the region pictures under `GET /api/analyses/{id}/overlay`
 * (`analysis-overlay.ts`) and the record in the chart `POST /api/analyses/{id}/record`
 * (`chart-record-route.ts`).
 */
export function analysisRequestRouter(deps: AnalysisRequestDeps): express.Router {
  const router = express.Router();

  router.post(
    ANALYSES_PATH,
    // The token is checked for presence before the body is parsed; the FHIR server checks the rest.
    requireBearerToken('Analysis request'),
    express.json({ limit: MAX_REQUEST_BODY_BYTES, type: ['application/json', 'application/fhir+json'] }),
    (req, res, next) => {
      handleRequest(deps, req, res).catch(next);
    },
  );

  router.get(ANALYSES_PATH, requireBearerToken('Analysis search'), (req, res, next) => {
    searchAnalyses(deps, req, res).catch(next);
  });
  router.get(`${ANALYSES_PATH}/:id`, requireBearerToken('Analysis read'), (req, res, next) => {
    readAnalysis(deps, req, res).catch(next);
  });
  router.get(`${ANALYSES_PATH}/:id/overlay`, requireBearerToken('Region picture list'), (req, res, next) => {
    listOverlay(deps, req, res).catch(next);
  });
  router.get(
    `${ANALYSES_PATH}/:id/overlay/:slice`,
    requireBearerToken('Region picture'),
    (req, res, next) => {
      sendOverlaySlice(deps, req, res).catch(next);
    },
  );
  router.use(chartRecordRouter(deps, ANALYSES_PATH, requireBearerToken('Chart record')));
  return router;
}

async function handleRequest(
  deps: AnalysisRequestDeps,
  req: express.Request,
  res: express.Response,
): Promise<void> {
  const accessToken = bearerToken(req.get('authorization')) ?? '';
  const body = parseJsonBody(
    requestSchema,
    req.body,
    'analysis request',
    '{ "fhirServer", "imagingStudyId", "seriesInstanceUid", "segmentationSopInstanceUid" (optional) }',
  );
  const fhirServer = assertUrlAllowed(body.fhirServer, deps.config.fhir.allowedBaseUrls, 'FHIR');

  const study = await readAccessibleStudy({
    fhirServer,
    accessToken,
    imagingStudyId: body.imagingStudyId,
    timeoutMs: deps.config.fhir.timeoutMs,
  });
  const job: AnalysisJob = {
    studyInstanceUid: study.studyInstanceUid,
    imagingStudyId: study.imagingStudyId,
    patientId: study.patientId,
    fhirServer: fhirBaseKey(fhirServer.href),
    seriesInstanceUid: body.seriesInstanceUid,
    ...(body.segmentationSopInstanceUid === undefined
      ? {}
      : { segmentationSopInstanceUid: body.segmentationSopInstanceUid }),
    modelId: deps.modelCard.id,
    modelVersion: deps.modelCard.version,
  };

  // As on the hook: a row of the study bound to another patient record means the EHR links one study
  // to two patients, and nothing is shown or enqueued until IT resolves it.
  const automatic = await deps.store.getResult({
    studyInstanceUid: job.studyInstanceUid,
    modelId: job.modelId,
    modelVersion: job.modelVersion,
  });
  const conflicting = [automatic, await deps.store.getResult(job)].some(
    (row) =>
      row?.job.patientId !== undefined &&
      (row.job.patientId !== study.patientId ||
        !sameFhirBase(analysisFhirBase(row.job, deps.config.fhir.baseUrl), fhirServer.href)),
  );
  if (conflicting) {
    throw new Nqo1Error(
      'ERR_PATIENT_CONFLICT',
      `Study ${study.studyInstanceUid} was already requested for another patient record; ` +
        'ask hospital IT to check which patient the study belongs to.',
      { details: { studyInstanceUid: study.studyInstanceUid } },
    );
  }

  const outcome = await deps.queue.enqueue(job);
  const stored = await deps.store.getResult(job);
  if (stored === undefined) throw new Nqo1Error('ERR_INTERNAL', 'The enqueued analysis has no stored row');
  requestContext(res).log.info(
    {
      studyInstanceUid: job.studyInstanceUid,
      seriesInstanceUid: job.seriesInstanceUid,
      analysisId: stored.id,
      outcome,
      status: stored.status,
    },
    'analysis requested',
  );

  if (stored.status === 'done' || stored.status === 'failed') {
    res.status(200).json(viewOf(stored));
    return;
  }
  res.status(202).json({ id: stored.id, status: stored.status } satisfies AnalysisAccepted);
}
