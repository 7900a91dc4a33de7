/**
 * The analysis jobs behind the CDS Hooks service, driven by the mock EHR (`test/support/mock-ehr.ts`)
 * against Orthanc, the medplum FHIR server and the real service:
 *
 * - two hooks and a PACS notification for one study leave one stored analysis, and one Observation;
 * - a service stopped while that analysis is pending, and started again on the same SQLite file,
 *   finishes it and shows its card;
 * - the result names both CT series of the study, read from their real headers, and the card states
 *   which series was analysed and why, in English and Chinese;
 * - the SMART app's `POST /api/analyses` analyses the other series with the app's access token,
 *   once however often it is sent, without changing what the hook shows. A token that the FHIR
 *   server rejects gets 403;
 * - the app reads the hook's analysis by the card's `appContext`, and its own by the returned id;
 * - the same Study Instance UID in another patient's record gets the conflict card;
 * - the QIDO-RS poller queues a study that arrived without a notification, once.
 *
 * Tests run in order on one Orthanc and one FHIR server. The first service holds its analyses at a
 * gate, so the study stays pending until the restart. Orthanc runs no Lua script here, so the PACS
 * notification is posted by the test, and the poller is the only one to see the last study.
 *
 * Data: the study of the dcmqi `ct-3slice` CT and its liver SEG, with a second CT series made of
 * copies of the same slices (series number 3, "Portal venous", SliceThickness 7 mm), and a copy of
 * pydicom's `CT_small.dcm` dated today in a study of its own.
 *
 * Needs the `Orthanc` binary with the DICOMweb plugin. Without it the suite is skipped with a
 * warning, except under `CI=true`, where it fails.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { ImagingStudy, Observation, Patient } from '@medplum/fhirtypes';
import dcmjs from 'dcmjs';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';

import { CARD_MESSAGES } from '../../cds-services/nqo1-risk/messages.js';
import { DicomWebClient } from '../../src/dicomweb/client.js';
import { createStudyAnalyserFromConfig, type ClosableAnalyseStudy } from '../../src/jobs/analyse-study.js';
import { SqliteResultStore } from '../../src/jobs/result-store.js';
import { dicomDate } from '../../src/jobs/study-poller.js';
import type { AnalyseStudy, ResultKey, StoredAnalysis } from '../../src/jobs/types.js';
import { BR_RO_CARD_PATH, loadModelCard, type ModelCard } from '../../src/model/card.js';
import type { ScoreResult } from '../../src/model/result.js';
import type { CdsCard } from '../../src/server/cds-types.js';
import { parseConfig, type AppConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { remappedCopy } from '../imaging/build-dicom.js';
import { ctInstanceMetadata } from '../jobs/roi-pacs.js';
import { startFhirServer, type FhirServerHandle } from '../support/fhir-server.js';
import { captureLogs } from '../support/log-capture.js';
import { startMockEhr, type HookCallOptions, type MockEhr } from '../support/mock-ehr.js';
import {
  findFreeLoopbackPort,
  orthancSkipReason,
  startOrthanc,
  type OrthancHandle,
} from '../support/orthanc.js';
import {
  CT_3SLICE,
  CT_3SLICE_FILES,
  CT_SMALL_FILE,
  LIVER_SEG_FILE,
  readArrayBuffer,
} from '../support/shared-data.js';

const skipReason = orthancSkipReason('the mock EHR analysis tests');

const EHR_ISSUER = 'https://ehr.example/mock-ehr-analyses';
const PATIENT_VIEW = 'nqo1-risk';
const PACS_SECRET_ENV = 'NQO1_TEST_ANALYSES_PACS_TOKEN';
const PACS_SECRET = 'mock-ehr-analyses-pacs-secret-7d2a94';

/** The second CT series of the ct-3slice study: the same three slices, thicker and portal venous. */
const SECOND_SERIES = {
  seriesInstanceUid: '2.25.660100',
  seriesNumber: 3,
  description: 'Portal venous',
  sliceThicknessMm: 7,
  /** The copy of the liver SEG, which references the copied slices. */
  segSeriesInstanceUid: '2.25.660110',
} as const;
/** A study the PACS announces but does not store, whose job blocks the first service's queue. */
const ABSENT_STUDY_UID = '2.25.660200';
/** The copy of CT_small.dcm, in a study dated today that only the poller finds. */
const POLLED_STUDY_UID = '2.25.660300';

