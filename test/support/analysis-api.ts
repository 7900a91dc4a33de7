/**
 * Set-up shared by the tests of the app's analysis routes (`GET /api/analyses/{id}` and its region
 * pictures): the medplum FHIR server, which accepts only {@link TOKEN}, and the app with that server
 * on the FHIR allowlist, plus helpers to store rows and read error codes.
 */
import type { ImagingStudy } from '@medplum/fhirtypes';
import type request from 'supertest';
import { expect } from 'vitest';

import type { AnalysisJob } from '../../src/jobs/types.js';
import type { OperationOutcome } from '../../src/server/outcome.js';
import { createHarness, type Harness } from './cds-fixtures.js';
import { startFhirServer, type FhirServerHandle, type FhirServerOptions } from './fhir-server.js';

export const TOKEN = 'smart-access-token-7d1c5e90';
export const PATIENT_ID = 'pat-7731';
export const STUDY_UID = '1.2.826.0.1.3680043.8.498.77';
export const SERIES_UID = '1.2.826.0.1.3680043.8.498.77.3';
export const PATH = '/api/analyses';

export interface AnalysisApi {
  readonly h: Harness;
  readonly fhir: FhirServerHandle;
  readonly close: () => Promise<void>;
}

/**
 * Starts the FHIR server (accepting only {@link TOKEN}, and responding with `refuse`'s status where it
 * gives one) and the app with it on the allowlist.
 */
export async function startAnalysisApi(
  options: Pick<FhirServerOptions, 'refuse'> = {},
): Promise<AnalysisApi> {
  const fhir = await startFhirServer({ acceptsToken: (token) => token === TOKEN, ...options });
  const h = await createHarness({
    configOverrides: {
      fhir: { baseUrl: fhir.baseUrl, allowedBaseUrls: [fhir.baseUrl], timeoutMs: 2_000 },
    },
  });
  return {
    h,
    fhir,
    close: async () => {
      await h.close();
      await fhir.close();
    },
  };
}

/**
 * Creates an ImagingStudy in the FHIR server and returns its logical id. `started` sets its start
 * time, and `ctSeries` adds one CT series (`<uid>.1`), which the patient's study search selects.
 */
export async function createStudy(
  fhir: FhirServerHandle,
  uid = STUDY_UID,
  patientId = PATIENT_ID,
  options: { readonly started?: string; readonly ctSeries?: boolean } = {},
): Promise<string> {
  const created = await fhir.repository.createResource<ImagingStudy>({
    resourceType: 'ImagingStudy',
    status: 'available',
    subject: { reference: `Patient/${patientId}` },
    identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${uid}` }],
    ...(options.started === undefined ? {} : { started: options.started }),
    ...(options.ctSeries === true
      ? {
          series: [
            {
              uid: `${uid}.1`,
              modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' },
            },
          ],
        }
      : {}),
  });
  return created.id;
}

/** Builds a job of {@link PATIENT_ID} for the requested series {@link SERIES_UID} of {@link STUDY_UID}. */
export function jobFor(imagingStudyId: string): AnalysisJob {
  return {
    studyInstanceUid: STUDY_UID,
    imagingStudyId,
    patientId: PATIENT_ID,
    seriesInstanceUid: SERIES_UID,
    modelId: 'br-ro',
    modelVersion: '1.0.0',
  };
}

/** Stores `job` as pending and returns its row id. */
export async function storePending(h: Harness, job: AnalysisJob): Promise<string> {
  await h.store.insertPending(job);
  const stored = await h.store.getResult(job);
  if (stored === undefined) throw new Error('the pending row was not stored');
  return stored.id;
}

export function errorCodeOf(response: request.Response): string | undefined {
  return (JSON.parse(response.text) as OperationOutcome).issue[0].details.coding[0].code;
}

/** Checks that neither the token nor the patient id reached the log. */
export function expectCleanLogs(h: Harness): void {
  expect(h.logs.text()).not.toContain(TOKEN);
  expect(h.logs.text()).not.toContain(PATIENT_ID);
}
