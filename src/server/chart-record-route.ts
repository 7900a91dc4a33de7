/**
 * `POST /api/analyses/{id}/record?fhirServer=<FHIR base>&patient=<launch patient>`: the SMART app
 * records the analysis's result in the chart after the clinician confirmed it. Body:
 * `{ "clinician": "Practitioner/<id>" }`, the `fhirUser` of the launch.
 *
 * Access is proved as for reading the analysis (`analysis-read.ts`), with the caller's bearer token.
 * The same token then writes the Observation and its Provenance (`src/fhir/chart-record.ts`), so the
 * FHIR server decides whether this user may write to the chart. The service never stores the token.
 *
 * After the write the record is kept in the store (`chart-record-store.ts`), and the automatic row of
 * the study, when it still owes its preliminary write-back, takes the Observation id, so the service
 * does not create a second Observation afterwards.
 *
 * Responses: 200 with the record (`ChartRecordSummary` of `analysis-view.ts`); 400 for a bad body; 401, 403, 404 and 409 as for the
 * read; 409 `ERR_RESULT_NOT_RECORDABLE` for a row that is not done or has no probability, 409
 * `ERR_CHART_CHANGED` when the Observation changed meanwhile; 403 `ERR_CHART_WRITE_REFUSED` when the
 * FHIR server refused the write; 502 or 504 when it failed.
 *
 * LIMITATION: a record and the service's own write-back of the same study could both create an
 * Observation if they ran in the same instant, because the FHIR search and create are two requests.
 * One process runs one write-back at a time and a record follows a result the app already showed,
 * which makes this unlikely; a conditional create (`If-None-Exist`) on servers that support it would
 * close it.
 */

import express from 'express';
import * as z from 'zod';

import { Nqo1Error, isNqo1Error } from '../errors.js';
import { chartLockKey, chartObservationLock } from '../fhir/chart-lock.js';
import { analysisFhirBase, sameFhirBase } from '../fhir/fhir-base.js';
import {
  ProvenanceFailedError,
  recordInChart,
  type ChartRecordOutcome,
  type UnchangedRecord,
} from '../fhir/chart-record.js';
import { resultIdentifier } from '../fhir/observation.js';
import { FhirRestClient } from '../fhir/fhir-rest.js';
import type { ChartRecord } from '../jobs/chart-record-store.js';
import type { ResultStore } from '../jobs/store.js';
import type { StoredAnalysis } from '../jobs/types.js';
import { assertUrlAllowed } from '../net/url-allowlist.js';
import { readAccessibleAnalysis, type AnalysisReadDeps } from './analysis-read.js';
import { chartRecordSummary } from './analysis-view.js';
import { bearerToken } from './bearer-token.js';
import { parseJsonBody } from './json-body.js';
import { requestContext } from './logger.js';
import { auditAnalysis, fhirUserActor } from './route-audit.js';

/** Body size limit: one reference. */
const MAX_REQUEST_BODY_BYTES = '1kb';

const requestSchema = z.strictObject({
  clinician: z
    .string({ error: 'expected clinician as the fhirUser reference of the launch, e.g. Practitioner/123' })
    .max(200, { error: 'expected clinician as a reference of at most 200 characters' }),
});

export interface ChartRecordDeps extends AnalysisReadDeps {
  readonly store: AnalysisReadDeps['store'] &
    Pick<ResultStore, 'chartRecords' | 'getResult' | 'recordObservation' | 'audit'>;
  /** Clock of the record; tests freeze it. */
  readonly now?: () => Date;
}

/** Builds the router of `POST /api/analyses/{id}/record`; `path` is the analyses collection path. */
export function chartRecordRouter(
  deps: ChartRecordDeps,
  path: string,
  guard: express.Handler,
): express.Router {
  const router = express.Router();
  router.post(
    `${path}/:id/record`,
    guard,
    express.json({ limit: MAX_REQUEST_BODY_BYTES, type: ['application/json'] }),
    (req, res, next) => {
      recordAnalysis(deps, req, res).catch(next);
    },
  );
  return router;
}

