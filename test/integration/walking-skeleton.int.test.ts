/**
 * The whole product on real components: Orthanc with DICOMweb as PACS, a medplum FHIR R4 server as
 * EHR FHIR store, and the CDS Hooks service with its SQLite store, in-process queue and the study
 * analyser. The test calls the hook as an EHR would and follows the result into the chart.
 *
 * Data: the three GE abdominal CT slices of the dcmqi `ct-3slice` case and its liver DICOM SEG. The
 * liver replaces the tumour, so the numbers are not clinically meaningful.
 *
 * Every hook response is checked against the CDS Hooks rules. The last test searches the whole log
 * of the run for the patient's name, MRN and birth date, taken from the FHIR Patient and from the
 * DICOM headers. It also searches for the JWTs, the FHIR access token and the prefetch body.
 *
 * Needs the `Orthanc` binary with the DICOMweb plugin (Debian `orthanc`, `orthanc-dicomweb`). Without
 * it the suite is skipped with a warning, except under `CI=true`, where it fails.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

import { Operator } from '@medplum/core';
import type { Bundle, ImagingStudy, Observation, Patient, Provenance } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { OVERRIDE_REASON_SYSTEM } from '../../cds-services/nqo1-risk/cards.js';
import { CARD_MESSAGES } from '../../cds-services/nqo1-risk/messages.js';
import { DicomWebClient } from '../../src/dicomweb/client.js';
import { PRODUCT_CODE_SYSTEM, RESULT_CODE, RESULT_ID_SYSTEM } from '../../src/fhir/codes.js';
import { createStudyAnalyserFromConfig, type ClosableAnalyseStudy } from '../../src/jobs/analyse-study.js';
import { BR_RO_CARD_PATH, loadModelCard, type ModelCard } from '../../src/model/card.js';
import type { CdsCard, CdsResponse } from '../../src/server/cds-types.js';
import { parseConfig, type AppConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/logger.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { validateCdsResponse, validateDiscoveryResponse } from '../support/cds-response.js';
import { startFhirServer, type FhirServerHandle } from '../support/fhir-server.js';
import { dicomPatientIdentifiers, escapeRegExp } from '../support/dicom-identifiers.js';
import { createEhrKeys, signCdsJwt, type EhrKeys } from '../support/jwt.js';
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
  LIVER_SEG_FILE,
  readArrayBuffer,
} from '../support/shared-data.js';

const skipReason = orthancSkipReason('the walking-skeleton test');

const EHR_ISSUER = 'https://ehr.example/cds-client';
const SERVICE_ID = 'nqo1-risk';
/** How long the analysis of three 512×512 slices may take before the test gives up, in ms. */
const RESULT_TIMEOUT_MS = 60_000;
/** Timeout of a test that waits for an analysis: the wait above plus the hook calls around it. */
const TEST_TIMEOUT_MS = RESULT_TIMEOUT_MS + 30_000;

/** Identifiers of the EHR's patient, which the service receives in the prefetch and must never log. */
const PATIENT_FAMILY_NAME = 'Skeletonova';
const PATIENT_GIVEN_NAME = 'Wenjing';
const PATIENT_MRN = 'MRN-SKEL-4711';
const PATIENT_BIRTH_DATE = '1958-07-23';
/** The FHIR access token the EHR sends in `fhirAuthorization`. */
const FHIR_ACCESS_TOKEN = 'skeleton-fhir-access-token-6f1c2a';

interface HookResponse {
  readonly status: number;
  readonly body: unknown;
}

