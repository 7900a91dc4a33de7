/**
 * `POST /api/analyses/{id}/record`: a clinician records a result in the chart. The medplum FHIR
 * server plays the EHR, with a token check and, where a test needs them, refusals of chosen requests.
 */
import type { Device, Observation, Practitioner, Provenance } from '@medplum/fhirtypes';
import request from 'supertest';
import { afterEach, describe, expect, test } from 'vitest';

import { isNqo1Error, type Nqo1Error } from '../../src/errors.js';
import { FhirRestClient } from '../../src/fhir/fhir-rest.js';
import { FhirWriteBack } from '../../src/fhir/write-back.js';
import type { AnalysisJob } from '../../src/jobs/types.js';
import type { ScoreResult } from '../../src/model/result.js';
import type { AnalysisView, ChartRecordSummary } from '../../src/server/analysis-view.js';
import type { OperationOutcome } from '../../src/server/outcome.js';
import {
  PATH,
  PATIENT_ID,
  STUDY_UID,
  TOKEN,
  createStudy,
  errorCodeOf,
  expectCleanLogs,
  jobFor,
  startAnalysisApi,
  storePending,
  type AnalysisApi,
} from '../support/analysis-api.js';
import type { FhirRequestRecord, FhirServerHandle } from '../support/fhir-server.js';
import { calibratedResult, uncalibratedResult } from '../support/score-result.js';

const RESULT_IDENTIFIER = `${STUDY_UID}:br-ro:1.0.0`;

let api: AnalysisApi | undefined;

afterEach(async () => {
  await api?.close();
  api = undefined;
});

/** Returns the automatic row's job: the service's own series choice, as hooks enqueue it. */
function automaticJob(imagingStudyId: string): AnalysisJob {
  const { seriesInstanceUid: _requested, ...job } = jobFor(imagingStudyId);
  return job;
}

function result(overrides: Partial<ScoreResult> = {}): ScoreResult {
  return calibratedResult({ model: { id: 'br-ro', version: '1.0.0' }, ...overrides });
}

/** Starts the API, a study, a Practitioner and the automatic row done with `stored`. */
async function start(
  stored: ScoreResult = result(),
  refuse?: (request: FhirRequestRecord) => number | undefined,
): Promise<{ api: AnalysisApi; id: string; job: AnalysisJob; clinician: string; imagingStudyId: string }> {
  api = await startAnalysisApi(refuse === undefined ? {} : { refuse });
  const imagingStudyId = await createStudy(api.fhir);
  const practitioner = await api.fhir.repository.createResource<Practitioner>({
    resourceType: 'Practitioner',
    name: [{ given: ['Wei'], family: 'Zhang' }],
  });
  const job = automaticJob(imagingStudyId);
  const id = await storePending(api.h, job);
  await api.h.store.markDone(job, stored);
  return { api, id, job, clinician: `Practitioner/${practitioner.id}`, imagingStudyId };
}

function post(
  a: AnalysisApi,
  id: string,
  body: unknown,
  options: { patient?: string; token?: string } = {},
): request.Test {
  const query = new URLSearchParams({ fhirServer: a.fhir.baseUrl, patient: options.patient ?? PATIENT_ID });
  return request(a.h.app)
    .post(`${PATH}/${id}/record?${query.toString()}`)
    .set('Authorization', `Bearer ${options.token ?? TOKEN}`)
    .send(body as object);
}

async function observations(fhir: FhirServerHandle): Promise<Observation[]> {
  return fhir.repository.searchResources<Observation>({
    resourceType: 'Observation',
    filters: [{ code: 'identifier', operator: 'eq', value: RESULT_IDENTIFIER }],
  });
}

/** Writes the service's preliminary Observation, as the write-back after an analysis does. */
async function writePreliminary(
  a: AnalysisApi,
  imagingStudyId: string,
  stored: ScoreResult,
): Promise<string> {
  const writer = new FhirWriteBack({
    baseUrl: a.fhir.baseUrl,
    allowlist: [a.fhir.baseUrl],
    timeoutMs: 2_000,
    bearerToken: TOKEN,
  });
  const written = await writer.write({
    result: stored,
    patientId: PATIENT_ID,
    imagingStudyId,
    studyInstanceUid: STUDY_UID,
  });
  return written.observationId;
}