async function recordAnalysis(
  deps: ChartRecordDeps,
  req: express.Request,
  res: express.Response,
): Promise<void> {
  const body = parseJsonBody(requestSchema, req.body, 'chart record', '{ "clinician": "Practitioner/<id>" }');
  const stored = await readAccessibleAnalysis(deps, req);
  const done = recordableRow(stored);

  const fhirServer = assertUrlAllowed(
    typeof req.query.fhirServer === 'string' ? req.query.fhirServer : '',
    deps.config.fhir.allowedBaseUrls,
    'FHIR',
  );
  const fhir = new FhirRestClient(
    fhirServer,
    deps.config.fhir.timeoutMs,
    bearerToken(req.get('authorization')),
  );
  const identifier = resultIdentifier(stored.job.studyInstanceUid, done.result.model);
  const { record, activity } = await chartObservationLock.run(
    chartLockKey(fhir.baseUrl, identifier.value ?? ''),
    async () => {
      const latest = await deps.store.chartRecords.latestForStudy(stored.job);
      // A record whose Provenance failed is not complete, so recording again writes it anew.
      const previousRecord =
        latest?.analysisId === stored.id && latest.provenanceId !== undefined
          ? {
              observationId: latest.observationId,
              ...(latest.observationVersionId === undefined
                ? {}
                : { observationVersionId: latest.observationVersionId }),
              clinicianReference: latest.clinician.reference,
            }
          : undefined;

      let outcome: ChartRecordOutcome | UnchangedRecord;
      try {
        outcome = await recordInChart(
          fhir,
          {
            result: done.result,
            patientId: done.patientId,
            imagingStudyId: done.imagingStudyId,
            studyInstanceUid: stored.job.studyInstanceUid,
            ...(done.effectiveDateTime === undefined ? {} : { effectiveDateTime: done.effectiveDateTime }),
            clinicianReference: body.clinician,
            ...(previousRecord === undefined ? {} : { previousRecord }),
          },
          deps.now,
        );
      } catch (error) {
        // The Observation is in the chart already, so the record is kept, without its Provenance.
        if (error instanceof ProvenanceFailedError)
          await keepRecord(deps.store, deps.config.fhir.baseUrl, stored, error.written);
        const code = isNqo1Error(error) ? error.code : 'ERR_INTERNAL';
        await auditAnalysis(deps.store.audit, 'chart-record', fhirUserActor(body.clinician), stored, code);
        throw error;
      }
      if (outcome.activity === 'unchanged' && latest !== undefined)
        return { record: latest, activity: outcome.activity };
      if (outcome.activity === 'unchanged')
        throw new Nqo1Error('ERR_INTERNAL', 'An unchanged record has no stored record');
      return {
        record: await keepRecord(deps.store, deps.config.fhir.baseUrl, stored, outcome),
        activity: outcome.activity,
      };
    },
  );
  await auditAnalysis(deps.store.audit, 'chart-record', fhirUserActor(body.clinician), stored);

  requestContext(res).log.info(
    {
      analysisId: stored.id,
      studyInstanceUid: stored.job.studyInstanceUid,
      observationId: record.observationId,
      status: record.status,
      activity,
    },
    'result recorded in chart',
  );
  res.status(200).json(chartRecordSummary(record));
}

/** Stores the record of `stored`'s result and settles the study's owed write-back; returns the record. */
async function keepRecord(
  store: ChartRecordDeps['store'],
  defaultFhirBase: string,
  stored: StoredAnalysis,
  outcome: Omit<ChartRecordOutcome, 'provenanceId'> & { readonly provenanceId?: string },
): Promise<ChartRecord> {
  const record: ChartRecord = {
    analysisId: stored.id,
    studyInstanceUid: stored.job.studyInstanceUid,
    modelId: stored.job.modelId,
    modelVersion: stored.job.modelVersion,
    observationId: outcome.observationId,
    ...(outcome.observationVersionId === undefined
      ? {}
      : { observationVersionId: outcome.observationVersionId }),
    status: outcome.status,
    ...(outcome.provenanceId === undefined ? {} : { provenanceId: outcome.provenanceId }),
    clinician: outcome.clinician,
    recordedAt: outcome.recordedAt,
  };
  await store.chartRecords.add(record);
  await settleOwedWriteBack(store, stored, outcome.observationId, defaultFhirBase);
  return record;
}

/**
 * Returns the parts of a done row that a record needs.
 *
 * @throws Nqo1Error `ERR_RESULT_NOT_RECORDABLE` for a row that is pending, running or failed.
 */
function recordableRow(stored: StoredAnalysis): {
  result: Extract<StoredAnalysis, { status: 'done' }>['result'];
  patientId: string;
  imagingStudyId: string;
  effectiveDateTime?: string;
} {
  const { patientId, imagingStudyId } = stored.job;
  if (stored.status !== 'done' || patientId === undefined || imagingStudyId === undefined) {
    throw new Nqo1Error(
      'ERR_RESULT_NOT_RECORDABLE',
      `Analysis ${stored.id} is ${stored.status}, so it has no result to record in the chart; ` +
        'wait until it is done, or rerun it if it failed.',
      { details: { analysisId: stored.id, status: stored.status } },
    );
  }
  return {
    result: stored.result,
    patientId,
    imagingStudyId,
    ...(stored.effectiveDateTime === undefined ? {} : { effectiveDateTime: stored.effectiveDateTime }),
  };
}

/**
 * Gives the study's automatic row the Observation id, when it has none yet, so it stops owing its
 * preliminary write-back: the chart now has the clinician's Observation under the same identifier.
 */
async function settleOwedWriteBack(
  store: ChartRecordDeps['store'],
  stored: StoredAnalysis,
  observationId: string,
  defaultFhirBase: string,
): Promise<void> {
  const automatic = await store.getResult({
    studyInstanceUid: stored.job.studyInstanceUid,
    modelId: stored.job.modelId,
    modelVersion: stored.job.modelVersion,
  });
  if (
    automatic?.status === 'done' &&
    automatic.observationId === undefined &&
    sameFhirBase(
      analysisFhirBase(automatic.job, defaultFhirBase),
      analysisFhirBase(stored.job, defaultFhirBase),
    )
  ) {
    await store.recordObservation(automatic.job, observationId);
  }
}
