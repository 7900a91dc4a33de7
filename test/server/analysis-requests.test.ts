/**
 * `POST /api/analyses`: the SMART app requests another CT series. A loopback listener plays the FHIR
 * server where a test needs a status or a token check. The medplum FHIR server plays it once, for a
 * read from a real FHIR implementation.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { ImagingStudy } from '@medplum/fhirtypes';
import request from 'supertest';
import { afterEach, describe, expect, test, vi } from 'vitest';

import { Nqo1Error } from '../../src/errors.js';
import type { AnalyseStudy, AnalysisJob } from '../../src/jobs/types.js';
import type { OperationOutcome } from '../../src/server/outcome.js';
import { createHarness, imagingStudy, type Harness } from '../support/cds-fixtures.js';
import { startFhirServer, type FhirServerHandle } from '../support/fhir-server.js';
import { startLoopbackListener, type LoopbackListener } from '../support/loopback-listener.js';
import { uncalibratedResult } from '../support/score-result.js';

const TOKEN = 'smart-access-token-3c8e1f7a';
const FHIR_PATH = '/fhir/R4';
const PATIENT_ID = 'pat-42';
const STUDY_UID = '1.2.826.0.1.3680043.8.498.42';
const SERIES_UID = '1.2.826.0.1.3680043.8.498.42.3';
const OTHER_SERIES_UID = '1.2.826.0.1.3680043.8.498.42.4';
const SEG_UID = '1.2.826.0.1.3680043.8.498.42.9.1';
const PATH = '/api/analyses';

let harness: Harness | undefined;
/** Resolves the gate of a held {@link recordingAnalyse}, so that the queue can stop. */
let release: () => void = () => undefined;
let fhirServer: FhirServerHandle | undefined;
const listeners: LoopbackListener[] = [];

afterEach(async () => {
  release();
  await harness?.close();
  harness = undefined;
  await fhirServer?.close();
  fhirServer = undefined;
  for (const listener of listeners.splice(0)) await listener.close();
});

interface SeenRequest {
  readonly method: string | undefined;
  readonly path: string;
  readonly authorization: string | undefined;
}

/** Starts a fake FHIR server that records each request and lets `respond` handle it. */
async function startFakeFhir(
  respond: (incoming: IncomingMessage, response: ServerResponse) => void,
): Promise<{ listener: LoopbackListener; base: string; seen: SeenRequest[] }> {
  const seen: SeenRequest[] = [];
  const listener = await startLoopbackListener((incoming, response) => {
    seen.push({
      method: incoming.method,
      path: incoming.url ?? '',
      authorization: incoming.headers.authorization,
    });
    respond(incoming, response);
  });
  listeners.push(listener);
  return { listener, base: `${listener.origin}${FHIR_PATH}`, seen };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/fhir+json' });
  response.end(JSON.stringify(body));
}

/** A fake FHIR server that returns `study` to requests carrying {@link TOKEN}, and 401 otherwise. */
function servingStudy(study: unknown): (incoming: IncomingMessage, response: ServerResponse) => void {
  return (incoming, response) => {
    if (incoming.headers.authorization !== `Bearer ${TOKEN}`) {
      sendJson(response, 401, {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'login' }],
      });
      return;
    }
    sendJson(response, 200, study);
  };
}

const STUDY = imagingStudy({ id: 'img-42', uid: STUDY_UID, patientId: PATIENT_ID });

/** Creates an analyser that records its jobs. With `held`, each job waits until `release()`, so its row stays running. */
function recordingAnalyse(held = false): { analyse: AnalyseStudy; jobs: AnalysisJob[] } {
  const gate = held ? new Promise<void>((resolve) => (release = resolve)) : undefined;
  const jobs: AnalysisJob[] = [];
  return {
    jobs,
    analyse: async (job) => {
      jobs.push(job);
      await gate;
      return { result: uncalibratedResult() };
    },
  };
}

async function harnessFor(base: string, analyse?: AnalyseStudy, timeoutMs = 2_000): Promise<Harness> {
  harness = await createHarness({
    ...(analyse === undefined ? {} : { analyse }),
    configOverrides: { fhir: { baseUrl: base, allowedBaseUrls: [base], timeoutMs } },
  });
  return harness;
}

function requestBody(base: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { fhirServer: base, imagingStudyId: 'img-42', seriesInstanceUid: SERIES_UID, ...overrides };
}

/** Posts `body` with the app's bearer token, another Authorization header, or (with null) none. */
function post(h: Harness, body: unknown, authorization: string | null = `Bearer ${TOKEN}`): request.Test {
  const call = request(h.app).post(PATH);
  if (authorization !== null) call.set('Authorization', authorization);
  return call.send(body as object);
}

function errorCodeOf(response: request.Response): string | undefined {
  return (JSON.parse(response.text) as OperationOutcome).issue[0].details.coding[0].code;
}

function expectCleanLogs(h: Harness): void {
  expect(h.logs.text()).not.toContain(TOKEN);
  expect(h.logs.text()).not.toContain(PATIENT_ID);
}

