/**
 * The CDS Hooks service as an EHR meets it: a mock EHR (`test/support/mock-ehr.ts`) signs its JWTs
 * with jose, serves its JWKS on loopback and resolves the prefetch templates of the discovery
 * document against a medplum FHIR server. Orthanc with DICOMweb is the PACS, and it announces
 * every stable study to the service with the shipped `OnStableStudy` Lua script.
 *
 * One Orthanc, one FHIR server and one service serve all tests, which run in order. Analyses wait
 * at a gate until the in-progress cards have been checked, so those checks do not race the queue.
 * The last test searches the whole log of the run for tokens, JWTs, names, MRN and birth dates.
 *
 * Data: the dcmqi `ct-3slice` CT with its liver SEG (patient A), the dcmqi `24x38x3` CT without a
 * SEG (patient B), and pydicom's `CT_small.dcm`, stored during the PACS notification test.
 *
 * Needs the `Orthanc` binary with the DICOMweb plugin. Without it the suite is skipped with a
 * warning, except under `CI=true`, where it fails.
 */
import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { Encounter, ImagingStudy, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';

import { OVERRIDE_REASON_SYSTEM } from '../../cds-services/nqo1-risk/cards.js';
import { CARD_MESSAGES } from '../../cds-services/nqo1-risk/messages.js';
import { DicomWebClient } from '../../src/dicomweb/client.js';
import { createStudyAnalyserFromConfig, type ClosableAnalyseStudy } from '../../src/jobs/analyse-study.js';
import { SqliteResultStore } from '../../src/jobs/result-store.js';
import type { AnalyseStudy } from '../../src/jobs/types.js';
import { BR_RO_CARD_PATH, loadModelCard, type ModelCard } from '../../src/model/card.js';
import { packagePath } from '../../src/paths.js';
import type { CdsCard } from '../../src/server/cds-types.js';
import { parseConfig, type AppConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { dicomPatientIdentifiers, escapeRegExp } from '../support/dicom-identifiers.js';
import { startFhirServer, type FhirServerHandle } from '../support/fhir-server.js';
import { captureLogs } from '../support/log-capture.js';
import { startLoopbackListener } from '../support/loopback-listener.js';
import {
  startMockEhr,
  type FeedbackEntry,
  type HookCallOptions,
  type HookCallResult,
  type MockEhr,
} from '../support/mock-ehr.js';
import {
  findFreeLoopbackPort,
  orthancSkipReason,
  startOrthanc,
  type OrthancHandle,
} from '../support/orthanc.js';
import {
  CT_24X38X3,
  CT_24X38X3_FILES,
  CT_3SLICE,
  CT_3SLICE_FILES,
  CT_SMALL,
  CT_SMALL_FILE,
  LIVER_SEG_FILE,
  readArrayBuffer,
} from '../support/shared-data.js';

const skipReason = orthancSkipReason('the mock EHR tests');

const EHR_ISSUER = 'https://ehr.example/mock-ehr';
const PATIENT_VIEW = 'nqo1-risk';
const ENCOUNTER_START = 'nqo1-risk-encounter';
/** Browser origin of a CDS Hooks sandbox that the site allows. No request goes to it. */
const ALLOWED_ORIGIN = 'https://cds-sandbox.hospital.example';
const OTHER_ORIGIN = 'https://elsewhere.example';
/** Viewer link template of an OHIF viewer. The test only reads the link, and nothing connects to it. */
const VIEWER_URL_TEMPLATE = 'http://127.0.0.1:3000/viewer?StudyInstanceUIDs={{studyInstanceUid}}';
const PACS_SECRET_ENV = 'NQO1_TEST_MOCK_EHR_PACS_TOKEN';
const PACS_SECRET = 'mock-ehr-pacs-secret-51c7e0';

/** How long an analysis or a PACS notification may take before a test gives up, in ms. */
const WAIT_TIMEOUT_MS = 60_000;
const TEST_TIMEOUT_MS = WAIT_TIMEOUT_MS + 20_000;

/** Identifiers of patient A, which reach the service in the prefetch and must never be logged. */
const PATIENT_FAMILY_NAME = 'Harnessova';
const PATIENT_GIVEN_NAME = 'Lihua';
const PATIENT_MRN = 'MRN-EHR-5821';
const PATIENT_BIRTH_DATE = '1962-11-05';
/** A feedback comment naming the patient, which the service stores and must never log. */
const FEEDBACK_COMMENT = `Known from the biopsy of ${PATIENT_FAMILY_NAME} ${PATIENT_GIVEN_NAME}`;

const CT_MODALITY = { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' };

describe.skipIf(skipReason !== null)('mock EHR against the service, Orthanc and FHIR', () => {
  let orthanc: OrthancHandle;
  let fhir: FhirServerHandle;
  let ehr: MockEhr;
  let service: RunningServer;
  let analyse: ClosableAnalyseStudy;
  let config: AppConfig;
  let modelCard: ModelCard;
  let storeDir: string;
  const logs = captureLogs();
  /** Stops what beforeAll started, newest first, even when beforeAll failed halfway. */
  const cleanups: (() => Promise<void>)[] = [];

  /** Opens the gate that every analysis waits at. */
  let releaseAnalyses: () => void = () => undefined;
  const analysesReleased = new Promise<void>((resolve) => {
    releaseAnalyses = resolve;
  });

  /** FHIR ids of the patients: A has the segmented CT, B a CT without SEG, C only an MR study. */
  let patientA: string;
  let encounterA: string;
  let patientB: string;
  let patientC: string;
  /** The result card of patient A's study, once its analysis is done. */
  let resultCard: CdsCard;
  /** FHIR request indexes during each hook call that granted an access token. */
  const accessTokenWindows: { token: string; from: number; to: number }[] = [];

  beforeAll(async () => {
    modelCard = await loadModelCard(BR_RO_CARD_PATH);
    fhir = await startFhirServer();
    cleanups.push(() => fhir.close());
    storeDir = await mkdtemp(path.join(tmpdir(), 'nqo1-mock-ehr-'));
    cleanups.push(() => rm(storeDir, { recursive: true, force: true }));

    const port = await findFreeLoopbackPort();
    const publicUrl = `http://127.0.0.1:${port}`;
    ehr = await startMockEhr({ iss: EHR_ISSUER, serviceUrl: publicUrl, fhirBaseUrl: fhir.baseUrl });
    cleanups.push(() => ehr.close());

    orthanc = await startOrthanc({
      extraConfig: {
        LuaScripts: [packagePath('config', 'orthanc', 'on-stable-study.lua')],
        StableAge: 1,
        Nqo1Notifications: { Url: `${publicUrl}/pacs/studies`, Token: `\${${PACS_SECRET_ENV}}` },
      },
      env: { [PACS_SECRET_ENV]: PACS_SECRET },
    });
    cleanups.push(() => orthanc.stop());

    vi.stubEnv(PACS_SECRET_ENV, PACS_SECRET);
    cleanups.push(() => {
      vi.unstubAllEnvs();
      return Promise.resolve();
    });
    config = parseConfig({
      server: { host: '127.0.0.1', port, publicUrl, corsOrigins: [ALLOWED_ORIGIN] },
      auth: { issuers: [{ iss: EHR_ISSUER, jwksUrl: ehr.jwksUrl, algorithms: ['ES384', 'RS384'] }] },
      dicomweb: { baseUrl: orthanc.dicomWebUrl, allowedBaseUrls: [orthanc.dicomWebUrl], timeoutMs: 20_000 },
      fhir: { baseUrl: fhir.baseUrl, allowedBaseUrls: [fhir.baseUrl], timeoutMs: 10_000 },
      store: { sqlitePath: path.join(storeDir, 'results.sqlite') },
      notifications: { tokenEnv: PACS_SECRET_ENV },
      viewerUrlTemplate: VIEWER_URL_TEMPLATE,
    });
    analyse = createStudyAnalyserFromConfig(config, { logger: logs.logger, modelCard });
    cleanups.push(() => analyse.close());
    const gatedAnalyse: AnalyseStudy = async (job) => {
      await analysesReleased;
      return await analyse(job);
    };
    service = await startServer(config, {
      analyse: gatedAnalyse,
      logger: logs.logger,
      modelCard,
      ...(analyse.writer === undefined ? {} : { writer: analyse.writer }),
    });
    cleanups.push(async () => {
      releaseAnalyses();
      await service.close();
    });

    await storeInPacs([...CT_3SLICE_FILES, LIVER_SEG_FILE, ...CT_24X38X3_FILES]);
    await createPatients();
  });

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function storeInPacs(files: readonly string[]): Promise<void> {
    const pacs = new DicomWebClient({
      baseUrl: orthanc.dicomWebUrl,
      allowlist: [orthanc.dicomWebUrl],
      timeoutMs: 20_000,
    });
    await pacs.storeInstances(await Promise.all(files.map(readArrayBuffer)));
  }

  async function createPatients(): Promise<void> {
    const a = await fhir.repository.createResource<Patient>({
      resourceType: 'Patient',
      identifier: [
        {
          type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
          system: 'urn:oid:1.2.156.112604.1.2.1',
          value: PATIENT_MRN,
        },
      ],
      name: [{ family: PATIENT_FAMILY_NAME, given: [PATIENT_GIVEN_NAME] }],
      birthDate: PATIENT_BIRTH_DATE,
    });
    patientA = a.id;
    await createImagingStudy(patientA, CT_3SLICE.studyInstanceUid, '2009-06-22T21:43:10Z');
    const encounter = await fhir.repository.createResource<Encounter>({
      resourceType: 'Encounter',
      status: 'in-progress',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject: { reference: `Patient/${patientA}` },
    });
    encounterA = encounter.id;

    patientB = (await fhir.repository.createResource<Patient>({ resourceType: 'Patient' })).id;
    await createImagingStudy(patientB, CT_24X38X3.studyInstanceUid, '2010-01-04T10:00:00Z');

    patientC = (await fhir.repository.createResource<Patient>({ resourceType: 'Patient' })).id;
    await createImagingStudy(patientC, '2.25.4242424242', '2011-05-06T07:00:00Z', 'MR');
  }

  async function createImagingStudy(
    patientId: string,
    studyInstanceUid: string,
    started: string,
    modality = 'CT',
  ): Promise<ImagingStudy> {
    return await fhir.repository.createResource<ImagingStudy>({
      resourceType: 'ImagingStudy',
      status: 'available',
      subject: { reference: `Patient/${patientId}` },
      started,
      identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${studyInstanceUid}` }],
      series: [{ uid: `${studyInstanceUid}.1`, modality: { ...CT_MODALITY, code: modality } }],
    });
  }

  /** Calls the hook and notes which FHIR requests happened while its access token was live. */
  async function callHook(serviceId: string, options: HookCallOptions): Promise<HookCallResult> {
    const from = fhir.requests().length;
    const result = await ehr.callHook(serviceId, options);
    if (result.accessToken !== undefined) {
      accessTokenWindows.push({ token: result.accessToken, from, to: fhir.requests().length });
    }
    return result;
  }

  /** Calls the hook and returns its only card. */
  async function onlyCard(serviceId: string, options: HookCallOptions): Promise<CdsCard> {
    const result = await callHook(serviceId, options);
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
      card = await onlyCard(PATIENT_VIEW, { context: { patientId } });
    }
    return card;
  }

  /** Returns the `details` of the last `request rejected` log line. */
  function lastRejection(): Record<string, unknown> | undefined {
    return logs.withMessage('request rejected').at(-1)?.details as Record<string, unknown> | undefined;
  }

  function issueCode(body: unknown): string | undefined {
    const outcome = body as { issue?: { details?: { coding?: { code?: string }[] } }[] };
    return outcome.issue?.[0]?.details?.coding?.[0]?.code;
  }

  test('discovery lists both hooks with prefetch', async () => {
    const discovery = await ehr.discover();
    const prefetch = {
      patient: 'Patient/{{context.patientId}}',
      studies: 'ImagingStudy?patient={{context.patientId}}&modality=CT&_sort=-started',
    };

    expect(discovery.services.map((service) => [service.id, service.hook])).toEqual([
      [PATIENT_VIEW, 'patient-view'],
      [ENCOUNTER_START, 'encounter-start'],
    ]);
    expect(discovery.services[0]?.prefetch).toEqual(prefetch);
    expect(discovery.services[1]?.prefetch).toEqual(prefetch);
  });

  test('prefetch templates resolve against FHIR', async () => {
    const prefetch = await ehr.resolvePrefetch(PATIENT_VIEW, { patientId: patientA });
    const patient = prefetch.patient as Patient;
    const studies = prefetch.studies as { resourceType: string; entry?: { resource: ImagingStudy }[] };

    expect(patient.id).toBe(patientA);
    expect(studies.resourceType).toBe('Bundle');
    expect(studies.entry?.map((entry) => entry.resource.identifier?.[0]?.value)).toEqual([
      `urn:oid:${CT_3SLICE.studyInstanceUid}`,
    ]);
  });

  test('both hooks show analysis in progress', async () => {
    const patientView = await onlyCard(PATIENT_VIEW, { context: { patientId: patientA }, alg: 'ES384' });
    const encounterStart = await onlyCard(ENCOUNTER_START, {
      context: { patientId: patientA, encounterId: encounterA },
      alg: 'RS384',
    });

    expect(patientView.summary).toBe(CARD_MESSAGES.en.inProgressSummary);
    expect(patientView.indicator).toBe('info');
    expect(patientView.detail).toContain(CT_3SLICE.studyInstanceUid);
    expect(patientView.links).toBeUndefined();
    expect(patientView.overrideReasons).toBeUndefined();
    expect(encounterStart).toEqual(patientView);
  });

  test('service fetches keys from the jwksUrl', () => {
    expect(config.auth.issuers[0]?.jwks).toBeUndefined();
    expect(config.auth.issuers[0]?.jwksUrl).toBe(ehr.jwksUrl);
    expect(ehr.jwksRequestCount()).toBeGreaterThanOrEqual(1);
  });

  test('patient without CT gets no card', async () => {
    const result = await callHook(PATIENT_VIEW, { context: { patientId: patientC } });

    expect(result.status).toBe(200);
    expect(result.body).toEqual({ cards: [] });
  });

  test(
    'PACS announces a stored study',
    async () => {
      await storeInPacs([CT_SMALL_FILE]);

      const notified = (uid: string): Record<string, unknown>[] =>
        logs.withMessage('PACS notification received').filter((entry) => entry.studyInstanceUid === uid);
      await vi.waitFor(
        () => {
          if (notified(CT_SMALL.studyInstanceUid).length === 0) {
            throw new Error(`no notification yet; Orthanc log:\n${orthanc.logTail()}`);
          }
        },
        { timeout: WAIT_TIMEOUT_MS, interval: 250 },
      );

      expect(notified(CT_SMALL.studyInstanceUid).map((entry) => entry.outcome)).toEqual(['enqueued']);
      // The studies stored before the hooks were announced too; a hook may have enqueued one first.
      const earlier = notified(CT_3SLICE.studyInstanceUid).map((entry) => entry.outcome);
      expect(earlier).toHaveLength(1);
      expect(['enqueued', 'exists']).toContain(earlier[0]);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'result card has smart and viewer links',
    async () => {
      const first = await onlyCard(PATIENT_VIEW, { context: { patientId: patientA } });
      releaseAnalyses();
      resultCard = await waitForNextCard(first, patientA);

      // The shipped BR-RO card has no site calibration, so the card lists features, not a probability.
      expect(resultCard.summary).toBe(CARD_MESSAGES.en.featuresOnlySummary.uncalibrated);
      expect(resultCard.indicator).toBe('info');
      expect(resultCard.detail).toContain(CARD_MESSAGES.en.noProbability.uncalibrated);
      for (const feature of modelCard.features) expect(resultCard.detail).toContain(feature.name);
      expect(resultCard.detail).not.toContain('Probability of high NQO1 expression');
      expect(resultCard.overrideReasons?.map((reason) => reason.system)).toEqual(
        Array<string>(4).fill(OVERRIDE_REASON_SYSTEM),
      );

      const [smart, viewer] = resultCard.links ?? [];
      expect(smart?.type).toBe('smart');
      expect(smart?.url).toBe(config.smartAppUrl);
      expect(viewer).toEqual({
        label: CARD_MESSAGES.en.viewerLinkLabel,
        url: VIEWER_URL_TEMPLATE.replace('{{studyInstanceUid}}', CT_3SLICE.studyInstanceUid),
        type: 'absolute',
      });
      const store = new SqliteResultStore(config.store.sqlitePath);
      try {
        const stored = await store.getById(smart?.appContext ?? '');
        expect(stored?.status).toBe('done');
        expect(stored?.job.studyInstanceUid).toBe(CT_3SLICE.studyInstanceUid);
      } finally {
        await store.close();
      }
    },
    TEST_TIMEOUT_MS,
  );

  test('encounter-start shows the same result', async () => {
    const card = await onlyCard(ENCOUNTER_START, {
      context: { patientId: patientA, encounterId: encounterA },
      alg: 'RS384',
    });

    expect(card).toEqual(resultCard);
  });

  test('Accept-Language zh-CN gives Chinese card', async () => {
    const card = await onlyCard(PATIENT_VIEW, {
      context: { patientId: patientA },
      acceptLanguage: 'zh-CN,zh;q=0.9,en;q=0.5',
    });

    expect(card.uuid).toBe(resultCard.uuid);
    expect(card.summary).toBe(CARD_MESSAGES['zh-CN'].featuresOnlySummary.uncalibrated);
    expect(card.detail).toContain(CARD_MESSAGES['zh-CN'].noProbability.uncalibrated);
    expect(card.links?.[0]?.label).toBe(CARD_MESSAGES['zh-CN'].smartLinkLabel);
    expect(card.source.label).toBe(CARD_MESSAGES['zh-CN'].sourceLabel);
  });

  test(
    'CT without SEG gets the segmentation card',
    async () => {
      const first = await onlyCard(PATIENT_VIEW, { context: { patientId: patientB } });
      const card =
        first.summary === CARD_MESSAGES.en.inProgressSummary ? await waitForNextCard(first, patientB) : first;

      expect(card.summary).toBe(CARD_MESSAGES.en.failureSummary.segmentation);
      expect(card.indicator).toBe('info');
      expect(card.detail).toContain(CARD_MESSAGES.en.failureDetail.segmentation);
      expect(card.detail).toContain('ERR_SEGMENTATION_MISSING');
      expect(card.detail).toContain(CT_24X38X3.studyInstanceUid);
    },
    TEST_TIMEOUT_MS,
  );

  test('feedback sent twice is counted once', async () => {
    // The response validator requires a uuid on every card.
    const cardUuid = resultCard.uuid!;
    const entries: FeedbackEntry[] = [
      { card: cardUuid, outcome: 'accepted', outcomeTimestamp: '2026-12-05T08:30:00Z' },
      {
        card: cardUuid,
        outcome: 'overridden',
        overrideReason: {
          reason: { system: OVERRIDE_REASON_SYSTEM, code: 'already-known' },
          userComment: FEEDBACK_COMMENT,
        },
        outcomeTimestamp: '2026-12-05T08:31:00Z',
      },
    ];

    expect(await ehr.sendFeedback(PATIENT_VIEW, entries)).toBe(200);
    expect(await ehr.sendFeedback(PATIENT_VIEW, entries, { alg: 'RS384' })).toBe(200);
    const health = (await (await fetch(`${config.server.publicUrl}/healthz`)).json()) as {
      feedback: unknown;
    };

    expect(health.feedback).toEqual([
      {
        modelId: modelCard.id,
        modelVersion: modelCard.version,
        accepted: 1,
        overridden: 1,
        unlinked: 0,
        overrideReasons: [{ system: OVERRIDE_REASON_SYSTEM, code: 'already-known', count: 1 }],
      },
    ]);
  });

  test('without prefetch the service reads FHIR', async () => {
    const before = fhir.requests().length;
    const result = await callHook(PATIENT_VIEW, { context: { patientId: patientA }, prefetch: 'omit' });
    const reads = fhir
      .requests()
      .slice(before)
      .filter((read) => read.authorization === `Bearer ${result.accessToken}`);

    expect(result.status).toBe(200);
    expect(result.cards[0]?.uuid).toBe(resultCard.uuid);
    expect(reads).toHaveLength(1);
    expect(reads[0]?.method).toBe('GET');
    expect(reads[0]?.url).toMatch(/^ImagingStudy\?/);
    expect(new URLSearchParams(reads[0]?.url.split('?')[1]).get('patient')).toBe(patientA);
  });

  test.each([
    [
      'an OperationOutcome',
      { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'forbidden' }] },
    ],
    ['null', null],
    [
      'one page of a paginated search',
      {
        resourceType: 'Bundle',
        type: 'searchset',
        // The service never follows this link: it reads the studies from fhirServer instead.
        link: [{ relation: 'next', url: 'http://127.0.0.1:9/fhir/R4/ImagingStudy?page=2' }],
        entry: [],
      },
    ],
  ])('studies prefetch of %s falls back to FHIR', async (_name, studies) => {
    const result = await callHook(PATIENT_VIEW, { context: { patientId: patientA }, prefetch: { studies } });

    expect(result.status).toBe(200);
    expect(result.cards[0]?.uuid).toBe(resultCard.uuid);
  });

  test('neither prefetch nor FHIR access gives 412', async () => {
    const result = await callHook(PATIENT_VIEW, {
      context: { patientId: patientA },
      prefetch: 'omit',
      fhirServer: null,
      fhirAuthorization: false,
    });

    expect(result.status).toBe(412);
    expect(result.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect((result.body as { resourceType?: string }).resourceType).toBe('OperationOutcome');
    expect(issueCode(result.body)).toBe('ERR_PREFETCH_MISSING');
  });

  test('fhirServer off the allowlist is never contacted', async () => {
    const listener = await startLoopbackListener();
    try {
      const result = await callHook(PATIENT_VIEW, {
        context: { patientId: patientA },
        prefetch: 'omit',
        fhirServer: `${listener.origin}/fhir/R4`,
      });

      expect(result.status).toBe(403);
      expect(issueCode(result.body)).toBe('ERR_URL_NOT_ALLOWED');
      expect(listener.connectionCount()).toBe(0);
    } finally {
      await listener.close();
    }
  });

  test('tokens the JWKS cannot verify get 401', async () => {
    const unknownKey = await callHook(PATIENT_VIEW, {
      context: { patientId: patientA },
      foreignKeyKid: 'not-in-the-jwks',
    });
    expect(unknownKey.status).toBe(401);
    expect(unknownKey.body).toBe('');
    expect(lastRejection()?.reason).toBe('unknown_kid');

    const forged = await callHook(PATIENT_VIEW, {
      context: { patientId: patientA },
      foreignKeyKid: 'mock-ehr-ES384',
    });
    expect(forged.status).toBe(401);
    expect(lastRejection()?.reason).toBe('bad_signature');
  });

  test('jku must be the jwksUrl', async () => {
    const elsewhere = await startLoopbackListener();
    try {
      const otherJku = await callHook(PATIENT_VIEW, {
        context: { patientId: patientA },
        jku: `${elsewhere.origin}/.well-known/jwks.json`,
      });
      expect(otherJku.status).toBe(401);
      expect(otherJku.body).toBe('');
      expect(lastRejection()?.reason).toBe('jku_not_allowed');
      expect(elsewhere.connectionCount()).toBe(0);
    } finally {
      await elsewhere.close();
    }

    const withoutJku = await callHook(PATIENT_VIEW, { context: { patientId: patientA }, jku: null });
    expect(withoutJku.status).toBe(200);
  });

  test('replayed token gets 401', async () => {
    const first = await callHook(PATIENT_VIEW, { context: { patientId: patientA } });
    const replay = await callHook(PATIENT_VIEW, { context: { patientId: patientA }, token: first.token });

    expect(first.status).toBe(200);
    expect(replay.status).toBe(401);
    expect(lastRejection()?.reason).toBe('replayed_jti');
  });

  test('CORS allows only the listed origin', async () => {
    const allowed = await ehr.preflight(`/cds-services/${PATIENT_VIEW}`, ALLOWED_ORIGIN);
    const other = await ehr.preflight(`/cds-services/${PATIENT_VIEW}`, OTHER_ORIGIN);
    const allowedCall = await callHook(PATIENT_VIEW, {
      context: { patientId: patientA },
      origin: ALLOWED_ORIGIN,
    });
    const otherCall = await callHook(PATIENT_VIEW, {
      context: { patientId: patientA },
      origin: OTHER_ORIGIN,
    });

    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(allowed.headers.get('access-control-allow-methods')).toContain('POST');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('Authorization');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(other.headers.get('access-control-allow-headers')).toBeNull();
    expect(allowedCall.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(otherCall.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('older result while newest is pending', async () => {
    // A newer CT study that PACS does not hold: it is enqueued and, until it fails, pending.
    const newerUid = `2.25.${randomInt(1, 2 ** 47)}`;
    await createImagingStudy(patientA, newerUid, '2025-03-01T08:00:00Z');

    const card = await onlyCard(PATIENT_VIEW, { context: { patientId: patientA } });

    expect(card.uuid).not.toBe(resultCard.uuid);
    expect(card.summary).toBe(resultCard.summary);
    expect(card.detail?.startsWith(CARD_MESSAGES.en.olderStudyLine('2009-06-22', '2025-03-01'))).toBe(true);
    expect(card.detail).toContain(CT_3SLICE.studyInstanceUid);
    expect(card.links?.[0]).toEqual(resultCard.links?.[0]);
    const enqueued = logs.withMessage('analysis enqueued').map((entry) => entry.studyInstanceUid);
    expect(enqueued).toContain(newerUid);
  });

  test('access tokens are used only in their own call', () => {
    const grantedTokens = new Set(accessTokenWindows.map((window) => window.token));
    const requests = fhir.requests();
    let serviceReads = 0;
    for (let index = 0; index < requests.length; index++) {
      const token = requests[index]!.authorization?.replace(/^Bearer /, '');
      if (token === undefined || !grantedTokens.has(token)) continue;

      serviceReads++;
      const window = accessTokenWindows.find((candidate) => candidate.token === token)!;
      expect(index).toBeGreaterThanOrEqual(window.from);
      expect(index).toBeLessThan(window.to);
    }
    // The four hook calls without a usable prefetch read FHIR, and no other call did.
    expect(serviceReads).toBe(4);
  });

  test('log has no token, identifier or prefetch', async () => {
    const log = logs.text();
    const dicomIdentifiers = await dicomPatientIdentifiers([
      ...CT_3SLICE_FILES,
      LIVER_SEG_FILE,
      ...CT_24X38X3_FILES,
      CT_SMALL_FILE,
    ]);

    // The log covers the run: the studies, the rejected calls and the served hook calls.
    expect(log).toContain(CT_3SLICE.studyInstanceUid);
    expect(log).toContain(CT_SMALL.studyInstanceUid);
    expect(logs.withMessage('request rejected').length).toBeGreaterThanOrEqual(6);
    expect(
      logs.withMessage('request served').filter((entry) => entry.route === `/cds-services/${PATIENT_VIEW}`)
        .length,
    ).toBeGreaterThanOrEqual(15);

    for (const id of [patientA, patientB, patientC, encounterA]) expect(log).not.toContain(id);
    expect(log).not.toContain(PATIENT_FAMILY_NAME);
    expect(log).not.toContain(PATIENT_GIVEN_NAME);
    expect(log).not.toContain(PATIENT_MRN);
    expect(log).not.toContain(PATIENT_BIRTH_DATE);
    expect(log).not.toContain(PATIENT_BIRTH_DATE.replaceAll('-', ''));
    expect(log).not.toContain(FEEDBACK_COMMENT);
    expect(dicomIdentifiers).toEqual(expect.arrayContaining(['JANCT000', 'CompressedSamples^CT1']));
    for (const identifier of dicomIdentifiers) {
      expect(log).not.toMatch(new RegExp(`\\b${escapeRegExp(identifier)}\\b`));
    }

    const secrets = ehr.issuedSecrets();
    expect(secrets.length).toBeGreaterThanOrEqual(30);
    for (const secret of [...secrets, PACS_SECRET]) {
      expect(log).not.toContain(secret);
      const signature = secret.split('.')[2];
      if (signature !== undefined) expect(log).not.toContain(signature);
    }
    expect(log).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
    expect(log).not.toContain('"resourceType"');
    expect(log).not.toContain('searchset');
    expect(log).not.toContain('birthDate');
  });
});