/** Seconds between two QIDO-RS searches of the restarted service. */
const POLL_INTERVAL_SECONDS = 1;
/** How long an analysis may take before a test gives up, in ms. */
const WAIT_TIMEOUT_MS = 30_000;
const TEST_TIMEOUT_MS = WAIT_TIMEOUT_MS + 10_000;

const CT_MODALITY = { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' };

describe.skipIf(skipReason !== null)('analysis jobs behind the mock EHR', () => {
  let orthanc: OrthancHandle;
  let fhir: FhirServerHandle;
  let ehr: MockEhr;
  let modelCard: ModelCard;
  let storeDir: string;
  let sqlitePath: string;
  let analyse: ClosableAnalyseStudy;
  /** The running service, replaced by a new one at the restart; undefined between the two. */
  let service: RunningServer | undefined;
  let publicUrl: string;
  const logs = captureLogs();
  /** Stops what beforeAll started, newest first, even when beforeAll failed halfway. */
  const cleanups: (() => Promise<void>)[] = [];
  /** Access tokens the FHIR server rejects, as it rejects an expired or revoked one. */
  const rejectedTokens = new Set<string>();

  /** Opens the gate that every analysis of the first service waits at. */
  let openGate: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    openGate = resolve;
  });

  /** Patient A owns the ct-3slice study; patient B's record lists the same Study Instance UID. */
  let patientA: string;
  let patientB: string;
  let imagingStudyA: string;
  let imagingStudyB: string;
  /** The in-progress card of patient A, from before the restart. */
  let inProgressCard: CdsCard;
  /** The result card of patient A, once the automatic analysis is done. */
  let resultCard: CdsCard;

  beforeAll(async () => {
    modelCard = await loadModelCard(BR_RO_CARD_PATH);
    fhir = await startFhirServer({
      acceptsToken: (token) => token === undefined || !rejectedTokens.has(token),
    });
    cleanups.push(() => fhir.close());
    storeDir = await mkdtemp(path.join(tmpdir(), 'nqo1-mock-ehr-analyses-'));
    cleanups.push(() => rm(storeDir, { recursive: true, force: true }));
    sqlitePath = path.join(storeDir, 'results.sqlite');

    const port = await findFreeLoopbackPort();
    publicUrl = `http://127.0.0.1:${port}`;
    ehr = await startMockEhr({ iss: EHR_ISSUER, serviceUrl: publicUrl, fhirBaseUrl: fhir.baseUrl });
    cleanups.push(() => ehr.close());
    orthanc = await startOrthanc();
    cleanups.push(() => orthanc.stop());

    vi.stubEnv(PACS_SECRET_ENV, PACS_SECRET);
    cleanups.push(() => {
      vi.unstubAllEnvs();
      return Promise.resolve();
    });
    const config = configWith(0);
    analyse = createStudyAnalyserFromConfig(config, { logger: logs.logger, modelCard });
    cleanups.push(() => analyse.close());
    const gatedAnalyse: AnalyseStudy = async (job) => {
      await gate;
      return await analyse(job);
    };
    service = await startService(config, gatedAnalyse);
    cleanups.push(async () => {
      openGate();
      await service?.close();
    });

    await storeInPacs(await ctStudyWithSecondSeries());
    await createPatients();
  });

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** Builds the service configuration, with the QIDO-RS poller every `pollIntervalSeconds` (0: off). */
  function configWith(pollIntervalSeconds: number): AppConfig {
    return parseConfig({
      server: { host: '127.0.0.1', port: Number(new URL(publicUrl).port), publicUrl },
      auth: { issuers: [{ iss: EHR_ISSUER, jwksUrl: ehr.jwksUrl, algorithms: ['ES384'] }] },
      dicomweb: { baseUrl: orthanc.dicomWebUrl, allowedBaseUrls: [orthanc.dicomWebUrl], timeoutMs: 20_000 },
      fhir: { baseUrl: fhir.baseUrl, allowedBaseUrls: [fhir.baseUrl], timeoutMs: 10_000 },
      store: { sqlitePath },
      notifications: { tokenEnv: PACS_SECRET_ENV, pollIntervalSeconds },
    });
  }

  async function startService(config: AppConfig, analyseStudy: AnalyseStudy): Promise<RunningServer> {
    return await startServer(config, {
      analyse: analyseStudy,
      logger: logs.logger,
      modelCard,
      ...(analyse.writer === undefined ? {} : { writer: analyse.writer }),
    });
  }

  /**
   * Reads the ct-3slice CT and its SEG, and copies both into the second series. The CT copies get new
   * UIDs and that series' attributes, and the SEG copy gets new UIDs and references the CT copies.
   */
  async function ctStudyWithSecondSeries(): Promise<ArrayBuffer[]> {
    const ct = await Promise.all(CT_3SLICE_FILES.map(readArrayBuffer));
    const seg = await readArrayBuffer(LIVER_SEG_FILE);
    const uids = new Map<string, string>([
      [CT_3SLICE.ctSeriesInstanceUid, SECOND_SERIES.seriesInstanceUid],
      [CT_3SLICE.segSeriesInstanceUid, SECOND_SERIES.segSeriesInstanceUid],
      [CT_3SLICE.segSopInstanceUid, `${SECOND_SERIES.segSeriesInstanceUid}.1`],
    ]);
    for (let index = 0; index < ct.length; index++) {
      const sop = String(ctInstanceMetadata(ct[index]!)['00080018']?.Value?.[0]);
      uids.set(sop, `${SECOND_SERIES.seriesInstanceUid}.${index + 1}`);
    }

    const copies = ct.map((file) =>
      remappedCopy(file, uids, {
        '00200011': { vr: 'IS', Value: [SECOND_SERIES.seriesNumber] },
        '0008103E': { vr: 'LO', Value: [SECOND_SERIES.description] },
        '00180050': { vr: 'DS', Value: [SECOND_SERIES.sliceThicknessMm] },
      }),
    );
    return [...ct, seg, ...copies, remappedCopy(seg, uids)];
  }

  async function storeInPacs(files: readonly ArrayBuffer[]): Promise<void> {
    const pacs = new DicomWebClient({
      baseUrl: orthanc.dicomWebUrl,
      allowlist: [orthanc.dicomWebUrl],
      timeoutMs: 20_000,
    });
    await pacs.storeInstances(files);
  }

  async function createPatients(): Promise<void> {
    patientA = (await fhir.repository.createResource<Patient>({ resourceType: 'Patient' })).id;
    imagingStudyA = await createImagingStudy(patientA, CT_3SLICE.studyInstanceUid);
    patientB = (await fhir.repository.createResource<Patient>({ resourceType: 'Patient' })).id;
    imagingStudyB = await createImagingStudy(patientB, CT_3SLICE.studyInstanceUid);
  }

  /** Creates an ImagingStudy of the patient and returns its id. */
  async function createImagingStudy(patientId: string, studyInstanceUid: string): Promise<string> {
    const study = await fhir.repository.createResource<ImagingStudy>({
      resourceType: 'ImagingStudy',
      status: 'available',
      subject: { reference: `Patient/${patientId}` },
      started: '2003-04-17T10:50:00Z',
      identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${studyInstanceUid}` }],
      series: [{ uid: CT_3SLICE.ctSeriesInstanceUid, modality: CT_MODALITY }],
    });
    return study.id;
  }

  /** Calls the patient-view hook and returns its only card. */
  async function onlyCard(patientId: string, options: Partial<HookCallOptions> = {}): Promise<CdsCard> {
    const result = await ehr.callHook(PATIENT_VIEW, { ...options, context: { patientId } });
    expect(result.status).toBe(200);
    expect(result.cards).toHaveLength(1);
    return result.cards[0]!;
  }

  /** Calls the hook every 250 ms until its card has another uuid than `first`, as a chart refresh. */
  async function waitForNextCard(first: CdsCard, patientId: string): Promise<CdsCard> {
    const deadline = Date.now() + WAIT_TIMEOUT_MS;
    let card = first;
    while (card.uuid === first.uuid && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      card = await onlyCard(patientId);
    }
    return card;
  }

  /** Announces a study as the PACS does and returns the response body. */
  async function notifyStudy(studyInstanceUid: string): Promise<unknown> {
    const response = await fetch(`${publicUrl}/pacs/studies`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${PACS_SECRET}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ studyInstanceUid }),
    });
    expect(response.status).toBe(202);
    return (await response.json()) as unknown;
  }

  /** Sends `POST /api/analyses` as the SMART app does, with the app's FHIR access token. */
  async function requestAnalysis(
    accessToken: string,
    imagingStudyId: string,
    seriesInstanceUid: string,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${publicUrl}/api/analyses`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${accessToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ fhirServer: fhir.baseUrl, imagingStudyId, seriesInstanceUid }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  /** Sends `GET /api/analyses/{id}` as the SMART app does, with the app's FHIR access token. */
  async function readAnalysis(
    accessToken: string,
    id: string,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const query = new URLSearchParams({ fhirServer: fhir.baseUrl });
    const response = await fetch(`${publicUrl}/api/analyses/${encodeURIComponent(id)}?${query.toString()}`, {
      headers: { Authorization: `Bearer ${accessToken}` },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  /** Reads the stored analyses of a study through a second connection to the service's SQLite file. */
  async function storedAnalyses(studyInstanceUid: string): Promise<{
    rowCount: number;
    get: (key?: Partial<ResultKey>) => StoredAnalysis | undefined;
  }> {
    const store = new SqliteResultStore(sqlitePath);
    try {
      const model = { studyInstanceUid, modelId: modelCard.id, modelVersion: modelCard.version };
      const rowCount = (await store.keysAfter(0)).filter(
        (key) => key.studyInstanceUid === studyInstanceUid,
      ).length;
      const rows = new Map([
        ['', await store.getResult(model)],
        [
          SECOND_SERIES.seriesInstanceUid,
          await store.getResult({ ...model, seriesInstanceUid: SECOND_SERIES.seriesInstanceUid }),
        ],
      ]);
      return { rowCount, get: (key = {}) => rows.get(key.seriesInstanceUid ?? '') };
    } finally {
      await store.close();
    }
  }

  function enqueuedLines(studyInstanceUid: string): Record<string, unknown>[] {
    return logs
      .withMessage('analysis enqueued')
      .filter((entry) => entry.studyInstanceUid === studyInstanceUid);
  }

  function issueCode(body: unknown): string | undefined {
    const outcome = body as { issue?: { details?: { coding?: { code?: string }[] } }[] };
    return outcome.issue?.[0]?.details?.coding?.[0]?.code;
  }

  test('two hooks and a PACS notification store one job', async () => {
    // The absent study is claimed first and blocks the queue at the gate, so the next job stays pending.
    expect(await notifyStudy(ABSENT_STUDY_UID)).toEqual({
      studyInstanceUid: ABSENT_STUDY_UID,
      outcome: 'enqueued',
    });
    expect(await notifyStudy(CT_3SLICE.studyInstanceUid)).toEqual({
      studyInstanceUid: CT_3SLICE.studyInstanceUid,
      outcome: 'enqueued',
    });
    inProgressCard = await onlyCard(patientA);
    const second = await onlyCard(patientA);

    expect(inProgressCard.summary).toBe(CARD_MESSAGES.en.inProgressSummary);
    expect(second).toEqual(inProgressCard);
    const stored = await storedAnalyses(CT_3SLICE.studyInstanceUid);
    expect(stored.rowCount).toBe(1);
    expect(stored.get()?.status).toBe('pending');
    // The first hook bound the FHIR ids to the job that the notification stored without them.
    expect(stored.get()?.job.patientId).toBe(patientA);
    expect(stored.get()?.job.imagingStudyId).toBe(imagingStudyA);
    expect(enqueuedLines(CT_3SLICE.studyInstanceUid)).toHaveLength(1);
  });

  test(
    'restart finishes the pending job',
    async () => {
      // Stopping the queue first keeps the pending job from starting once the gate opens.
      const running = service!;
      const queueStopped = running.queue.stop();
      openGate();
      await queueStopped;
      await running.close();
      service = undefined;

      expect((await storedAnalyses(ABSENT_STUDY_UID)).get()?.status).toBe('failed');
      expect((await storedAnalyses(CT_3SLICE.studyInstanceUid)).get()?.status).toBe('pending');

      service = await startService(configWith(POLL_INTERVAL_SECONDS), analyse);
      resultCard = await waitForNextCard(inProgressCard, patientA);

      expect(resultCard.summary).toBe(CARD_MESSAGES.en.featuresOnlySummary.uncalibrated);
      expect(resultCard.links?.[0]?.appContext).toBe(
        (await storedAnalyses(CT_3SLICE.studyInstanceUid)).get()?.id,
      );
      const done = logs
        .withMessage('analysis done')
        .filter((entry) => entry.studyInstanceUid === CT_3SLICE.studyInstanceUid);
      expect(done).toHaveLength(1);
    },
    TEST_TIMEOUT_MS,
  );

  test('result names both CT series from their headers', async () => {
    const stored = (await storedAnalyses(CT_3SLICE.studyInstanceUid)).get();
    const result = stored?.status === 'done' ? stored.result : undefined;

    expect(result?.provenance.seriesInstanceUid).toBe(CT_3SLICE.ctSeriesInstanceUid);
    expect(result?.provenance.seriesSelection?.reason).toBe('most-instances');
    expect(result?.provenance.seriesSelection?.segmentationReason).toBe('references-ct-series');
    expect(result?.provenance.seriesSelection?.candidates).toEqual([
      {
        seriesInstanceUid: CT_3SLICE.ctSeriesInstanceUid,
        seriesNumber: 2,
        seriesDescription: '',
        instanceCount: 3,
        sliceThicknessMm: 1.25,
        convolutionKernel: 'STANDARD',
        contrastAgentRecorded: false,
        acquisitionDelaySeconds: null,
        outcome: 'chosen',
        rule: 'most-instances',
      },
      {
        seriesInstanceUid: SECOND_SERIES.seriesInstanceUid,
        seriesNumber: 3,
        seriesDescription: 'Portal venous',
        instanceCount: 3,
        sliceThicknessMm: 7,
        convolutionKernel: 'STANDARD',
        contrastAgentRecorded: false,
        acquisitionDelaySeconds: null,
        outcome: 'excluded',
        rule: 'slice-thickness',
      },
    ]);
  });

  test('card states series and reason', async () => {
    const chinese = await onlyCard(patientA, { acceptLanguage: 'zh-CN' });

    expect(resultCard.detail).toContain(
      'CT series analysed: 2, 3 images, one of 2 CT series in the study. ' +
        'Reason: no series is marked as arterial phase, and it has the most images. ' +
        'Excluded by the series rules: 1 (slice thickness).',
    );
    expect(chinese.uuid).toBe(resultCard.uuid);
    expect(chinese.detail).toContain(
      '分析的 CT 序列：2，3 幅图像，为本检查 2 个 CT 序列之一。' +
        '原因：没有序列标明为动脉期，且该序列图像最多。按序列规则排除 1 个（层厚）。',
    );
  });

  test(
    'app request analyses the second series',
    async () => {
      const accessToken = ehr.grantAccessToken();
      const first = await requestAnalysis(accessToken, imagingStudyA, SECOND_SERIES.seriesInstanceUid);
      expect(first.status).toBe(202);

      let done = first;
      const deadline = Date.now() + WAIT_TIMEOUT_MS;
      while (done.status === 202 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        done = await requestAnalysis(accessToken, imagingStudyA, SECOND_SERIES.seriesInstanceUid);
        if (done.status === 202) expect(done.body.id).toBe(first.body.id);
      }
      const result = done.body.result as ScoreResult | undefined;

      expect(done.status).toBe(200);
      expect(done.body).toMatchObject({
        id: first.body.id,
        status: 'done',
        studyInstanceUid: CT_3SLICE.studyInstanceUid,
        imagingStudyId: imagingStudyA,
        seriesInstanceUid: SECOND_SERIES.seriesInstanceUid,
      });
      expect(done.body).not.toHaveProperty('patientId');
      expect(result?.provenance.seriesInstanceUid).toBe(SECOND_SERIES.seriesInstanceUid);
      expect(result?.provenance.seriesSelection?.reason).toBe('requested');
      expect(result?.provenance.segmentationInstanceUid).toBe(`${SECOND_SERIES.segSeriesInstanceUid}.1`);
      expect(result?.provenance.seriesSelection?.segmentationReason).toBe('references-ct-series');
      expect(result?.provenance.seriesSelection?.candidates?.map((candidate) => candidate.rule)).toEqual([
        'requested',
      ]);
      expect(result?.provenance.seriesSelection?.ctSeriesCount).toBe(2);

      const again = await requestAnalysis(accessToken, imagingStudyA, SECOND_SERIES.seriesInstanceUid);
      expect(again).toEqual(done);
      expect(await onlyCard(patientA)).toEqual(resultCard);
    },
    TEST_TIMEOUT_MS,
  );

  test('app reads analyses by id', async () => {
    const accessToken = ehr.grantAccessToken();
    const appContext = resultCard.links?.[0]?.appContext ?? '';
    const automatic = (await storedAnalyses(CT_3SLICE.studyInstanceUid)).get();
    const requested = (await storedAnalyses(CT_3SLICE.studyInstanceUid)).get({
      seriesInstanceUid: SECOND_SERIES.seriesInstanceUid,
    });
    const before = fhir.requests().length;

    const fromCard = await readAnalysis(accessToken, appContext);
    const fromRequest = await readAnalysis(accessToken, requested?.id ?? '');

    expect(fromCard.status).toBe(200);
    expect(fromCard.body).toMatchObject({
      id: automatic?.id,
      status: 'done',
      studyInstanceUid: CT_3SLICE.studyInstanceUid,
      imagingStudyId: imagingStudyA,
      updatedAt: automatic?.updatedAt,
    });
    expect(fromCard.body.result).toEqual(automatic?.status === 'done' ? automatic.result : undefined);
    expect(fromCard.body).not.toHaveProperty('patientId');
    expect(fromRequest.status).toBe(200);
    expect(fromRequest.body).toMatchObject({
      id: requested?.id,
      status: 'done',
      seriesInstanceUid: SECOND_SERIES.seriesInstanceUid,
    });
    const reads = fhir.requests().slice(before);
    expect(reads.map((read) => [read.method, read.url, read.authorization])).toEqual([
      ['GET', `ImagingStudy/${imagingStudyA}`, `Bearer ${accessToken}`],
      ['GET', `ImagingStudy/${imagingStudyA}`, `Bearer ${accessToken}`],
    ]);
  });

  test('app reads the region pictures of the analysed CT', async () => {
    const accessToken = ehr.grantAccessToken();
    const automatic = (await storedAnalyses(CT_3SLICE.studyInstanceUid)).get();
    const query = new URLSearchParams({ fhirServer: fhir.baseUrl }).toString();
    const base = `${publicUrl}/api/analyses/${automatic?.id ?? ''}/overlay`;
    const headers = { Authorization: `Bearer ${accessToken}` };

    const list = await fetch(`${base}?${query}`, { headers });
    const { slices } = (await list.json()) as { slices: { sliceIndex: number; tumourVoxelCount: number }[] };
    const png = await fetch(`${base}/${slices[0]?.sliceIndex ?? 0}?${query}`, { headers });

    expect(list.status).toBe(200);
    // The 3 slices of ct-3slice; together the pictures hold every tumour voxel the features used.
    expect(slices.map((slice) => slice.sliceIndex)).toEqual([0, 1, 2]);
    const tumourVoxels = slices.reduce((sum, slice) => sum + slice.tumourVoxelCount, 0);
    expect(tumourVoxels).toBe(
      automatic?.status === 'done' ? automatic.result.provenance.tumourVoxelCount : -1,
    );
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect([...new Uint8Array(await png.arrayBuffer()).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
  });

  test('rejected access token gets 401', async () => {
    const accessToken = ehr.grantAccessToken();
    rejectedTokens.add(accessToken);
    const before = fhir.requests().length;

    const rejected = await requestAnalysis(accessToken, imagingStudyA, SECOND_SERIES.seriesInstanceUid);

    expect(rejected.status).toBe(401);
    expect(issueCode(rejected.body)).toBe('ERR_FHIR_TOKEN_REJECTED');
    expect(rejected.body).not.toHaveProperty('result');
    const reads = fhir.requests().slice(before);
    expect(reads.map((read) => [read.method, read.url, read.authorization])).toEqual([
      ['GET', `ImagingStudy/${imagingStudyA}`, `Bearer ${accessToken}`],
    ]);
  });

  test('one row per job key and one Observation', async () => {
    expect(await notifyStudy(CT_3SLICE.studyInstanceUid)).toEqual({
      studyInstanceUid: CT_3SLICE.studyInstanceUid,
      outcome: 'exists',
    });
    const stored = await storedAnalyses(CT_3SLICE.studyInstanceUid);
    const health = (await (await fetch(`${publicUrl}/healthz`)).json()) as { analyses: unknown };
    const observations = await fhir.repository.searchResources<Observation>({ resourceType: 'Observation' });

    expect(stored.rowCount).toBe(2);
    // The study's automatic and requested analyses, and the failed one of the study the PACS lacks.
    expect(health.analyses).toEqual({ pending: 0, running: 0, done: 2, failed: 1 });
    expect(stored.get()?.status).toBe('done');
    expect(stored.get({ seriesInstanceUid: SECOND_SERIES.seriesInstanceUid })?.status).toBe('done');
    expect(
      enqueuedLines(CT_3SLICE.studyInstanceUid).map((entry) => entry.requestedSeriesInstanceUid),
    ).toEqual([undefined, SECOND_SERIES.seriesInstanceUid]);
    // Only the automatic result is written back; a requested series is not.
    expect(observations).toHaveLength(1);
    expect(observations[0]?.subject?.reference).toBe(`Patient/${patientA}`);
    expect(observations[0]?.derivedFrom?.map((reference) => reference.reference)).toContain(
      `ImagingStudy/${imagingStudyA}`,
    );
  });

  test('same study in another patient gets the conflict card', async () => {
    const enqueuedBefore = logs.withMessage('analysis enqueued').length;

    const card = await onlyCard(patientB);
    const request = await requestAnalysis(
      ehr.grantAccessToken(),
      imagingStudyB,
      SECOND_SERIES.seriesInstanceUid,
    );

    expect(card.summary).toBe(CARD_MESSAGES.en.patientConflictSummary);
    expect(card.indicator).toBe('warning');
    expect(card.links).toBeUndefined();
    expect(request.status).toBe(409);
    expect(issueCode(request.body)).toBe('ERR_PATIENT_CONFLICT');
    expect(logs.withMessage('analysis enqueued')).toHaveLength(enqueuedBefore);
    expect((await storedAnalyses(CT_3SLICE.studyInstanceUid)).rowCount).toBe(2);
  });

  test(
    'QIDO poller queues a new study once',
    async () => {
      const small = await readArrayBuffer(CT_SMALL_FILE);
      const { dict } = dcmjs.data.DicomMessage.readFile(small.slice(0)) as {
        dict: Record<string, { Value?: unknown[] }>;
      };
      const uid = (tag: string): string => String(dict[tag]?.Value?.[0]);
      const uids = new Map([
        [uid('0020000D'), POLLED_STUDY_UID],
        [uid('0020000E'), `${POLLED_STUDY_UID}.1`],
        [uid('00080018'), `${POLLED_STUDY_UID}.1.1`],
      ]);
      await storeInPacs([
        remappedCopy(small, uids, { '00080020': { vr: 'DA', Value: [dicomDate(new Date())] } }),
      ]);

      await vi.waitFor(
        () => {
          expect(enqueuedLines(POLLED_STUDY_UID)).toHaveLength(1);
        },
        { timeout: WAIT_TIMEOUT_MS, interval: 100 },
      );
      // Later searches still find the study; none queues it again.
      await new Promise((resolve) => setTimeout(resolve, 2500 * POLL_INTERVAL_SECONDS));

      expect(enqueuedLines(POLLED_STUDY_UID)).toHaveLength(1);
      expect((await storedAnalyses(POLLED_STUDY_UID)).rowCount).toBe(1);
      expect(
        logs
          .withMessage('PACS notification received')
          .filter((entry) => entry.studyInstanceUid === POLLED_STUDY_UID),
      ).toEqual([]);
      expect(logs.withMessage('PACS searched').map((entry) => entry.enqueuedCount)).toEqual([1]);
    },
    TEST_TIMEOUT_MS,
  );

  test('log has no access token or JWT', () => {
    const log = logs.text();
    const secrets = ehr.issuedSecrets();

    expect(secrets.length).toBeGreaterThanOrEqual(10);
    for (const secret of [...secrets, PACS_SECRET]) expect(log).not.toContain(secret);
    expect(log).not.toContain(patientA);
    expect(log).not.toContain(patientB);
  });
});
