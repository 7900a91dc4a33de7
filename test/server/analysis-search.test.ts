/**
 * `GET /api/analyses`: the SMART app finds its launch patient's stored analyses without an analysis id,
 * proving access by searching or reading the patient's ImagingStudy resources with its FHIR token.
 * The medplum FHIR server plays the EHR, with a token check; a loopback listener stands for a FHIR
 * server off the allowlist.
 */
import type { ImagingStudy } from '@medplum/fhirtypes';
import request from 'supertest';
import { afterEach, describe, expect, test } from 'vitest';

import type { AnalysisJob } from '../../src/jobs/types.js';
import type { AnalysisSearchResult } from '../../src/server/analysis-search.js';
import {
  PATH,
  PATIENT_ID,
  TOKEN,
  createStudy,
  errorCodeOf,
  expectCleanLogs,
  startAnalysisApi,
  type AnalysisApi,
} from '../support/analysis-api.js';
import type { FhirServerHandle } from '../support/fhir-server.js';
import { startLoopbackListener, type LoopbackListener } from '../support/loopback-listener.js';
import { createHarness, type Harness } from '../support/cds-fixtures.js';
import { calibratedResult } from '../support/score-result.js';

const OTHER_PATIENT_ID = 'pat-9902';
const OLD_UID = '1.2.826.0.1.3680043.8.498.101';
const NEW_UID = '1.2.826.0.1.3680043.8.498.102';
const UNANALYSED_UID = '1.2.826.0.1.3680043.8.498.103';
const OTHER_PATIENT_UID = '1.2.826.0.1.3680043.8.498.104';

let api: AnalysisApi | undefined;
let harness: Harness | undefined;
const listeners: LoopbackListener[] = [];

afterEach(async () => {
  await api?.close();
  api = undefined;
  await harness?.close();
  harness = undefined;
  for (const listener of listeners.splice(0)) await listener.close();
});

/** Creates a CT ImagingStudy and returns its logical id. */
async function createCtStudy(
  fhir: FhirServerHandle,
  uid: string,
  started: string | undefined,
  patientId = PATIENT_ID,
): Promise<string> {
  return createStudy(fhir, uid, patientId, { ...(started === undefined ? {} : { started }), ctSeries: true });
}

function job(uid: string, imagingStudyId: string | undefined, patientId: string | undefined): AnalysisJob {
  return {
    studyInstanceUid: uid,
    ...(imagingStudyId === undefined ? {} : { imagingStudyId }),
    ...(patientId === undefined ? {} : { patientId }),
    modelId: 'br-ro',
    modelVersion: '1.0.0',
  };
}

/** Stores a done row for `analysisJob` and returns its id. */
async function storeDone(api: AnalysisApi, analysisJob: AnalysisJob): Promise<string> {
  await api.h.store.insertPending(analysisJob);
  await api.h.store.markDone(analysisJob, calibratedResult({ model: { id: 'br-ro', version: '1.0.0' } }));
  return (await api.h.store.getResult(analysisJob))!.id;
}

/** Creates an older analysed study, a newer analysed one and an unanalysed one of {@link PATIENT_ID}. */
async function patientWithStudies(api: AnalysisApi): Promise<{
  oldStudy: string;
  newStudy: string;
  unanalysedStudy: string;
  oldId: string;
  newId: string;
}> {
  const oldStudy = await createCtStudy(api.fhir, OLD_UID, '2026-03-01T09:00:00Z');
  const newStudy = await createCtStudy(api.fhir, NEW_UID, '2026-11-20T14:30:00Z');
  const unanalysedStudy = await createCtStudy(api.fhir, UNANALYSED_UID, undefined);
  // Stored newest first, so an order by insertion would fail the ordering test.
  const newId = await storeDone(api, job(NEW_UID, newStudy, PATIENT_ID));
  const oldId = await storeDone(api, job(OLD_UID, oldStudy, PATIENT_ID));
  return { oldStudy, newStudy, unanalysedStudy, oldId, newId };
}

function search(
  target: AnalysisApi,
  parameters: Readonly<Record<string, string>>,
  authorization: string | null = `Bearer ${TOKEN}`,
): request.Test {
  const query = new URLSearchParams({ fhirServer: target.fhir.baseUrl, patient: PATIENT_ID, ...parameters });
  const call = request(target.h.app).get(`${PATH}?${query.toString()}`);
  if (authorization !== null) call.set('Authorization', authorization);
  return call;
}

