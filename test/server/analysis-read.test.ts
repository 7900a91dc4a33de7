/**
 * `GET /api/analyses/{id}`: the SMART app reads a stored analysis by id, proving access by reading
 * the row's ImagingStudy with its FHIR token. The medplum FHIR server plays the EHR, with a token
 * check; a loopback listener stands for a FHIR server off the allowlist.
 */
import type { ImagingStudy } from '@medplum/fhirtypes';
import request from 'supertest';
import { afterEach, describe, expect, test } from 'vitest';

import type { AnalysisJob } from '../../src/jobs/types.js';
import type { OperationOutcome } from '../../src/server/outcome.js';
import {
  PATH,
  PATIENT_ID,
  SERIES_UID,
  STUDY_UID,
  TOKEN,
  createStudy,
  errorCodeOf,
  expectCleanLogs,
  jobFor,
  storePending,
} from '../support/analysis-api.js';
import { createHarness, type Harness } from '../support/cds-fixtures.js';
import { startFhirServer, type FhirServerHandle } from '../support/fhir-server.js';
import { startLoopbackListener, type LoopbackListener } from '../support/loopback-listener.js';
import { calibratedResult } from '../support/score-result.js';

const OTHER_PATIENT_ID = 'pat-9902';
const OTHER_STUDY_UID = '1.2.826.0.1.3680043.8.498.78';

let harness: Harness | undefined;
let fhirServer: FhirServerHandle | undefined;
const listeners: LoopbackListener[] = [];

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await fhirServer?.close();
  fhirServer = undefined;
  for (const listener of listeners.splice(0)) await listener.close();
});

/** Starts the FHIR server (accepting only {@link TOKEN}) and the app with it on the allowlist. */
async function start(): Promise<{ h: Harness; fhir: FhirServerHandle }> {
  fhirServer = await startFhirServer({ acceptsToken: (token) => token === TOKEN });
  harness = await createHarness({
    configOverrides: {
      fhir: { baseUrl: fhirServer.baseUrl, allowedBaseUrls: [fhirServer.baseUrl], timeoutMs: 2_000 },
    },
  });
  return { h: harness, fhir: fhirServer };
}

function get(
  h: Harness,
  id: string,
  fhirServerUrl: string | undefined,
  authorization: string | null = `Bearer ${TOKEN}`,
): request.Test {
  const query = fhirServerUrl === undefined ? '' : `?fhirServer=${encodeURIComponent(fhirServerUrl)}`;
  const call = request(h.app).get(`${PATH}/${id}${query}`);
  if (authorization !== null) call.set('Authorization', authorization);
  return call;
}

