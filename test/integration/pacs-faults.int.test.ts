/**
 * The PACS down, then slow, then back, behind the mock EHR: the service reaches Orthanc through a
 * fault proxy. Each read is retried with back-off (100 ms, then 200 ms). While the PACS fails, the
 * analysis fails with `ERR_DICOMWEB_FAILED` after the last retry, and the card reports that
 * the images are unavailable (in English and Chinese). Once the PACS responds again, the next hook
 * after `jobs.retryFailedAfterMs` analyses the study, and the chart gets one Observation.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Operator } from '@medplum/core';
import type { ImagingStudy, Observation, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { CARD_MESSAGES } from '../../cds-services/nqo1-risk/messages.js';
import { DicomWebClient } from '../../src/dicomweb/client.js';
import { RESULT_ID_SYSTEM } from '../../src/fhir/codes.js';
import { createStudyAnalyserFromConfig, type ClosableAnalyseStudy } from '../../src/jobs/analyse-study.js';
import { BR_RO_CARD_PATH, loadModelCard, type ModelCard } from '../../src/model/card.js';
import type { CdsCard } from '../../src/server/cds-types.js';
import { parseConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { startFaultProxy, type FaultAction, type FaultProxy } from '../support/fault-proxy.js';
import { startFhirServer, type FhirServerHandle } from '../support/fhir-server.js';
import { captureLogs } from '../support/log-capture.js';
import { startMockEhr, type MockEhr } from '../support/mock-ehr.js';
import {
  findFreeLoopbackPort,
  orthancSkipReason,
  startOrthanc,
  type OrthancHandle,
} from '../support/orthanc.js';
import { CT_3SLICE, CT_3SLICE_FILES, LIVER_SEG_FILE, readArrayBuffer } from '../support/shared-data.js';

const skipReason = orthancSkipReason('the PACS fault tests');

const EHR_ISSUER = 'https://ehr.example/pacs-faults';
const PATIENT_VIEW = 'nqo1-risk';
/** DICOMweb request timeout of the service; a PACS that does not respond fails after this long. */
const DICOMWEB_TIMEOUT_MS = 500;
/** Wait before a hook requeues a failed analysis. */
const RETRY_FAILED_AFTER_MS = 300;
/** DICOMweb retries after a transient failure, and the wait before the first (then doubled). */
const DICOMWEB_RETRIES = 2;
const DICOMWEB_RETRY_FIRST_DELAY_MS = 100;
const RETRY_LOG_MESSAGE = 'DICOMweb request failed; retrying after the delay';
const CT_MODALITY = { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' };

describe.skipIf(skipReason !== null)('PACS down, slow, then back', () => {
  let orthanc: OrthancHandle;
  let proxy: FaultProxy;
  let fhir: FhirServerHandle;
  let ehr: MockEhr;
  let modelCard: ModelCard;
  let analyse: ClosableAnalyseStudy;
  let service: RunningServer;
  let patientId: string;
  /** What the proxy does with every PACS request; the tests switch it. */
  let pacsAction: FaultAction = 'forward';
  const logs = captureLogs();
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    modelCard = await loadModelCard(BR_RO_CARD_PATH);
    fhir = await startFhirServer();
    cleanups.push(() => fhir.close());
    const storeDir = await mkdtemp(path.join(tmpdir(), 'nqo1-pacs-faults-'));
    cleanups.push(() => rm(storeDir, { recursive: true, force: true }));

    const publicUrl = `http://127.0.0.1:${await findFreeLoopbackPort()}`;
    ehr = await startMockEhr({ iss: EHR_ISSUER, serviceUrl: publicUrl, fhirBaseUrl: fhir.baseUrl });
    cleanups.push(() => ehr.close());
    orthanc = await startOrthanc();
    cleanups.push(() => orthanc.stop());
    proxy = await startFaultProxy(new URL(orthanc.dicomWebUrl).origin, () => pacsAction);
    cleanups.push(() => proxy.close());
    const proxiedPacs = `${proxy.origin}${new URL(orthanc.dicomWebUrl).pathname}`;

    const config = parseConfig({
      server: { host: '127.0.0.1', port: Number(new URL(publicUrl).port), publicUrl },
      auth: { issuers: [{ iss: EHR_ISSUER, jwksUrl: ehr.jwksUrl, algorithms: ['ES384'] }] },
      dicomweb: {
        baseUrl: proxiedPacs,
        allowedBaseUrls: [proxiedPacs],
        timeoutMs: DICOMWEB_TIMEOUT_MS,
        retries: DICOMWEB_RETRIES,
        retryFirstDelayMs: DICOMWEB_RETRY_FIRST_DELAY_MS,
      },
      fhir: { baseUrl: fhir.baseUrl, allowedBaseUrls: [fhir.baseUrl], timeoutMs: 10_000 },
      store: { sqlitePath: path.join(storeDir, 'results.sqlite') },
      jobs: { retryFailedAfterMs: RETRY_FAILED_AFTER_MS },
    });
    analyse = createStudyAnalyserFromConfig(config, { logger: logs.logger, modelCard });
    cleanups.push(() => analyse.close());
    service = await startServer(config, {
      analyse,
      logger: logs.logger,
      modelCard,
      ...(analyse.writer === undefined ? {} : { writer: analyse.writer }),
    });
    cleanups.push(() => service.close());

    const pacs = new DicomWebClient({
      baseUrl: orthanc.dicomWebUrl,
      allowlist: [orthanc.dicomWebUrl],
      timeoutMs: 20_000,
    });
    await pacs.storeInstances([
      ...(await Promise.all(CT_3SLICE_FILES.map(readArrayBuffer))),
      await readArrayBuffer(LIVER_SEG_FILE),
    ]);
    patientId = (await fhir.repository.createResource<Patient>({ resourceType: 'Patient' })).id;
    await fhir.repository.createResource<ImagingStudy>({
      resourceType: 'ImagingStudy',
      status: 'available',
      subject: { reference: `Patient/${patientId}` },
      started: '2003-04-17T10:50:00Z',
      identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${CT_3SLICE.studyInstanceUid}` }],
      series: [{ uid: CT_3SLICE.ctSeriesInstanceUid, modality: CT_MODALITY }],
    });
    await ehr.discover();
  });

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function onlyCard(acceptLanguage?: string): Promise<CdsCard> {
    const result = await ehr.callHook(PATIENT_VIEW, {
      context: { patientId },
      ...(acceptLanguage === undefined ? {} : { acceptLanguage }),
    });
    expect(result.status).toBe(200);
    expect(result.cards).toHaveLength(1);
    return result.cards[0]!;
  }

  /** Calls the hook, which enqueues or requeues the study, and waits until the queue is idle. */
  async function hookThenDrain(): Promise<void> {
    await onlyCard();
    await service.queue.drain();
  }

  async function waitPastRetryDelay(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, RETRY_FAILED_AFTER_MS + 50));
  }

  function requestsWith(action: FaultAction): number {
    return proxy.log.filter((entry) => entry.action === action).length;
  }

  test('PACS down gives the images-unavailable card', async () => {
    pacsAction = 'status-503';
    await hookThenDrain();

    // The first QIDO-RS search and its two retries, then the analysis fails.
    expect(requestsWith('status-503')).toBe(1 + DICOMWEB_RETRIES);
    expect(proxy.forwardedCount()).toBe(0);
    const retries = logs.withMessage(RETRY_LOG_MESSAGE);
    expect(retries.map((entry) => entry.delayMs)).toEqual([
      DICOMWEB_RETRY_FIRST_DELAY_MS,
      2 * DICOMWEB_RETRY_FIRST_DELAY_MS,
    ]);
    const card = await onlyCard();
    expect(card.summary).toBe(CARD_MESSAGES.en.failureSummary['images-unavailable']);
    expect(card.indicator).toBe('warning');
    expect(card.detail).toContain('`ERR_DICOMWEB_FAILED`');
    const chinese = await onlyCard('zh-CN');
    expect(chinese.summary).toBe(CARD_MESSAGES['zh-CN'].failureSummary['images-unavailable']);
  });

  test('PACS without response times out after retries', async () => {
    pacsAction = 'no-response';
    await waitPastRetryDelay();
    const started = performance.now();
    await hookThenDrain();

    expect(requestsWith('no-response')).toBe(1 + DICOMWEB_RETRIES);
    const backOffMs = DICOMWEB_RETRY_FIRST_DELAY_MS + 2 * DICOMWEB_RETRY_FIRST_DELAY_MS;
    expect(performance.now() - started).toBeGreaterThanOrEqual(
      (1 + DICOMWEB_RETRIES) * DICOMWEB_TIMEOUT_MS + backOffMs,
    );
    expect(logs.text()).toContain(`timed out after ${DICOMWEB_TIMEOUT_MS} ms`);
    expect((await onlyCard()).summary).toBe(CARD_MESSAGES.en.failureSummary['images-unavailable']);
  });

  test('PACS back: the next hook after the delay gives the result', async () => {
    pacsAction = 'forward';
    await waitPastRetryDelay();
    await hookThenDrain();

    expect(proxy.forwardedCount()).toBeGreaterThan(0);
    const card = await onlyCard();
    expect(card.summary).toContain('features measured');
    expect(card.indicator).toBe('info');

    const observations = await fhir.repository.searchResources<Observation>({
      resourceType: 'Observation',
      filters: [
        {
          code: 'identifier',
          operator: Operator.EQUALS,
          value: `${RESULT_ID_SYSTEM}|${CT_3SLICE.studyInstanceUid}:${modelCard.id}:${modelCard.version}`,
        },
      ],
    });
    expect(observations).toHaveLength(1);
    expect(observations[0]?.subject?.reference).toBe(`Patient/${patientId}`);
  });
});