describe('GET /api/analyses', () => {
  test('200 lists the analyses, most recent study first', async () => {
    api = await startAnalysisApi();
    const { oldStudy, newStudy, unanalysedStudy, oldId, newId } = await patientWithStudies(api);

    const response = await search(api, {});

    expect(response.status).toBe(200);
    const body = response.body as AnalysisSearchResult;
    expect(body.studies).toEqual([
      { imagingStudyId: newStudy, studyInstanceUid: NEW_UID, started: '2026-11-20T14:30:00Z' },
      { imagingStudyId: oldStudy, studyInstanceUid: OLD_UID, started: '2026-03-01T09:00:00Z' },
      { imagingStudyId: unanalysedStudy, studyInstanceUid: UNANALYSED_UID },
    ]);
    expect(body.analyses.map((analysis) => analysis.id)).toEqual([newId, oldId]);
    expect(body.analyses[0]).toMatchObject({
      status: 'done',
      studyInstanceUid: NEW_UID,
      imagingStudyId: newStudy,
      model: { id: 'br-ro', version: '1.0.0' },
    });
    expect(body.analyses[0]!.result?.probability).toBe(calibratedResult().probability);
    expect(response.text).not.toContain(PATIENT_ID);
    expect(response.text).not.toContain('patientId');

    const requests = api.fhir.requests();
    expect(requests).toHaveLength(1);
    expect(requests[0]!.url).toMatch(/^ImagingStudy\?/);
    expect(new URLSearchParams(requests[0]!.url.split('?')[1]).get('patient')).toBe(PATIENT_ID);
    expect(requests[0]!.authorization).toBe(`Bearer ${TOKEN}`);
    const audited = await api.h.store.audit.list({ limit: 10 });
    expect(audited.map((event) => [event.action, event.analysisId, event.actor.kind])).toEqual([
      ['search', newId, 'smart-app'],
      ['search', oldId, 'smart-app'],
    ]);
    expect(JSON.stringify(audited)).not.toContain(PATIENT_ID);
    expectCleanLogs(api.h);
  });

  test('automatic row before a requested series', async () => {
    api = await startAnalysisApi();
    const studyId = await createCtStudy(api.fhir, NEW_UID, '2026-11-20T14:30:00Z');
    const requested = { ...job(NEW_UID, studyId, PATIENT_ID), seriesInstanceUid: `${NEW_UID}.7` };
    const requestedId = await storeDone(api, requested);
    const automaticId = await storeDone(api, job(NEW_UID, studyId, PATIENT_ID));

    const response = await search(api, {});

    expect(response.status).toBe(200);
    const body = response.body as AnalysisSearchResult;
    expect(body.analyses.map((analysis) => analysis.id)).toEqual([automaticId, requestedId]);
    expect(body.analyses[1]!.seriesInstanceUid).toBe(`${NEW_UID}.7`);
  });

  test('rows of another patient record or unlinked are left out', async () => {
    api = await startAnalysisApi();
    const studyId = await createCtStudy(api.fhir, NEW_UID, '2026-11-20T14:30:00Z');
    const unlinkedStudyId = await createCtStudy(api.fhir, OLD_UID, '2026-03-01T09:00:00Z');
    // The EHR links study NEW_UID to this patient, but the store bound it to another record.
    await storeDone(api, job(NEW_UID, studyId, OTHER_PATIENT_ID));
    // Started by the PACS and never bound by a hook.
    await storeDone(api, job(OLD_UID, undefined, undefined));
    // A study of another patient that the FHIR server must not return for this patient.
    const otherStudy = await createCtStudy(
      api.fhir,
      OTHER_PATIENT_UID,
      '2026-12-01T08:00:00Z',
      OTHER_PATIENT_ID,
    );
    await storeDone(api, job(OTHER_PATIENT_UID, otherStudy, OTHER_PATIENT_ID));

    const response = await search(api, {});

    expect(response.status).toBe(200);
    const body = response.body as AnalysisSearchResult;
    expect(body.analyses).toEqual([]);
    expect(body.studies.map((study) => study.imagingStudyId)).toEqual([studyId, unlinkedStudyId]);
    expect(response.text).not.toContain(OTHER_PATIENT_ID);
    expect(response.text).not.toContain(OTHER_PATIENT_UID);
  });

  test('rows of another model version are left out', async () => {
    api = await startAnalysisApi();
    const studyId = await createCtStudy(api.fhir, NEW_UID, '2026-11-20T14:30:00Z');
    const older = { ...job(NEW_UID, studyId, PATIENT_ID), modelVersion: '0.9.0' };
    await api.h.store.insertPending(older);

    const response = await search(api, {});

    expect(response.status).toBe(200);
    expect((response.body as AnalysisSearchResult).analyses).toEqual([]);
  });

  test('studyInstanceUid keeps that study only', async () => {
    api = await startAnalysisApi();
    const { oldStudy, oldId } = await patientWithStudies(api);

    const response = await search(api, { studyInstanceUid: OLD_UID });

    expect(response.status).toBe(200);
    const body = response.body as AnalysisSearchResult;
    expect(body.studies).toEqual([
      { imagingStudyId: oldStudy, studyInstanceUid: OLD_UID, started: '2026-03-01T09:00:00Z' },
    ]);
    expect(body.analyses.map((analysis) => analysis.id)).toEqual([oldId]);
  });

  test('studyInstanceUid of no study of the patient: empty', async () => {
    api = await startAnalysisApi();
    await patientWithStudies(api);
    const otherStudy = await createCtStudy(api.fhir, OTHER_PATIENT_UID, undefined, OTHER_PATIENT_ID);
    await storeDone(api, job(OTHER_PATIENT_UID, otherStudy, OTHER_PATIENT_ID));

    const response = await search(api, { studyInstanceUid: OTHER_PATIENT_UID });

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ studies: [], analyses: [] });
  });

  test('imagingStudy reads that study only', async () => {
    api = await startAnalysisApi();
    const { newStudy, newId } = await patientWithStudies(api);

    const response = await search(api, { imagingStudy: `ImagingStudy/${newStudy}` });

    expect(response.status).toBe(200);
    const body = response.body as AnalysisSearchResult;
    expect(body.studies).toEqual([{ imagingStudyId: newStudy, studyInstanceUid: NEW_UID }]);
    expect(body.analyses.map((analysis) => analysis.id)).toEqual([newId]);
    expect(api.fhir.requests()).toEqual([
      { method: 'GET', url: `ImagingStudy/${newStudy}`, authorization: `Bearer ${TOKEN}` },
    ]);
  });

  test('409 for an imagingStudy of another patient', async () => {
    api = await startAnalysisApi();
    const otherStudy = await createCtStudy(api.fhir, OTHER_PATIENT_UID, undefined, OTHER_PATIENT_ID);
    await storeDone(api, job(OTHER_PATIENT_UID, otherStudy, OTHER_PATIENT_ID));

    const response = await search(api, { imagingStudy: `ImagingStudy/${otherStudy}` });

    expect(response.status).toBe(409);
    expect(errorCodeOf(response)).toBe('ERR_PATIENT_CONFLICT');
    expect(response.text).not.toContain(OTHER_PATIENT_ID);
    expect(response.text).not.toContain('probability');
    expectCleanLogs(api.h);
  });

  test('imagingStudy without a Study Instance UID: empty', async () => {
    api = await startAnalysisApi();
    const created = await api.fhir.repository.createResource<ImagingStudy>({
      resourceType: 'ImagingStudy',
      status: 'available',
      subject: { reference: `Patient/${PATIENT_ID}` },
    });

    const response = await search(api, { imagingStudy: `ImagingStudy/${created.id}` });

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ studies: [], analyses: [] });
    expect(api.fhir.requestCount()).toBe(1);
  });

  test('404 for an imagingStudy that does not exist', async () => {
    api = await startAnalysisApi();

    const response = await search(api, { imagingStudy: 'ImagingStudy/img-deleted-1' });

    expect(response.status).toBe(404);
    expect(errorCodeOf(response)).toBe('ERR_NOT_FOUND');
  });

  test.each([
    ['no Authorization header', null],
    ['a Basic header', `Basic ${Buffer.from(`app:${TOKEN}`).toString('base64')}`],
  ])('401 without a token: %s', async (_case, authorization) => {
    api = await startAnalysisApi();
    await patientWithStudies(api);

    const response = await search(api, {}, authorization);

    expect(response.status).toBe(401);
    expect(response.text).toBe('');
    expect(api.fhir.requestCount()).toBe(0);
  });

  test.each([
    ['search', {}],
    ['read', { imagingStudy: 'ImagingStudy/img-1' }],
  ])('401 when the FHIR server rejects the token: %s', async (_case, parameters) => {
    api = await startAnalysisApi();
    await patientWithStudies(api);

    const response = await search(api, parameters, 'Bearer revoked-token-0000');

    expect(response.status).toBe(401);
    expect(errorCodeOf(response)).toBe('ERR_FHIR_TOKEN_REJECTED');
    expect(response.text).not.toContain(NEW_UID);
    expect(api.fhir.requestCount()).toBe(1);
    expect(api.h.logs.text()).not.toContain('revoked-token-0000');
    expectCleanLogs(api.h);
  });

  test.each([
    ['search', {}],
    ['read', { imagingStudy: 'ImagingStudy/img-1' }],
  ])('403 when the token does not grant the ImagingStudy: %s', async (_case, parameters) => {
    api = await startAnalysisApi({
      refuse: (request) => (request.url.startsWith('ImagingStudy') ? 403 : undefined),
    });
    await patientWithStudies(api);

    const response = await search(api, parameters);

    expect(response.status).toBe(403);
    expect(errorCodeOf(response)).toBe('ERR_FHIR_ACCESS_DENIED');
    expect(response.text).not.toContain(NEW_UID);
    expectCleanLogs(api.h);
  });

  test('403 for a fhirServer off the allowlist, without a connection', async () => {
    api = await startAnalysisApi();
    await patientWithStudies(api);
    const other = await startLoopbackListener();
    listeners.push(other);

    const response = await search(api, { fhirServer: `${other.origin}/fhir/R4` });

    expect(response.status).toBe(403);
    expect(errorCodeOf(response)).toBe('ERR_URL_NOT_ALLOWED');
    expect(other.connectionCount()).toBe(0);
    expect(api.fhir.requestCount()).toBe(0);
    expectCleanLogs(api.h);
  });

  test('504 when the study search times out', async () => {
    const silent = await startLoopbackListener();
    listeners.push(silent);
    const base = `${silent.origin}/fhir/R4`;
    harness = await createHarness({
      configOverrides: { fhir: { baseUrl: base, allowedBaseUrls: [base], timeoutMs: 300 } },
    });

    const query = new URLSearchParams({ fhirServer: base, patient: PATIENT_ID });
    const response = await request(harness.app)
      .get(`${PATH}?${query.toString()}`)
      .set('Authorization', `Bearer ${TOKEN}`);

    expect(response.status).toBe(504);
    expect(errorCodeOf(response)).toBe('ERR_FHIR_FAILED');
    expect(silent.requestCount()).toBe(1);
    expect(harness.logs.text()).not.toContain(TOKEN);
    expect(harness.logs.text()).not.toContain(PATIENT_ID);
  });

  test('502 when a search page links outside the FHIR base', async () => {
    const fhir = await startLoopbackListener((_request, response) => {
      response.setHeader('Content-Type', 'application/fhir+json');
      response.end(
        JSON.stringify({
          resourceType: 'Bundle',
          type: 'searchset',
          entry: [],
          link: [{ relation: 'next', url: 'http://127.0.0.1:9/elsewhere/ImagingStudy?page=2' }],
        }),
      );
    });
    listeners.push(fhir);
    const base = `${fhir.origin}/fhir/R4`;
    harness = await createHarness({
      configOverrides: { fhir: { baseUrl: base, allowedBaseUrls: [base], timeoutMs: 2_000 } },
    });

    const query = new URLSearchParams({ fhirServer: base, patient: PATIENT_ID });
    const response = await request(harness.app)
      .get(`${PATH}?${query.toString()}`)
      .set('Authorization', `Bearer ${TOKEN}`);

    expect(response.status).toBe(502);
    expect(errorCodeOf(response)).toBe('ERR_FHIR_FAILED');
    expect(fhir.requestCount()).toBe(1);
    // A 502 body is generic; the log has the reason for hospital IT, without the patient id.
    expect(harness.logs.text()).toContain('has too many pages or leaves the FHIR base');
    expect(harness.logs.text()).not.toContain(PATIENT_ID);
  });

  test.each([
    ['no patient', 'fhirServer=BASE', 'patient, the FHIR Patient id of the launch, is missing'],
    ['two patients', 'fhirServer=BASE&patient=a&patient=b', 'patient must be given once'],
    ['a patient with a slash', 'fhirServer=BASE&patient=Patient%2Fa', 'patient is not a FHIR logical id'],
    ['no fhirServer', 'patient=pat-1', 'fhirServer, the URL-encoded FHIR base URL of the launch, is missing'],
    [
      'a bad UID',
      'fhirServer=BASE&patient=pat-1&studyInstanceUid=1.2.x',
      'studyInstanceUid is not a DICOM UID',
    ],
    ['a bad reference', 'fhirServer=BASE&patient=pat-1&imagingStudy=Patient%2F1', 'imagingStudy is not'],
    [
      'both study parameters',
      'fhirServer=BASE&patient=pat-1&imagingStudy=ImagingStudy%2F1&studyInstanceUid=1.2.3',
      'not both',
    ],
  ])('400 for %s, without a FHIR request', async (_case, template, problem) => {
    api = await startAnalysisApi();
    const query = template.replace('BASE', encodeURIComponent(api.fhir.baseUrl));

    const response = await request(api.h.app).get(`${PATH}?${query}`).set('Authorization', `Bearer ${TOKEN}`);

    expect(response.status).toBe(400);
    expect(errorCodeOf(response)).toBe('ERR_REQUEST_INVALID');
    expect(response.text).toContain(problem);
    expect(api.fhir.requestCount()).toBe(0);
  });
});