describe('GET /api/analyses/{id}', () => {
  test('200 with the done row after reading its ImagingStudy', async () => {
    const { h, fhir } = await start();
    const imagingStudyId = await createStudy(fhir);
    const job = jobFor(imagingStudyId);
    const id = await storePending(h, job);
    const result = calibratedResult({ model: { id: 'br-ro', version: '1.0.0' } });
    await h.store.markDone(job, result, 'obs-551');
    const stored = await h.store.getById(id);

    const response = await get(h, id, fhir.baseUrl);

    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      id,
      status: 'done',
      studyInstanceUid: STUDY_UID,
      imagingStudyId,
      seriesInstanceUid: SERIES_UID,
      model: { id: 'br-ro', version: '1.0.0' },
      createdAt: stored?.createdAt,
      updatedAt: stored?.updatedAt,
      result,
      observationId: 'obs-551',
    });
    expect(response.text).not.toContain(PATIENT_ID);
    expect(response.text).not.toContain('patientId');
    expect(fhir.requests()).toEqual([
      { method: 'GET', url: `ImagingStudy/${imagingStudyId}`, authorization: `Bearer ${TOKEN}` },
    ]);
    expect(await h.store.audit.list({ limit: 10 })).toEqual([
      expect.objectContaining({
        action: 'read',
        actor: { kind: 'smart-app', id: 'nqo1-cds' },
        analysisId: id,
        studyInstanceUid: STUDY_UID,
        modelVersion: '1.0.0',
        outcome: 'success',
      }),
    ]);
    expectCleanLogs(h);
  });

  test('200 with a pending row, without result', async () => {
    const { h, fhir } = await start();
    const job = jobFor(await createStudy(fhir));
    const id = await storePending(h, job);

    const response = await get(h, id, fhir.baseUrl);

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id, status: 'pending', studyInstanceUid: STUDY_UID });
    expect(response.body).not.toHaveProperty('result');
    expect(response.body).not.toHaveProperty('failure');
    expect(response.body).not.toHaveProperty('observationId');
  });

  test('200 with a failed row and its failure', async () => {
    const { h, fhir } = await start();
    const job = jobFor(await createStudy(fhir));
    const id = await storePending(h, job);
    await h.store.markFailed(job, {
      code: 'ERR_SEGMENTATION_MISSING',
      message: `no SEG references ${SERIES_UID}`,
    });

    const response = await get(h, id, fhir.baseUrl);

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      id,
      status: 'failed',
      failure: { code: 'ERR_SEGMENTATION_MISSING', message: `no SEG references ${SERIES_UID}` },
    });
    expect(response.body).not.toHaveProperty('result');
  });

  test.each([
    ['no Authorization header', null],
    ['a Basic header', `Basic ${Buffer.from(`app:${TOKEN}`).toString('base64')}`],
    ['an empty bearer', 'Bearer '],
  ])('401 without a token: %s', async (_case, authorization) => {
    const { h, fhir } = await start();
    const id = await storePending(h, jobFor(await createStudy(fhir)));

    const response = await get(h, id, fhir.baseUrl, authorization);

    expect(response.status).toBe(401);
    expect(response.text).toBe('');
    expect(fhir.requestCount()).toBe(0);
  });

  test('401 when the FHIR server rejects the token', async () => {
    const { h, fhir } = await start();
    const imagingStudyId = await createStudy(fhir);
    const job = jobFor(imagingStudyId);
    const id = await storePending(h, job);
    await h.store.markDone(job, calibratedResult({ model: { id: 'br-ro', version: '1.0.0' } }), 'obs-551');

    const response = await get(h, id, fhir.baseUrl, 'Bearer revoked-token-0000');

    expect(response.status).toBe(401);
    expect(errorCodeOf(response)).toBe('ERR_FHIR_TOKEN_REJECTED');
    expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(response.text).not.toContain('obs-551');
    expect(response.text).not.toContain(STUDY_UID);
    expect(fhir.requests()).toEqual([
      { method: 'GET', url: `ImagingStudy/${imagingStudyId}`, authorization: 'Bearer revoked-token-0000' },
    ]);
    expect(h.logs.text()).not.toContain('revoked-token-0000');
    expect(await h.store.audit.list({ limit: 10 })).toEqual([]);
    expectCleanLogs(h);
  });

  test('403 when the FHIR server denies the ImagingStudy', async () => {
    // A FHIR server that accepts the token but denies its access to this resource returns 403.
    const denying = await startLoopbackListener((_request, response) => {
      response.writeHead(403, { 'content-type': 'application/fhir+json' });
      response.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [] }));
    });
    listeners.push(denying);
    harness = await createHarness({
      configOverrides: {
        fhir: { baseUrl: denying.origin, allowedBaseUrls: [denying.origin], timeoutMs: 2_000 },
      },
    });
    const id = await storePending(harness, jobFor('img-403'));

    const response = await get(harness, id, denying.origin);

    expect(response.status).toBe(403);
    expect(errorCodeOf(response)).toBe('ERR_FHIR_ACCESS_DENIED');
    expect(response.headers['www-authenticate']).toBeUndefined();
    expect(denying.requestCount()).toBe(1);
  });

  test.each([
    ['another study', OTHER_STUDY_UID, PATIENT_ID],
    ['another patient', STUDY_UID, OTHER_PATIENT_ID],
  ])('403 when the ImagingStudy is of %s', async (_case, uid, patientId) => {
    const { h, fhir } = await start();
    const imagingStudyId = await createStudy(fhir, uid, patientId);
    const job = jobFor(imagingStudyId);
    const id = await storePending(h, job);
    await h.store.markDone(job, calibratedResult({ model: { id: 'br-ro', version: '1.0.0' } }), 'obs-551');

    const response = await get(h, id, fhir.baseUrl);

    expect(response.status).toBe(403);
    expect(errorCodeOf(response)).toBe('ERR_ANALYSIS_ACCESS_DENIED');
    expect(response.text).not.toContain('obs-551');
    expect(response.text).not.toContain(PATIENT_ID);
    expect(response.text).not.toContain(OTHER_PATIENT_ID);
    expect(fhir.requestCount()).toBe(1);
    expectCleanLogs(h);
  });

  test('403 when the ImagingStudy lost its Study Instance UID', async () => {
    const { h, fhir } = await start();
    const imagingStudyId = await createStudy(fhir);
    const id = await storePending(h, jobFor(imagingStudyId));
    const study = await fhir.repository.readResource<ImagingStudy>('ImagingStudy', imagingStudyId);
    await fhir.repository.updateResource<ImagingStudy>({ ...study, identifier: [] });

    const response = await get(h, id, fhir.baseUrl);

    expect(response.status).toBe(403);
    expect(errorCodeOf(response)).toBe('ERR_ANALYSIS_ACCESS_DENIED');
  });

  test('404 when the ImagingStudy no longer exists', async () => {
    const { h, fhir } = await start();
    const id = await storePending(h, jobFor('img-deleted-1'));

    const response = await get(h, id, fhir.baseUrl);

    expect(response.status).toBe(404);
    expect(errorCodeOf(response)).toBe('ERR_NOT_FOUND');
    expect(response.text).toContain('ImagingStudy/img-deleted-1');
    expect(fhir.requestCount()).toBe(1);
  });

  test.each([
    ['an unknown UUID', '0b6f3c1e-5d7a-4c1b-9e1f-3a2b4c5d6e7f'],
    ['an id outside the pattern', 'x%20y'],
  ])('404 for %s, without a FHIR request', async (_case, id) => {
    const { h, fhir } = await start();
    await storePending(h, jobFor(await createStudy(fhir)));

    const response = await get(h, id, fhir.baseUrl);

    expect(response.status).toBe(404);
    expect(errorCodeOf(response)).toBe('ERR_NOT_FOUND');
    expect(fhir.requestCount()).toBe(0);
  });

  const BASE_JOB: AnalysisJob = { studyInstanceUid: STUDY_UID, modelId: 'br-ro', modelVersion: '1.0.0' };

  test.each([
    ['a row started by the PACS', BASE_JOB],
    ['a row without patient', { ...BASE_JOB, imagingStudyId: 'img-1' }],
  ])('409 for %s, without a FHIR request', async (_case, job) => {
    const { h, fhir } = await start();
    const id = await storePending(h, job);

    const response = await get(h, id, fhir.baseUrl);

    expect(response.status).toBe(409);
    expect(errorCodeOf(response)).toBe('ERR_ANALYSIS_NOT_LINKED');
    expect(response.text).toContain('not yet linked to an EHR ImagingStudy');
    expect(fhir.requestCount()).toBe(0);
  });

  test('403 for a fhirServer off the allowlist, without a connection', async () => {
    const { h, fhir } = await start();
    const id = await storePending(h, jobFor(await createStudy(fhir)));
    const other = await startLoopbackListener();
    listeners.push(other);

    const response = await get(h, id, `${other.origin}/fhir/R4`);

    expect(response.status).toBe(403);
    expect(errorCodeOf(response)).toBe('ERR_URL_NOT_ALLOWED');
    expect(other.connectionCount()).toBe(0);
    expect(fhir.requestCount()).toBe(0);
    expectCleanLogs(h);
  });

  test.each([
    ['no fhirServer', `${PATH}/ID`],
    ['two fhirServer values', `${PATH}/ID?fhirServer=BASE&fhirServer=BASE`],
    ['an empty fhirServer', `${PATH}/ID?fhirServer=`],
  ])('400 for %s, without a FHIR request', async (_case, template) => {
    const { h, fhir } = await start();
    const id = await storePending(h, jobFor(await createStudy(fhir)));
    const path = template.replace('ID', id).replaceAll('BASE', encodeURIComponent(fhir.baseUrl));

    const response = await request(h.app).get(path).set('Authorization', `Bearer ${TOKEN}`);

    expect(response.status).toBe(400);
    expect(errorCodeOf(response)).toBe('ERR_REQUEST_INVALID');
    expect(response.text).toContain('expected one fhirServer query parameter');
    expect(fhir.requestCount()).toBe(0);
  });

  test('describes a denial in Chinese on request', async () => {
    const { h, fhir } = await start();
    const id = await storePending(h, jobFor(await createStudy(fhir, OTHER_STUDY_UID)));

    const response = await get(h, id, fhir.baseUrl).set('Accept-Language', 'zh-CN');

    expect(response.status).toBe(403);
    const issue = (JSON.parse(response.text) as OperationOutcome).issue[0];
    expect(issue.code).toBe('forbidden');
    expect(issue.details.text).toBe('用该访问令牌读取的 ImagingStudy 与已存分析的检查或患者不一致。');
  });

  test('409 when the launch patient is another one', async () => {
    const { h, fhir } = await start();
    const job = jobFor(await createStudy(fhir));
    const id = await storePending(h, job);
    await h.store.markDone(job, calibratedResult({ model: { id: 'br-ro', version: '1.0.0' } }));
    const query = (patient: string): string =>
      `?fhirServer=${encodeURIComponent(fhir.baseUrl)}&patient=${encodeURIComponent(patient)}`;

    const other = await request(h.app)
      .get(`${PATH}/${id}${query(OTHER_PATIENT_ID)}`)
      .set('Authorization', `Bearer ${TOKEN}`);
    const same = await request(h.app)
      .get(`${PATH}/${id}${query(PATIENT_ID)}`)
      .set('Authorization', `Bearer ${TOKEN}`);

    expect(other.status).toBe(409);
    expect(errorCodeOf(other)).toBe('ERR_PATIENT_CONFLICT');
    expect(other.text).not.toContain('probability');
    expect(same.status).toBe(200);
    expectCleanLogs(h);
  });
});
