import { Operator } from '@medplum/core';
import type { Device, Observation, Provenance } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { RESULT_ID_SYSTEM } from '../../src/fhir/codes.js';
import { FhirWriteBack } from '../../src/fhir/write-back.js';
import { isNqo1Error } from '../../src/errors.js';
import { startFhirServer, type FhirServerHandle } from '../support/fhir-server.js';
import { calibratedResult, uncalibratedResult } from '../support/score-result.js';

let fhir: FhirServerHandle;
let writer: FhirWriteBack;
let patientId: string;
let imagingStudyId: string;

beforeAll(async () => {
  fhir = await startFhirServer();
  writer = new FhirWriteBack({ baseUrl: fhir.baseUrl, allowlist: [fhir.baseUrl], timeoutMs: 5_000 });
  const patient = await fhir.repository.createResource({
    resourceType: 'Patient',
    name: [{ family: 'Test' }],
  });
  const study = await fhir.repository.createResource({
    resourceType: 'ImagingStudy',
    status: 'available',
    subject: { reference: `Patient/${patient.id}` },
  });
  patientId = patient.id;
  imagingStudyId = study.id;
});

afterAll(async () => {
  await fhir.close();
});

async function observationsWith(value: string): Promise<Observation[]> {
  return await fhir.repository.searchResources<Observation>({
    resourceType: 'Observation',
    filters: [{ code: 'identifier', operator: Operator.EQUALS, value: `${RESULT_ID_SYSTEM}|${value}` }],
  });
}

describe('FhirWriteBack against a FHIR R4 server', () => {
  test('first write creates Device, Observation and Provenance', async () => {
    const outcome = await writer.write({
      result: calibratedResult(),
      patientId,
      imagingStudyId,
      studyInstanceUid: '1.2.3.4',
    });

    expect(outcome.activity).toBe('create');
    const observation = await fhir.repository.readResource<Observation>('Observation', outcome.observationId);
    expect(observation.valueQuantity?.value).toBe(0.81);
    expect(observation.subject?.reference).toBe(`Patient/${patientId}`);
    expect(observation.device?.reference).toBe(`Device/${outcome.deviceId}`);
    const provenance = await fhir.repository.readResource<Provenance>(
      'Provenance',
      outcome.provenanceId ?? '',
    );
    expect(provenance.target[0]?.reference).toMatch(new RegExp(`^Observation/${outcome.observationId}`));
    expect(provenance.agent[0]?.who.reference).toBe(`Device/${outcome.deviceId}`);
  });

  test('rerun updates the same Observation and Device', async () => {
    const input = { result: calibratedResult(), patientId, imagingStudyId, studyInstanceUid: '5.6.7' };
    const first = await writer.write(input);
    const second = await writer.write({
      ...input,
      result: calibratedResult({ probability: 0.3, class: 'low' }),
    });

    expect(second.activity).toBe('update');
    expect(second.observationId).toBe(first.observationId);
    expect(second.deviceId).toBe(first.deviceId);
    expect(second.provenanceId).not.toBe(first.provenanceId);
    const stored = await observationsWith('5.6.7:br-ro:1.0.0-site');
    expect(stored).toHaveLength(1);
    expect(stored[0]?.valueQuantity?.value).toBe(0.3);
    expect(stored[0]?.interpretation?.[0]?.coding?.[0]?.code).toBe('L');
  });

  test('result of another patient is left unchanged', async () => {
    const input = { result: calibratedResult(), patientId, imagingStudyId, studyInstanceUid: '7.8.9' };
    await writer.write(input);
    const other = await fhir.repository.createResource({
      resourceType: 'Patient',
      name: [{ family: 'Other' }],
    });

    await expect(
      writer.write({
        ...input,
        patientId: other.id,
        result: calibratedResult({ probability: 0.2, class: 'low' }),
      }),
    ).rejects.toMatchObject({ code: 'ERR_PATIENT_CONFLICT' });
    const stored = await observationsWith('7.8.9:br-ro:1.0.0-site');
    expect(stored).toHaveLength(1);
    expect(stored[0]?.subject?.reference).toBe(`Patient/${patientId}`);
    expect(stored[0]?.valueQuantity?.value).toBe(0.81);
  });

  test('an Observation a clinician recorded as final is kept, without a Provenance', async () => {
    const input = { result: calibratedResult(), patientId, imagingStudyId, studyInstanceUid: '7.7.7' };
    const first = await writer.write(input);
    const recorded = await fhir.repository.readResource<Observation>('Observation', first.observationId);
    await fhir.repository.updateResource<Observation>({ ...recorded, status: 'final' });
    const provenancesBefore = await fhir.repository.searchResources<Provenance>({
      resourceType: 'Provenance',
    });

    const second = await writer.write({
      ...input,
      result: calibratedResult({ probability: 0.3, class: 'low' }),
    });

    expect(second).toEqual({
      observationId: first.observationId,
      activity: 'kept',
      deviceId: first.deviceId,
    });
    const stored = await observationsWith('7.7.7:br-ro:1.0.0-site');
    expect(stored).toHaveLength(1);
    expect(stored[0]?.status).toBe('final');
    expect(stored[0]?.valueQuantity?.value).toBe(0.81);
    const provenancesAfter = await fhir.repository.searchResources<Provenance>({
      resourceType: 'Provenance',
    });
    expect(provenancesAfter).toHaveLength(provenancesBefore.length);
  });

  test('other model version gets its own Observation and Device', async () => {
    const site = await writer.write({
      result: calibratedResult(),
      patientId,
      imagingStudyId,
      studyInstanceUid: '8.8',
    });
    const published = await writer.write({
      result: uncalibratedResult(),
      patientId,
      imagingStudyId,
      studyInstanceUid: '8.8',
    });

    expect(published.observationId).not.toBe(site.observationId);
    expect(published.deviceId).not.toBe(site.deviceId);
    const devices = await fhir.repository.searchResources<Device>({ resourceType: 'Device' });
    expect(devices).toHaveLength(2);
  });

  test('duplicate identifiers fail instead of guessing', async () => {
    const result = calibratedResult();
    const duplicate = {
      ...(await fhir.repository.readResource<Observation>(
        'Observation',
        (await writer.write({ result, patientId, imagingStudyId, studyInstanceUid: '9.9' })).observationId,
      )),
    };
    await fhir.repository.createResource<Observation>({
      ...duplicate,
      id: undefined as never,
      meta: undefined as never,
    });

    const error: unknown = await writer
      .write({ result, patientId, imagingStudyId, studyInstanceUid: '9.9' })
      .catch((thrown: unknown) => thrown);

    expect(isNqo1Error(error, 'ERR_FHIR_FAILED')).toBe(true);
    expect((error as Error).message).toContain('2 Observation resources');
  });

  test('unknown resource path is refused for good, naming the status', async () => {
    const broken = new FhirWriteBack({
      baseUrl: `${fhir.baseUrl}/nowhere`,
      allowlist: [fhir.baseUrl],
      timeoutMs: 5_000,
    });

    const error: unknown = await broken
      .write({ result: calibratedResult(), patientId, imagingStudyId, studyInstanceUid: '1.1' })
      .catch((thrown: unknown) => thrown);

    // A wrong base path gets the same 4xx on every retry, so the write-back stops until a restart.
    expect(isNqo1Error(error, 'ERR_FHIR_REJECTED')).toBe(true);
    expect((error as Error).message).toMatch(/HTTP 4\d\d/);
  });
});
