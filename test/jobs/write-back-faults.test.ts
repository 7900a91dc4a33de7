/**
 * Write-back under FHIR faults: the queue's owed write-back goes through a fault proxy to an
 * in-process FHIR R4 server. Whatever fails on the way, the chart ends with exactly one Observation
 * carrying the result identifier, and the store records that Observation's id.
 */
import { Operator } from '@medplum/core';
import type { Device, Observation, Provenance } from '@medplum/fhirtypes';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';

import { DEVICE_ID_SYSTEM, RESULT_ID_SYSTEM } from '../../src/fhir/codes.js';
import { resultIdentifier } from '../../src/fhir/observation.js';
import { FhirWriteBack } from '../../src/fhir/write-back.js';
import { AnalysisQueue } from '../../src/jobs/queue.js';
import { SqliteResultStore } from '../../src/jobs/result-store.js';
import type { AnalysisJob } from '../../src/jobs/types.js';
import { startFaultProxy, type FaultAction, type FaultProxy } from '../support/fault-proxy.js';
import { startFhirServer, type FhirServerHandle } from '../support/fhir-server.js';
import { captureLogs } from '../support/log-capture.js';
import { uncalibratedResult } from '../support/score-result.js';

const STUDY = '1.2.826.0.1.3680043.99.8';
const ARRIVAL: AnalysisJob = { studyInstanceUid: STUDY, modelId: 'br-ro', modelVersion: '1.0.0' };
/** FHIR request timeout of the writer; a withheld response fails after this long. */
const FHIR_TIMEOUT_MS = 300;
/** Wait before the queue retries a failed write-back. */
const RETRY_WRITE_BACK_AFTER_MS = 50;

let fhir: FhirServerHandle;
let proxy: FaultProxy | undefined;
let store: SqliteResultStore | undefined;
let queue: AnalysisQueue | undefined;
let hookJob: AnalysisJob;

beforeEach(async () => {
  fhir = await startFhirServer();
  const patient = await fhir.repository.createResource({
    resourceType: 'Patient',
    name: [{ family: 'Test' }],
  });
  const study = await fhir.repository.createResource({
    resourceType: 'ImagingStudy',
    status: 'available',
    subject: { reference: `Patient/${patient.id}` },
  });
  hookJob = { ...ARRIVAL, patientId: patient.id, imagingStudyId: study.id };
});

afterEach(async () => {
  await queue?.stop();
  await store?.close();
  await proxy?.close();
  await fhir.close();
  queue = undefined;
  store = undefined;
  proxy = undefined;
});

/**
 * Stores a finished result, starts the queue with a writer that reaches FHIR through a proxy
 * applying `firstObservationCreate` to the first Observation create and forwarding everything
 * else, and binds the hook's FHIR ids so that the write-back is owed.
 */
async function writeBackThrough(firstObservationCreate: FaultAction): Promise<SqliteResultStore> {
  let observationCreates = 0;
  proxy = await startFaultProxy(new URL(fhir.baseUrl).origin, ({ method, path }) => {
    if (method !== 'POST' || !path.endsWith('/Observation')) return 'forward';
    observationCreates++;
    return observationCreates === 1 ? firstObservationCreate : 'forward';
  });
  const proxiedBase = `${proxy.origin}${new URL(fhir.baseUrl).pathname}`;
  const writer = new FhirWriteBack({
    baseUrl: proxiedBase,
    allowlist: [proxiedBase],
    timeoutMs: FHIR_TIMEOUT_MS,
  });

  store = new SqliteResultStore(':memory:');
  queue = new AnalysisQueue({
    store,
    analyse: () => Promise.resolve({ result: uncalibratedResult() }),
    writer,
    logger: captureLogs().logger,
    retryWriteBackAfterMs: RETRY_WRITE_BACK_AFTER_MS,
  });
  await queue.start();
  await queue.enqueue(ARRIVAL);
  await queue.drain();
  await store.bindFhirIds(hookJob);
  return store;
}

async function observationsWithResultId(): Promise<Observation[]> {
  const { value } = resultIdentifier(STUDY, uncalibratedResult().model);
  return await fhir.repository.searchResources<Observation>({
    resourceType: 'Observation',
    filters: [{ code: 'identifier', operator: Operator.EQUALS, value: `${RESULT_ID_SYSTEM}|${value}` }],
  });
}

async function devicesOfModel(): Promise<Device[]> {
  const devices = await fhir.repository.searchResources<Device>({ resourceType: 'Device' });
  return devices.filter((device) => device.identifier?.some((id) => id.system === DEVICE_ID_SYSTEM));
}

/** Waits until the store records an Observation id for the result, allowing 5 s on a loaded machine. */
async function recordedObservationId(resultStore: SqliteResultStore): Promise<string> {
  let observationId: string | undefined;
  await vi.waitFor(
    async () => {
      const stored = await resultStore.getResult(ARRIVAL);
      observationId = stored?.status === 'done' ? stored.observationId : undefined;
      expect(observationId).toBeDefined();
    },
    { timeout: 5_000, interval: 20 },
  );
  return observationId ?? '';
}

describe('write-back under FHIR faults', () => {
  test('HTTP 503 on create is retried', async () => {
    const resultStore = await writeBackThrough('status-503');

    const observationId = await recordedObservationId(resultStore);

    const observations = await observationsWithResultId();
    expect(observations).toHaveLength(1);
    expect(observations[0]?.id).toBe(observationId);
    expect(observations[0]?.subject?.reference).toBe(`Patient/${hookJob.patientId}`);
    expect(await devicesOfModel()).toHaveLength(1);
    expect(proxy?.log.filter((entry) => entry.action === 'status-503')).toHaveLength(1);
  });

  test('create without response times out and is retried', async () => {
    const resultStore = await writeBackThrough('no-response');

    const observationId = await recordedObservationId(resultStore);

    const observations = await observationsWithResultId();
    expect(observations).toHaveLength(1);
    expect(observations[0]?.id).toBe(observationId);
    expect(proxy?.log.filter((entry) => entry.action === 'no-response')).toHaveLength(1);
  });

  test('create applied but its response lost leaves one Observation', async () => {
    const resultStore = await writeBackThrough('forward-then-no-response');

    const observationId = await recordedObservationId(resultStore);

    // The first create reached the server, so the retry finds that Observation by its identifier
    // and updates it instead of creating a second one.
    const observations = await observationsWithResultId();
    expect(observations).toHaveLength(1);
    expect(observations[0]?.id).toBe(observationId);
    const observationCreates = proxy?.log.filter(
      (entry) => entry.method === 'POST' && entry.path.endsWith('/Observation'),
    );
    expect(observationCreates).toHaveLength(1);
    const observationUpdates = proxy?.log.filter(
      (entry) => entry.method === 'PUT' && entry.path.endsWith(`/Observation/${observationId}`),
    );
    expect(observationUpdates).toHaveLength(1);
    expect(await devicesOfModel()).toHaveLength(1);

    // Only the completed write created a Provenance: the lost one failed before that step.
    const provenances = await fhir.repository.searchResources<Provenance>({ resourceType: 'Provenance' });
    expect(provenances).toHaveLength(1);
    expect(provenances[0]?.target[0]?.reference).toMatch(new RegExp(`^Observation/${observationId}`));
  });
});
