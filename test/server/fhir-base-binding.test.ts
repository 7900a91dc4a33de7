/**
 * Each stored analysis belongs to the FHIR server its ids came from. With two allowed FHIR servers
 * (say a test and a production EHR), the same Patient and ImagingStudy ids on the other server prove
 * nothing: reads, searches and records through the other server are refused, and the service's
 * write-back never writes the result to a server it did not come from.
 */
import request from 'supertest';
import { afterEach, describe, expect, test } from 'vitest';

import { FhirWriteBack } from '../../src/fhir/write-back.js';
import type { AnalysisJob } from '../../src/jobs/types.js';
import { PATH, PATIENT_ID, STUDY_UID, TOKEN, createStudy, errorCodeOf } from '../support/analysis-api.js';
import { createHarness, type Harness } from '../support/cds-fixtures.js';
import { startFhirServer, type FhirServerHandle } from '../support/fhir-server.js';
import { calibratedResult } from '../support/score-result.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Starts EHR A and EHR B, both allowed, and stores a done analysis linked on A. B contains an
 * ImagingStudy with the same logical id, study UID and Patient id, as a copy or a forgery would.
 */
async function start(): Promise<{ h: Harness; a: FhirServerHandle; b: FhirServerHandle; id: string }> {
  const a = await startFhirServer({ acceptsToken: (token) => token === TOKEN });
  cleanups.push(() => a.close());
  const b = await startFhirServer({ acceptsToken: (token) => token === TOKEN });
  cleanups.push(() => b.close());
  const h = await createHarness({
    configOverrides: {
      fhir: { baseUrl: a.baseUrl, allowedBaseUrls: [a.baseUrl, b.baseUrl], timeoutMs: 2_000 },
    },
  });
  cleanups.push(() => h.close());

  const imagingStudyId = await createStudy(a, STUDY_UID, PATIENT_ID, { ctSeries: true });
  await b.repository.updateResource({
    resourceType: 'ImagingStudy',
    id: imagingStudyId,
    status: 'available',
    subject: { reference: `Patient/${PATIENT_ID}` },
    identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${STUDY_UID}` }],
    series: [
      {
        uid: `${STUDY_UID}.1`,
        modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' },
      },
    ],
  });
  const job: AnalysisJob = {
    studyInstanceUid: STUDY_UID,
    imagingStudyId,
    patientId: PATIENT_ID,
    fhirServer: a.baseUrl,
    modelId: 'br-ro',
    modelVersion: '1.0.0',
  };
  await h.store.insertPending(job);
  await h.store.markDone(job, calibratedResult({ model: { id: 'br-ro', version: '1.0.0' } }));
  return { h, a, b, id: (await h.store.getResult(job))!.id };
}

function query(fhirServer: string): string {
  return new URLSearchParams({ fhirServer, patient: PATIENT_ID }).toString();
}

describe('analyses bound to their FHIR server', () => {
  test('read through server B is denied', async () => {
    const { h, a, b, id } = await start();

    const fromA = await request(h.app)
      .get(`${PATH}/${id}?${query(a.baseUrl)}`)
      .set('Authorization', `Bearer ${TOKEN}`);
    const fromB = await request(h.app)
      .get(`${PATH}/${id}?${query(b.baseUrl)}`)
      .set('Authorization', `Bearer ${TOKEN}`);

    expect(fromA.status).toBe(200);
    expect(fromB.status).toBe(403);
    expect(errorCodeOf(fromB)).toBe('ERR_ANALYSIS_ACCESS_DENIED');
    expect(b.requestCount()).toBe(0);
  });

  test('the search through server B does not list the analysis of server A', async () => {
    const { h, a, b, id } = await start();

    const fromA = await request(h.app)
      .get(`${PATH}?${query(a.baseUrl)}`)
      .set('Authorization', `Bearer ${TOKEN}`);
    const fromB = await request(h.app)
      .get(`${PATH}?${query(b.baseUrl)}`)
      .set('Authorization', `Bearer ${TOKEN}`);

    expect((fromA.body as { analyses: { id: string }[] }).analyses.map((row) => row.id)).toEqual([id]);
    expect(fromB.status).toBe(200);
    expect((fromB.body as { analyses: unknown[] }).analyses).toEqual([]);
  });

  test('a record through server B is denied and writes nothing anywhere', async () => {
    const { h, a, b, id } = await start();
    const practitioner = await b.repository.createResource({ resourceType: 'Practitioner' });

    const response = await request(h.app)
      .post(`${PATH}/${id}/record?${query(b.baseUrl)}`)
      .set('Authorization', `Bearer ${TOKEN}`)
      .send({ clinician: `Practitioner/${practitioner.id}` });

    expect(response.status).toBe(403);
    expect(b.requests().filter((r) => r.method !== 'GET')).toHaveLength(0);
    expect(a.requestCount()).toBe(0);
    expect(await h.store.countOwedWriteBacks()).toBe(1);
  });

  test('the write-back refuses a result of another FHIR server before any request', async () => {
    const { a, b } = await start();
    const writer = new FhirWriteBack({
      baseUrl: a.baseUrl,
      allowlist: [a.baseUrl, b.baseUrl],
      timeoutMs: 2_000,
    });
    const before = a.requestCount();

    const error: unknown = await writer
      .write({
        result: calibratedResult(),
        patientId: PATIENT_ID,
        imagingStudyId: 'img-1',
        studyInstanceUid: STUDY_UID,
        fhirServer: `${b.baseUrl}/`,
      })
      .catch((thrown: unknown) => thrown);

    expect(error).toMatchObject({ code: 'ERR_FHIR_REJECTED' });
    expect(a.requestCount()).toBe(before);
  });
});