describe.skipIf(skipReason !== null)('walking skeleton: EHR hook → PACS → model → chart', () => {
  let orthanc: OrthancHandle;
  let fhir: FhirServerHandle;
  let service: RunningServer;
  let storeDir: string;
  let ehrKeys: EhrKeys;
  let config: AppConfig;
  let modelCard: ModelCard;
  let analyse: ClosableAnalyseStudy;
  let patientId: string;
  let imagingStudyId: string;
  const logLines: string[] = [];
  /** Every JWT this EHR signed during the run, to search the log for. */
  const issuedTokens: string[] = [];
  /** Hook calls made during the run, each of which must leave one `request served` line. */
  let hookCallCount = 0;
  /** Stops what beforeAll started, newest first, even when beforeAll failed halfway. */
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    orthanc = await startOrthanc();
    cleanups.push(() => orthanc.stop());
    fhir = await startFhirServer();
    cleanups.push(() => fhir.close());
    storeDir = await mkdtemp(path.join(tmpdir(), 'nqo1-skeleton-'));
    cleanups.push(() => rm(storeDir, { recursive: true, force: true }));
    ehrKeys = await createEhrKeys(EHR_ISSUER);
    modelCard = await loadModelCard(BR_RO_CARD_PATH);

    const pacs = new DicomWebClient({
      baseUrl: orthanc.dicomWebUrl,
      allowlist: [orthanc.dicomWebUrl],
      timeoutMs: 20_000,
    });
    await pacs.storeInstances(
      await Promise.all([...CT_3SLICE_FILES, LIVER_SEG_FILE, ...CT_24X38X3_FILES].map(readArrayBuffer)),
    );

    const patient = await fhir.repository.createResource<Patient>({
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
    patientId = patient.id;
    const study = await fhir.repository.createResource<ImagingStudy>({
      resourceType: 'ImagingStudy',
      status: 'available',
      subject: { reference: `Patient/${patientId}` },
      started: '2009-06-22T21:43:10Z',
      identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${CT_3SLICE.studyInstanceUid}` }],
      series: [
        {
          uid: CT_3SLICE.ctSeriesInstanceUid,
          modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' },
        },
      ],
    });
    imagingStudyId = study.id;

    const port = await findFreeLoopbackPort();
    config = parseConfig({
      server: { host: '127.0.0.1', port, publicUrl: `http://127.0.0.1:${port}` },
      auth: { issuers: [{ iss: EHR_ISSUER, jwks: ehrKeys.jwks, algorithms: ['RS384'] }] },
      dicomweb: { baseUrl: orthanc.dicomWebUrl, allowedBaseUrls: [orthanc.dicomWebUrl], timeoutMs: 20_000 },
      fhir: { baseUrl: fhir.baseUrl, allowedBaseUrls: [fhir.baseUrl], timeoutMs: 10_000 },
      store: { sqlitePath: path.join(storeDir, 'results.sqlite') },
      smartAppUrl: `http://127.0.0.1:${port}/smart-app/launch.html`,
    });
    const logger = createLogger({
      level: 'debug',
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          logLines.push(chunk.toString('utf8'));
          done();
        },
      }),
    });
    analyse = createStudyAnalyserFromConfig(config, { logger, modelCard });
    cleanups.push(() => analyse.close());
    service = await startServer(config, { analyse, logger, modelCard });
    cleanups.push(() => service.close());
  });

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  const serviceUrl = (): string => `${config.server.publicUrl}/cds-services/${SERVICE_ID}`;

  /** Builds the hook body an EHR sends, with the prefetch it reads from its FHIR server. */
  async function hookBody(forPatientId: string): Promise<Record<string, unknown>> {
    const patient = await getJson<Patient>(`${fhir.baseUrl}/Patient/${forPatientId}`);
    // The prefetch template is `ImagingStudy?patient={{context.patientId}}&…`. The medplum 4.5
    // in-memory repository matches a reference search only in its `Patient/<id>` form, which FHIR
    // defines as equivalent, so this EHR expands the template that way.
    const studies = await getJson<Bundle>(
      `${fhir.baseUrl}/ImagingStudy?patient=Patient/${forPatientId}&modality=CT&_sort=-started`,
    );
    return {
      hook: 'patient-view',
      hookInstance: randomUUID(),
      fhirServer: fhir.baseUrl,
      fhirAuthorization: {
        access_token: FHIR_ACCESS_TOKEN,
        token_type: 'Bearer',
        expires_in: 300,
        scope: 'patient/Patient.read patient/ImagingStudy.read',
        subject: 'nqo1-cds',
        patient: forPatientId,
      },
      context: { userId: 'Practitioner/example', patientId: forPatientId },
      prefetch: { patient, studies },
    };
  }

  /** Signs a hook JWT as this EHR and remembers it for the log check. */
  async function signToken(claims: Parameters<typeof signCdsJwt>[1]): Promise<string> {
    const token = await signCdsJwt(ehrKeys, claims);
    issuedTokens.push(token);
    return token;
  }

  /** Calls the hook and checks a 200 response against the CDS Hooks response rules. */
  async function callHook(token: string, forPatientId = patientId): Promise<HookResponse> {
    hookCallCount += 1;
    const response = await fetch(serviceUrl(), {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(await hookBody(forPatientId)),
    });
    const text = await response.text();
    if (response.status !== 200) return { status: response.status, body: text };

    const body = JSON.parse(text) as unknown;
    expect(validateCdsResponse(body)).toEqual([]);
    return { status: response.status, body };
  }

  async function callHookForCard(forPatientId = patientId): Promise<CdsCard> {
    const response = await callHook(await signToken({ aud: serviceUrl() }), forPatientId);
    expect(response.status).toBe(200);
    const body = response.body as CdsResponse;
    expect(body.cards).toHaveLength(1);
    return body.cards[0]!;
  }

  /** Calls the hook every 250 ms until its card differs from `first`, as an EHR refreshing the chart. */
  async function waitForNextCard(first: CdsCard, forPatientId = patientId): Promise<CdsCard> {
    const deadline = Date.now() + RESULT_TIMEOUT_MS;
    let card = first;
    while (card.uuid === first.uuid && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      card = await callHookForCard(forPatientId);
    }
    return card;
  }

  async function observations(): Promise<Observation[]> {
    return await fhir.repository.searchResources<Observation>({
      resourceType: 'Observation',
      filters: [{ code: 'code', operator: Operator.EQUALS, value: `${PRODUCT_CODE_SYSTEM}|${RESULT_CODE}` }],
    });
  }

  test('discovery response follows the spec', async () => {
    const response = await fetch(`${config.server.publicUrl}/cds-services`);
    const body = (await response.json()) as unknown;

    expect(response.status).toBe(200);
    expect(validateDiscoveryResponse(body)).toEqual([]);
  });

  test(
    'hook returns in-progress card, then the result card',
    async () => {
      const first = await callHookForCard();
      expect(first.summary).toBe(CARD_MESSAGES.en.inProgressSummary);
      expect(first.indicator).toBe('info');
      expect(first.links).toBeUndefined();
      expect(first.overrideReasons).toBeUndefined();

      const card = await waitForNextCard(first);

      expect(card.uuid).not.toBe(first.uuid);
      expect(card.summary).toBe(CARD_MESSAGES.en.featuresOnlySummary.uncalibrated);
      expect(card.links?.[0]?.type).toBe('smart');
      expect(card.source.url).toBe(`https://doi.org/${modelCard.citation.doi}`);
      // The shipped card has no site scaling, so the card lists features instead of a probability.
      for (const feature of modelCard.features) expect(card.detail).toContain(feature.name);
      expect(card.detail).toContain(CT_3SLICE.studyInstanceUid);
      expect(card.overrideReasons?.map((reason) => reason.system)).toEqual(
        Array<string>(4).fill(OVERRIDE_REASON_SYSTEM),
      );
    },
    TEST_TIMEOUT_MS,
  );

  test('observation in the chart has features, study link and identifier', async () => {
    const stored = await observations();
    expect(stored).toHaveLength(1);
    const observation = stored[0]!;

    expect(observation.status).toBe('preliminary');
    // StudyDate of the CT files; DICOM times carry no time zone, so only the date is kept.
    expect(observation.effectiveDateTime).toBe('2003-04-17');
    expect(observation.subject?.reference).toBe(`Patient/${patientId}`);
    expect(observation.derivedFrom).toEqual([{ reference: `ImagingStudy/${imagingStudyId}` }]);
    expect(observation.identifier).toEqual([
      {
        system: RESULT_ID_SYSTEM,
        value: `${CT_3SLICE.studyInstanceUid}:${modelCard.id}:${modelCard.version}`,
      },
    ]);
    expect(observation.component?.map((component) => component.code.coding?.[0]?.code).sort()).toEqual(
      modelCard.features.map((feature) => feature.name).sort(),
    );
    for (const component of observation.component ?? []) {
      expect(Number.isFinite(component.valueQuantity?.value)).toBe(true);
    }
    expect(observation.valueQuantity).toBeUndefined();
    expect(observation.dataAbsentReason?.coding?.[0]?.code).toBe('unsupported');
    expect(observation.device?.reference).toMatch(/^Device\//);

    const provenances = await fhir.repository.searchResources<Provenance>({ resourceType: 'Provenance' });
    expect(provenances.map((provenance) => provenance.target[0]?.reference?.split('/_history')[0])).toContain(
      `Observation/${observation.id}`,
    );
  });

  test('repeated hook and rerun keep exactly one observation', async () => {
    const before = (await observations())[0]!;

    const card = await callHookForCard();
    const rerun = await analyse({
      studyInstanceUid: CT_3SLICE.studyInstanceUid,
      imagingStudyId,
      patientId,
      modelId: modelCard.id,
      modelVersion: modelCard.version,
    });

    expect(card.links?.[0]?.type).toBe('smart');
    expect(rerun.observationId).toBe(before.id);
    const after = await observations();
    expect(after).toHaveLength(1);
    expect(after[0]?.meta?.versionId).not.toBe(before.meta?.versionId);
  });

  test(
    'study without SEG gets the segmentation card',
    async () => {
      const patient = await fhir.repository.createResource<Patient>({ resourceType: 'Patient' });
      await fhir.repository.createResource<ImagingStudy>({
        resourceType: 'ImagingStudy',
        status: 'available',
        subject: { reference: `Patient/${patient.id}` },
        identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${CT_24X38X3.studyInstanceUid}` }],
        series: [
          {
            uid: CT_24X38X3.ctSeriesInstanceUid,
            modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' },
          },
        ],
      });

      const first = await callHookForCard(patient.id);
      const card = await waitForNextCard(first, patient.id);

      expect(first.summary).toBe(CARD_MESSAGES.en.inProgressSummary);
      expect(card.summary).toBe(CARD_MESSAGES.en.failureSummary.segmentation);
      expect(card.detail).toContain('ERR_SEGMENTATION_MISSING');
      expect(await observations()).toHaveLength(1);
    },
    TEST_TIMEOUT_MS,
  );

  test('forged and expired tokens get 401', async () => {
    const forger = await createEhrKeys(EHR_ISSUER, ehrKeys.kid);
    const forged = await signCdsJwt(forger, { aud: serviceUrl() });
    issuedTokens.push(forged);
    const expired = await signToken({
      aud: serviceUrl(),
      issuedAt: new Date(Date.now() - 10 * 60_000),
      expiresInSeconds: 120,
    });
    const replayed = await signToken({ aud: serviceUrl() });
    expect((await callHook(replayed)).status).toBe(200);

    expect((await callHook(forged)).status).toBe(401);
    expect((await callHook(expired)).status).toBe(401);
    expect((await callHook(replayed)).status).toBe(401);
  });

  test('logs carry no identifier, token or prefetch', async () => {
    const log = logLines.join('');
    const dicomIdentifiers = await dicomPatientIdentifiers([
      ...CT_3SLICE_FILES,
      LIVER_SEG_FILE,
      ...CT_24X38X3_FILES,
    ]);

    // The log covers the run: it names the study, and every hook call, accepted or not, left a line.
    expect(log).toContain(CT_3SLICE.studyInstanceUid);
    expect(hookCallCount).toBeGreaterThanOrEqual(8);
    expect(log.split('"route":"/cds-services/nqo1-risk"')).toHaveLength(hookCallCount + 1);
    // Patient id, name, MRN and birth date of the FHIR Patient, birth date also as DICOM DA.
    expect(log).not.toContain(patientId);
    expect(log).not.toContain(PATIENT_FAMILY_NAME);
    expect(log).not.toContain(PATIENT_GIVEN_NAME);
    expect(log).not.toContain(PATIENT_MRN);
    expect(log).not.toContain(PATIENT_BIRTH_DATE);
    expect(log).not.toContain(PATIENT_BIRTH_DATE.replaceAll('-', ''));
    // Patient name, ID and birth date in the headers of the DICOM files stored in PACS.
    expect(dicomIdentifiers).toEqual(expect.arrayContaining(['JANCT000', '99000', '20060101']));
    for (const identifier of dicomIdentifiers) {
      expect(log).not.toMatch(new RegExp(`\\b${escapeRegExp(identifier)}\\b`));
    }
    // Tokens: every JWT and its signature, any JWT-shaped string, the FHIR access token.
    for (const token of issuedTokens) {
      expect(log).not.toContain(token);
      expect(log).not.toContain(token.split('.')[2]!);
    }
    expect(log).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
    expect(log).not.toContain(FHIR_ACCESS_TOKEN);
    // The prefetch body: no FHIR resource JSON and none of its fields.
    expect(log).not.toContain('"resourceType"');
    expect(log).not.toContain('searchset');
    expect(log).not.toContain('birthDate');
  });
});

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { headers: { Accept: 'application/fhir+json' } });
  if (!response.ok) throw new Error(`GET ${url} returned HTTP ${response.status}`);
  return (await response.json()) as T;
}
