/**
 * Factories of CDS Hooks requests and FHIR resources for the hook tests, and a harness that builds
 * the app over an in-memory store, a real queue with a fake `analyse`, captured logs and a test
 * issuer whose inline JWKS the configuration trusts.
 */
import type { ResultWriter } from '../../src/jobs/analyse-study.js';
import { randomUUID } from 'node:crypto';

import type { Application } from 'express';

import { AnalysisQueue } from '../../src/jobs/queue.js';
import { SqliteResultStore } from '../../src/jobs/result-store.js';
import type { AnalyseStudy } from '../../src/jobs/types.js';
import { loadModelCard, type ModelCard } from '../../src/model/card.js';
import { createApp } from '../../src/server/app.js';
import { CdsJwtVerifier } from '../../src/server/auth.js';
import { parseConfig, type AppConfig } from '../../src/server/config.js';
import { captureLogs, type CapturedLogs } from './log-capture.js';
import { createTestIssuer, TEST_ISSUER, type TestIssuer } from './cds-jwt.js';

export const PUBLIC_URL = 'http://127.0.0.1:8080';
export const HOOK_URL = `${PUBLIC_URL}/cds-services/nqo1-risk`;
export const PATIENT_ID = 'pat-1';
/** A patient name and birth date the tests look for in the logs, where they must never appear. */
export const PATIENT_NAME = 'Zhang Xiaoming';
export const PATIENT_BIRTH_DATE = '1961-03-14';

export interface ImagingStudyOptions {
  readonly id: string;
  readonly uid?: string;
  readonly started?: string;
  readonly patientId?: string;
  readonly seriesModalities?: readonly string[];
  readonly status?: string;
}

/** An R4 ImagingStudy with a `urn:dicom:uid` identifier and one series per modality. */
export function imagingStudy(options: ImagingStudyOptions): Record<string, unknown> {
  const { id, uid = `1.2.826.0.1.${id.replace(/\D/g, '') || '9'}`, patientId = PATIENT_ID } = options;
  return {
    resourceType: 'ImagingStudy',
    id,
    status: options.status ?? 'available',
    subject: { reference: `Patient/${patientId}` },
    identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${uid}` }],
    ...(options.started === undefined ? {} : { started: options.started }),
    series: (options.seriesModalities ?? ['CT']).map((code, index) => ({
      uid: `${uid}.${index + 1}`,
      modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code },
    })),
  };
}

export function searchsetBundle(resources: readonly unknown[]): Record<string, unknown> {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: resources.length,
    entry: resources.map((resource) => ({ resource })),
  };
}

export const PATIENT = {
  resourceType: 'Patient',
  id: PATIENT_ID,
  name: [{ text: PATIENT_NAME, family: 'Zhang', given: ['Xiaoming'] }],
  birthDate: PATIENT_BIRTH_DATE,
  identifier: [{ system: 'urn:oid:2.16.840.1.113883.2.4.6.3', value: 'MRN-778899' }],
};

/** A `patient-view` request body with the given prefetch (both keys by default). */
export function hookRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    hook: 'patient-view',
    hookInstance: randomUUID(),
    context: { userId: 'Practitioner/dr-1', patientId: PATIENT_ID },
    prefetch: {
      patient: PATIENT,
      studies: searchsetBundle([
        imagingStudy({ id: 'study-1', uid: '1.2.826.0.1.1', started: '2026-11-02T09:00:00Z' }),
      ]),
    },
    ...overrides,
  };
}

/** The configuration of the tests: loopback URLs and the test issuer's inline JWKS. */
export function testConfig(
  issuer: Pick<TestIssuer, 'jwks'>,
  overrides: Record<string, unknown> = {},
): AppConfig {
  return parseConfig({
    server: { publicUrl: PUBLIC_URL },
    auth: { issuers: [{ iss: TEST_ISSUER, jwks: issuer.jwks, algorithms: ['ES384', 'RS384'] }] },
    dicomweb: {
      baseUrl: 'http://127.0.0.1:8042/dicom-web',
      allowedBaseUrls: ['http://127.0.0.1:8042/dicom-web'],
    },
    fhir: { baseUrl: 'http://127.0.0.1:8103/fhir/R4', allowedBaseUrls: ['http://127.0.0.1:8103/fhir/R4'] },
    store: { sqlitePath: ':memory:' },
    smartAppUrl: 'http://127.0.0.1:8080/smart-app/launch.html',
    ...overrides,
  });
}

export interface Harness {
  readonly app: Application;
  readonly issuer: TestIssuer;
  readonly logs: CapturedLogs;
  readonly store: SqliteResultStore;
  readonly queue: AnalysisQueue;
  readonly modelCard: ModelCard;
  /** A valid bearer header for the hook, signed now. */
  authorization(): Promise<string>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly analyse?: AnalyseStudy;
  /** FHIR writer of the queue's owed write-backs; none by default. */
  readonly writer?: ResultWriter;
  readonly configOverrides?: Record<string, unknown>;
  /** Clock of the JWT verifier; defaults to the system clock. */
  readonly now?: () => Date;
  /** Capacity of the verifier's replay cache; defaults to the production value. */
  readonly replayCacheCapacity?: number;
  /** Signer of `authorization()`; defaults to a new test issuer. */
  readonly issuer?: TestIssuer;
}

/** Builds the app over the shipped BR-RO model card and an in-memory store. */
export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const issuer = options.issuer ?? (await createTestIssuer());
  const config = testConfig(issuer, options.configOverrides);
  const logs = captureLogs();
  const modelCard = await loadModelCard(config.model.cardPath);
  const store = new SqliteResultStore(':memory:');
  const analyse: AnalyseStudy =
    options.analyse ?? (() => Promise.reject(new Error('no analyse function given to this test harness')));
  const queue = new AnalysisQueue({
    store,
    analyse,
    logger: logs.logger,
    retryFailedAfterMs: config.jobs.retryFailedAfterMs,
    ...(options.writer === undefined ? {} : { writer: options.writer }),
  });
  await queue.start();
  const now = options.now ?? (() => new Date());
  const verifier = new CdsJwtVerifier(config.auth, {
    now,
    ...(options.replayCacheCapacity === undefined
      ? {}
      : { replayCacheCapacity: options.replayCacheCapacity }),
  });
  const app = createApp({ config, logger: logs.logger, store, queue, modelCard, verifier });

  return {
    app,
    issuer,
    logs,
    store,
    queue,
    modelCard,
    authorization: async () => `Bearer ${await issuer.sign({ aud: HOOK_URL, now: now() })}`,
    async close() {
      await queue.stop();
      await store.close();
    },
  };
}