describe('POST /api/analyses/{id}/record', () => {
  test('turns the preliminary Observation final in place, with a Provenance naming the clinician', async () => {
    const stored = result({ probability: 0.73 });
    const { api: a, id, job, clinician, imagingStudyId } = await start(stored);
    const preliminaryId = await writePreliminary(a, imagingStudyId, stored);
    await a.h.store.recordObservation(job, preliminaryId);
    const before = await a.fhir.repository.readResource<Observation>('Observation', preliminaryId);
    expect(before.status).toBe('preliminary');

    const response = await post(a, id, { clinician });

    expect(response.status).toBe(200);
    const [observation, ...others] = await observations(a.fhir);
    expect(others).toHaveLength(0);
    expect(observation?.id).toBe(preliminaryId);
    expect(observation?.status).toBe('final');
    expect(observation?.valueQuantity?.value).toBe(0.73);
    expect(observation?.performer).toEqual([{ reference: clinician, display: 'Wei Zhang' }]);
    expect(observation?.subject?.reference).toBe(`Patient/${PATIENT_ID}`);
    expect(response.body).toMatchObject({
      analysisId: id,
      observationId: preliminaryId,
      observationVersionId: observation?.meta?.versionId,
      status: 'final',
      clinician: { reference: clinician, display: 'Wei Zhang' },
    });

    const provenances = await a.fhir.repository.searchResources<Provenance>({ resourceType: 'Provenance' });
    const review = provenances.find((p) => p.agent[0]?.who.reference === clinician);
    expect(review?.target[0]?.reference).toBe(
      `Observation/${preliminaryId}/_history/${observation?.meta?.versionId}`,
    );
    expect(review?.agent[0]?.type?.coding?.[0]?.code).toBe('verifier');
    expect(review?.agent[1]?.who.reference).toBe(observation?.device?.reference);
    expect(review?.activity?.coding?.[0]?.code).toBe('UPDATE');
    expect(await a.h.store.audit.list({ limit: 10 })).toEqual([
      expect.objectContaining({
        action: 'chart-record',
        actor: { kind: 'fhir-user', id: clinician },
        analysisId: id,
        outcome: 'success',
      }),
    ]);
    expect(review?.entity).toEqual([
      { role: 'source', what: { reference: `ImagingStudy/${imagingStudyId}` } },
      {
        role: 'revision',
        what: { reference: `Observation/${preliminaryId}/_history/${before.meta?.versionId}` },
      },
    ]);
    expectCleanLogs(a.h);
  });

  test('a repeated record by the same clinician writes nothing', async () => {
    const { api: a, id, clinician } = await start();
    const first = await post(a, id, { clinician });
    const versionAfterFirst = (await observations(a.fhir))[0]?.meta?.versionId;

    const second = await post(a, id, { clinician });

    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    const stored = await observations(a.fhir);
    expect(stored).toHaveLength(1);
    expect(stored[0]?.status).toBe('final');
    expect(stored[0]?.meta?.versionId).toBe(versionAfterFirst);
    const provenances = await a.fhir.repository.searchResources<Provenance>({ resourceType: 'Provenance' });
    expect(provenances.filter((p) => p.agent[0]?.who.reference === clinician)).toHaveLength(1);
  });

  test('concurrent records of one analysis write one Observation and one Provenance', async () => {
    const { api: a, id, clinician } = await start();

    const responses = await Promise.all(Array.from({ length: 6 }, () => post(a, id, { clinician })));

    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const stored = await observations(a.fhir);
    expect(stored).toHaveLength(1);
    expect(stored[0]?.status).toBe('final');
    const provenances = await a.fhir.repository.searchResources<Provenance>({ resourceType: 'Provenance' });
    expect(provenances.filter((p) => p.agent[0]?.who.reference === clinician)).toHaveLength(1);
  });

  test('another clinician amends the record', async () => {
    const { api: a, id, clinician } = await start();
    const other = await a.fhir.repository.createResource<Practitioner>({
      resourceType: 'Practitioner',
      name: [{ given: ['Li'], family: 'Na' }],
    });
    const first = await post(a, id, { clinician });
    expect(first.status).toBe(200);

    const second = await post(a, id, { clinician: `Practitioner/${other.id}` });

    expect(second.status).toBe(200);
    expect((second.body as ChartRecordSummary).status).toBe('amended');
    const stored = await observations(a.fhir);
    expect(stored).toHaveLength(1);
    expect(stored[0]?.status).toBe('amended');
    expect(stored[0]?.id).toBe((first.body as ChartRecordSummary).observationId);
    const read = await request(a.h.app)
      .get(`${PATH}/${id}?fhirServer=${encodeURIComponent(a.fhir.baseUrl)}`)
      .set('Authorization', `Bearer ${TOKEN}`);
    expect((read.body as AnalysisView).chartRecord).toEqual(second.body);
  });

  test('no preliminary Observation: creates it', async () => {
    const { api: a, id, clinician } = await start();
    expect(await a.h.store.countOwedWriteBacks()).toBe(1);

    const response = await post(a, id, { clinician });

    expect(response.status).toBe(200);
    expect(await observations(a.fhir)).toHaveLength(1);
    const devices = await a.fhir.repository.searchResources<Device>({ resourceType: 'Device' });
    expect(devices).toHaveLength(1);
    expect(await a.h.store.countOwedWriteBacks()).toBe(0);
    expect(await a.h.store.getById(id)).toMatchObject({
      observationId: (response.body as ChartRecordSummary).observationId,
    });
  });

  test('requested series replaces the study Observation', async () => {
    const {
      api: a,
      id: automaticId,
      clinician,
      imagingStudyId,
    } = await start(result({ probability: 0.2, class: 'low' }));
    const requested = jobFor(imagingStudyId);
    const requestedId = await storePending(a.h, requested);
    await a.h.store.markDone(requested, result({ probability: 0.64 }));

    const response = await post(a, requestedId, { clinician });

    expect(response.status).toBe(200);
    const stored = await observations(a.fhir);
    expect(stored).toHaveLength(1);
    expect(stored[0]?.valueQuantity?.value).toBe(0.64);
    const read = await request(a.h.app)
      .get(`${PATH}/${automaticId}?fhirServer=${encodeURIComponent(a.fhir.baseUrl)}`)
      .set('Authorization', `Bearer ${TOKEN}`);
    expect((read.body as AnalysisView).chartRecord).toMatchObject({
      analysisId: requestedId,
      status: 'final',
    });
  });

  test('409 for a result without a probability, before any FHIR write', async () => {
    const {
      api: a,
      id,
      clinician,
    } = await start(uncalibratedResult({ model: { id: 'br-ro', version: '1.0.0' } }));

    const response = await post(a, id, { clinician });

    expect(response.status).toBe(409);
    expect(errorCodeOf(response)).toBe('ERR_RESULT_NOT_RECORDABLE');
    expect(a.fhir.requests().filter((r) => r.method !== 'GET')).toHaveLength(0);
  });

  test('409 for a pending analysis', async () => {
    api = await startAnalysisApi();
    const imagingStudyId = await createStudy(api.fhir);
    const id = await storePending(api.h, automaticJob(imagingStudyId));

    const response = await post(api, id, { clinician: 'Practitioner/p1' });

    expect(response.status).toBe(409);
    expect(errorCodeOf(response)).toBe('ERR_RESULT_NOT_RECORDABLE');
  });

  test.each([
    ['a Patient as clinician', { clinician: 'Patient/123' }],
    ['no clinician', {}],
    ['an extra field', { clinician: 'Practitioner/1', status: 'final' }],
  ])('400 for %s', async (_name, body) => {
    const { api: a, id } = await start();

    const response = await post(a, id, body);

    expect(response.status).toBe(400);
    expect(errorCodeOf(response)).toBe('ERR_REQUEST_INVALID');
    expect(await observations(a.fhir)).toHaveLength(0);
  });

  test('rejected clinician text stays out of audit and log', async () => {
    const { api: a, id } = await start();
    const text = 'Patient/pat-SECRET-4242 Zhang Xiaoming 1961-03-14';

    const response = await post(a, id, { clinician: text });

    expect(response.status).toBe(400);
    expect(response.text).not.toContain('pat-SECRET-4242');
    expect(a.h.logs.text()).not.toContain('pat-SECRET-4242');
    const records = (await a.h.store.audit.list({ limit: 100 })).filter(
      (row) => row.action === 'chart-record',
    );
    expect(records.map((row) => [row.actor.id, row.outcome])).toEqual([['invalid', 'failure']]);
  });

  test('400 naming the clinician the FHIR server does not hold', async () => {
    const { api: a, id } = await start();

    const response = await post(a, id, { clinician: 'Practitioner/nobody-here' });

    expect(response.status).toBe(400);
    expect((response.body as OperationOutcome).issue[0].diagnostics).toContain('Practitioner/nobody-here');
    expect(await observations(a.fhir)).toHaveLength(0);
  });

  test('403 ERR_CHART_WRITE_REFUSED when the FHIR server refuses the Observation write', async () => {
    const {
      api: a,
      id,
      clinician,
    } = await start(result(), (r) =>
      r.method === 'POST' && r.url.startsWith('Observation') ? 403 : undefined,
    );

    const response = await post(a, id, { clinician });

    expect(response.status).toBe(403);
    expect(errorCodeOf(response)).toBe('ERR_CHART_WRITE_REFUSED');
    expect(await a.h.store.audit.list({ limit: 10 })).toEqual([
      expect.objectContaining({
        action: 'chart-record',
        outcome: 'failure',
        errorCode: 'ERR_CHART_WRITE_REFUSED',
      }),
    ]);
    expect(await a.h.store.chartRecords.latestForStudy(automaticJob('x'))).toBeUndefined();
    expect(await a.h.store.countOwedWriteBacks()).toBe(1);
  });

  test('failed Provenance keeps the record', async () => {
    let failProvenance = true;
    const {
      api: a,
      id,
      clinician,
    } = await start(result(), (r) =>
      failProvenance && r.method === 'POST' && r.url.startsWith('Provenance') ? 503 : undefined,
    );

    const failed = await post(a, id, { clinician });

    expect(failed.status).toBe(502);
    expect(errorCodeOf(failed)).toBe('ERR_CHART_PROVENANCE_FAILED');
    const kept = await a.h.store.chartRecords.latestForStudy(automaticJob('x'));
    expect(kept?.status).toBe('final');
    expect(kept?.provenanceId).toBeUndefined();
    expect(await a.h.store.countOwedWriteBacks()).toBe(0);
    expect(a.h.logs.text()).toContain('ERR_CHART_PROVENANCE_FAILED');
    expect(a.h.logs.text()).not.toContain(clinician);

    failProvenance = false;
    const retried = await post(a, id, { clinician });

    expect(retried.status).toBe(200);
    expect((retried.body as ChartRecordSummary).status).toBe('amended');
    const provenances = await a.fhir.repository.searchResources<Provenance>({ resourceType: 'Provenance' });
    expect(provenances.filter((p) => p.agent[0]?.who.reference === clinician)).toHaveLength(1);
  });

  test('409 ERR_CHART_CHANGED when the Observation changed since it was found (HTTP 412)', async () => {
    const stored = result();
    const {
      api: a,
      id,
      clinician,
      imagingStudyId,
    } = await start(stored, (r) =>
      r.method === 'PUT' && r.url.startsWith('Observation/') ? 412 : undefined,
    );
    await writePreliminary(a, imagingStudyId, stored).catch(() => undefined);
    expect(await observations(a.fhir)).toHaveLength(1);

    const response = await post(a, id, { clinician });

    expect(response.status).toBe(409);
    expect(errorCodeOf(response)).toBe('ERR_CHART_CHANGED');
    expect((await observations(a.fhir))[0]?.status).toBe('preliminary');
  });

  test('stale If-Match gets HTTP 412', async () => {
    const stored = result();
    const { api: a, imagingStudyId } = await start(stored);
    const preliminaryId = await writePreliminary(a, imagingStudyId, stored);
    const current = await a.fhir.repository.readResource<Observation>('Observation', preliminaryId);
    const client = new FhirRestClient(new URL(a.fhir.baseUrl), 2_000, TOKEN);

    const stale = await client
      .update(preliminaryId, { ...current, status: 'final' }, 'not-the-current-version')
      .catch((error: unknown) => error);
    const fresh = await client.update(
      preliminaryId,
      { ...current, status: 'final' },
      current.meta?.versionId,
    );

    expect(isNqo1Error(stale, 'ERR_FHIR_FAILED')).toBe(true);
    expect((stale as Nqo1Error).details.status).toBe(412);
    expect(fresh.versionId).not.toBe(current.meta?.versionId);
  });

  test('the update names the version it replaces', async () => {
    const stored = result();
    const { api: a, id, clinician, imagingStudyId } = await start(stored);
    const preliminaryId = await writePreliminary(a, imagingStudyId, stored);
    const version = (await a.fhir.repository.readResource<Observation>('Observation', preliminaryId)).meta
      ?.versionId;
    // Another writer changes the Observation after the app showed the result. The record reads the
    // current version first, so it succeeds and names that version as replaced.
    await a.fhir.repository.updateResource<Observation>({
      ...(await a.fhir.repository.readResource<Observation>('Observation', preliminaryId)),
      note: [{ text: 'edited elsewhere' }],
    });

    const response = await post(a, id, { clinician });

    expect(response.status).toBe(200);
    const provenances = await a.fhir.repository.searchResources<Provenance>({ resourceType: 'Provenance' });
    const review = provenances.find((p) => p.agent[0]?.who.reference === clinician);
    const revision = review?.entity?.find((entity) => entity.role === 'revision')?.what.reference;
    expect(revision).toMatch(new RegExp(`^Observation/${preliminaryId}/_history/`));
    expect(revision).not.toBe(`Observation/${preliminaryId}/_history/${version}`);
  });

  test('other patient and rejected token', async () => {
    const { api: a, id, clinician } = await start();

    const otherPatient = await post(a, id, { clinician }, { patient: 'pat-other' });
    const refused = await post(a, id, { clinician }, { token: 'not-the-token' });

    expect(otherPatient.status).toBe(409);
    expect(errorCodeOf(otherPatient)).toBe('ERR_PATIENT_CONFLICT');
    expect(refused.status).toBe(401);
    expect(errorCodeOf(refused)).toBe('ERR_FHIR_TOKEN_REJECTED');
    expect(await observations(a.fhir)).toHaveLength(0);
  });

  test('the written Observation keeps the CT acquisition time the analysis stored', async () => {
    api = await startAnalysisApi();
    const imagingStudyId = await createStudy(api.fhir);
    const practitioner = await api.fhir.repository.createResource<Practitioner>({
      resourceType: 'Practitioner',
      name: [{ text: 'Dr Li Na' }],
    });
    const job = automaticJob(imagingStudyId);
    const id = await storePending(api.h, job);
    await api.h.store.markDone(job, result(), undefined, { effectiveDateTime: '2026-11-30T09:41:07+08:00' });

    const response = await post(api, id, { clinician: `Practitioner/${practitioner.id}` });

    expect(response.status).toBe(200);
    expect((response.body as ChartRecordSummary).clinician.display).toBe('Dr Li Na');
    const [observation] = await observations(api.fhir);
    expect(observation?.effectiveDateTime).toBe('2026-11-30T09:41:07+08:00');
  });
});