const REQUESTED_KEY = {
  studyInstanceUid: STUDY_UID,
  seriesInstanceUid: SERIES_UID,
  modelId: 'br-ro',
  modelVersion: '1.0.0',
};

describe('POST /api/analyses', () => {
  test('enqueues the requested series after reading the ImagingStudy', async () => {
    const fhir = await startFakeFhir(servingStudy(STUDY));
    const { analyse, jobs } = recordingAnalyse(true);
    const h = await harnessFor(fhir.base, analyse);

    const response = await post(h, requestBody(fhir.base));

    expect(response.status).toBe(202);
    const stored = await h.store.getResult(REQUESTED_KEY);
    expect(response.body).toEqual({ id: stored?.id, status: 'running' });
    expect(stored?.job).toEqual({
      studyInstanceUid: STUDY_UID,
      imagingStudyId: 'img-42',
      patientId: PATIENT_ID,
      fhirServer: fhir.base.replace(/\/+$/, ''),
      seriesInstanceUid: SERIES_UID,
      modelId: 'br-ro',
      modelVersion: '1.0.0',
    });
    expect(
      await h.store.getResult({ studyInstanceUid: STUDY_UID, modelId: 'br-ro', modelVersion: '1.0.0' }),
    ).toBeUndefined();
    expect(fhir.seen).toEqual([
      { method: 'GET', path: `${FHIR_PATH}/ImagingStudy/img-42`, authorization: `Bearer ${TOKEN}` },
    ]);
    await vi.waitFor(() => {
      expect(jobs.map((job) => job.seriesInstanceUid)).toEqual([SERIES_UID]);
    });
    expectCleanLogs(h);
  });

  test('returns the stored row once done, and analyses once', async () => {
    const fhir = await startFakeFhir(servingStudy(STUDY));
    const { analyse, jobs } = recordingAnalyse();
    const h = await harnessFor(fhir.base, analyse);

    const first = await post(h, requestBody(fhir.base, { segmentationSopInstanceUid: SEG_UID }));
    await h.queue.drain();
    const second = await post(h, requestBody(fhir.base, { segmentationSopInstanceUid: SEG_UID }));

    expect(first.status).toBe(202);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({
      id: (first.body as { id: string }).id,
      status: 'done',
      studyInstanceUid: STUDY_UID,
      imagingStudyId: 'img-42',
      seriesInstanceUid: SERIES_UID,
      segmentationSopInstanceUid: SEG_UID,
      model: { id: 'br-ro', version: '1.0.0' },
      result: uncalibratedResult(),
    });
    expect(second.text).not.toContain(PATIENT_ID);
    expect(jobs).toHaveLength(1);
    expectCleanLogs(h);
  });

  test('gives another series its own row', async () => {
    const fhir = await startFakeFhir(servingStudy(STUDY));
    const h = await harnessFor(fhir.base, recordingAnalyse(true).analyse);

    const first = await post(h, requestBody(fhir.base));
    const second = await post(h, requestBody(fhir.base, { seriesInstanceUid: OTHER_SERIES_UID }));

    expect(second.status).toBe(202);
    expect((second.body as { id: string }).id).not.toBe((first.body as { id: string }).id);
    expect(second.body).toMatchObject({ status: 'pending' });
    expect(await h.store.countByStatus()).toMatchObject({ pending: 1, running: 1 });
  });

  test('returns a failed row with its failure', async () => {
    const fhir = await startFakeFhir(servingStudy(STUDY));
    const h = await harnessFor(fhir.base, () =>
      Promise.reject(new Nqo1Error('ERR_REQUESTED_SERIES_INVALID', `series ${SERIES_UID} is MR`)),
    );

    await post(h, requestBody(fhir.base));
    await h.queue.drain();
    const response = await post(h, requestBody(fhir.base));

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      status: 'failed',
      failure: { code: 'ERR_REQUESTED_SERIES_INVALID', message: `series ${SERIES_UID} is MR` },
    });
  });

  test.each([
    ['no Authorization header', null],
    ['a Basic header', `Basic ${Buffer.from(`app:${TOKEN}`).toString('base64')}`],
    ['an empty bearer', 'Bearer '],
  ])('401 without a token: %s', async (_case, authorization) => {
    const fhir = await startFakeFhir(servingStudy(STUDY));
    const h = await harnessFor(fhir.base);

    const response = await post(h, requestBody(fhir.base), authorization);

    expect(response.status).toBe(401);
    expect(response.text).toBe('');
    expect(fhir.listener.connectionCount()).toBe(0);
  });

  test.each([
    [
      'no seriesInstanceUid',
      { seriesInstanceUid: undefined },
      'seriesInstanceUid: expected seriesInstanceUid as a string',
    ],
    [
      'a series UID with letters',
      { seriesInstanceUid: '1.2.abc' },
      'expected seriesInstanceUid as a DICOM UID',
    ],
    [
      'a bad segmentation UID',
      { segmentationSopInstanceUid: '' },
      'expected segmentationSopInstanceUid as a DICOM UID',
    ],
    [
      'an imagingStudyId with a slash',
      { imagingStudyId: '../Patient/pat-42' },
      'expected imagingStudyId as a FHIR logical id',
    ],
    ['an unknown field', { seriesUid: SERIES_UID }, 'seriesUid'],
  ])('400 for %s, without a connection', async (_case, overrides, message) => {
    const fhir = await startFakeFhir(servingStudy(STUDY));
    const h = await harnessFor(fhir.base);

    const response = await post(h, requestBody(fhir.base, overrides));

    expect(response.status).toBe(400);
    expect(errorCodeOf(response)).toBe('ERR_REQUEST_INVALID');
    expect(response.text).toContain(message);
    expect(fhir.listener.connectionCount()).toBe(0);
  });

  test('403 for a fhirServer off the allowlist, without a connection', async () => {
    const allowed = await startFakeFhir(servingStudy(STUDY));
    const other = await startFakeFhir(servingStudy(STUDY));
    const h = await harnessFor(allowed.base);

    const response = await post(h, requestBody(other.base));

    expect(response.status).toBe(403);
    expect(errorCodeOf(response)).toBe('ERR_URL_NOT_ALLOWED');
    expect(other.listener.connectionCount()).toBe(0);
    expect(allowed.listener.connectionCount()).toBe(0);
  });

  test.each([
    [401, 401, 'ERR_FHIR_TOKEN_REJECTED'],
    [403, 403, 'ERR_FHIR_ACCESS_DENIED'],
    [404, 404, 'ERR_NOT_FOUND'],
    [500, 502, 'ERR_FHIR_FAILED'],
  ])('FHIR status %i becomes %i', async (fhirStatus, status, code) => {
    const fhir = await startFakeFhir((_incoming, response) => {
      sendJson(response, fhirStatus, { resourceType: 'OperationOutcome', issue: [] });
    });
    const h = await harnessFor(fhir.base);

    const response = await post(h, requestBody(fhir.base));

    expect(response.status).toBe(status);
    expect(errorCodeOf(response)).toBe(code);
    expect(await h.store.countByStatus()).toEqual({ pending: 0, running: 0, done: 0, failed: 0 });
    expectCleanLogs(h);
  });

  test('504 when the FHIR server does not answer in time', async () => {
    const fhir = await startFakeFhir(() => undefined);
    const h = await harnessFor(fhir.base, undefined, 200);

    const response = await post(h, requestBody(fhir.base));

    expect(response.status).toBe(504);
    expect(errorCodeOf(response)).toBe('ERR_FHIR_FAILED');
  });

  test.each([
    ['a study without a DICOM UID', { ...STUDY, identifier: [] }, 400, 'urn:dicom:uid'],
    [
      'a study without a Patient subject',
      { ...STUDY, subject: { reference: 'Group/g-1' } },
      400,
      'no Patient subject',
    ],
    ['another ImagingStudy', { ...STUDY, id: 'img-43' }, 502, ''],
    ['a Patient', { resourceType: 'Patient', id: 'img-42' }, 502, ''],
  ])('refuses %s', async (_case, body, status, message) => {
    const fhir = await startFakeFhir(servingStudy(body));
    const h = await harnessFor(fhir.base);

    const response = await post(h, requestBody(fhir.base));

    expect(response.status).toBe(status);
    expect(response.text).toContain(message);
    expect((await h.store.countByStatus()).pending).toBe(0);
  });

  test('409 when the study is bound to another patient', async () => {
    const fhir = await startFakeFhir(servingStudy(STUDY));
    const h = await harnessFor(fhir.base, recordingAnalyse(true).analyse);
    await h.store.insertPending({
      studyInstanceUid: STUDY_UID,
      imagingStudyId: 'img-1',
      patientId: 'pat-other',
      modelId: 'br-ro',
      modelVersion: '1.0.0',
    });

    const response = await post(h, requestBody(fhir.base));

    expect(response.status).toBe(409);
    expect(errorCodeOf(response)).toBe('ERR_PATIENT_CONFLICT');
    expect(await h.store.getResult(REQUESTED_KEY)).toBeUndefined();
  });

  test('reads the ImagingStudy from a medplum FHIR server', async () => {
    fhirServer = await startFhirServer();
    const created = await fhirServer.repository.createResource<ImagingStudy>({
      resourceType: 'ImagingStudy',
      status: 'available',
      subject: { reference: `Patient/${PATIENT_ID}` },
      identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${STUDY_UID}` }],
    });
    const h = await harnessFor(fhirServer.baseUrl, recordingAnalyse(true).analyse);

    const response = await post(h, requestBody(fhirServer.baseUrl, { imagingStudyId: created.id }));

    expect(response.status).toBe(202);
    expect((await h.store.getResult(REQUESTED_KEY))?.job).toMatchObject({
      imagingStudyId: created.id,
      patientId: PATIENT_ID,
    });
    expect(fhirServer.requestCount()).toBe(1);
  });
});
