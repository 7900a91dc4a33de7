/**
 * Writes a result into the chart: the software Device, the Observation and a Provenance, with
 * fhir-kit-client 2.0.3 against one allowlisted FHIR R4 base URL.
 *
 * Reruns do not duplicate. The Device and the Observation are each found by their identifier
 * (`GET [type]?identifier=system|value`). An existing resource is replaced by `PUT [type]/[id]`,
 * and a missing one is created by `POST [type]`. This is the client-side form of FHIR conditional
 * update (https://hl7.org/fhir/R4/http.html#cond-update), used because not every server supports
 * `PUT [type]?search`. Two writers racing on the same resource could both create, so each upsert
 * runs under the chart lock of its identifier (`chart-lock.ts`). The Device's lock and then the
 * Observation's are taken one after the other, never nested, so no writer keeps one lock while it
 * waits for another. With a PostgreSQL store the lock applies across processes. Each write adds one
 * Provenance, so the history of writes stays visible.
 */

import { Nqo1Error } from '../errors.js';
import type { ModelReference, ScoreResult } from '../model/result.js';
import { assertUrlAllowed } from '../net/url-allowlist.js';
import { chartLockKey, chartObservationLock } from './chart-lock.js';
import { fhirBaseKey, sameFhirBase } from './fhir-base.js';
import { FhirRestClient, checkFhirId, type MatchedResource, type StoredVersion } from './fhir-rest.js';
import { buildObservation, resultIdentifier } from './observation.js';
import { buildDevice, buildProvenance, deviceIdentifier } from './provenance.js';

export { escapeSearchValue } from './fhir-rest.js';

export interface FhirWriteBackOptions {
  /** FHIR R4 base URL, e.g. `https://ehr.example/fhir/R4`. */
  readonly baseUrl: string;
  /** Allowed FHIR base URLs; `baseUrl` must match one by origin and path prefix. */
  readonly allowlist: readonly string[];
  /** Maximum duration of one HTTP request, in milliseconds. */
  readonly timeoutMs: number;
  /** OAuth access token for the FHIR server; never logged nor put into errors. */
  readonly bearerToken?: string;
  /** Clock for `issued` and `recorded`; defaults to the system clock. */
  readonly now?: () => Date;
}

/** The chart context of one result. */
export interface WriteBackInput {
  readonly result: ScoreResult;
  readonly patientId: string;
  readonly imagingStudyId: string;
  readonly studyInstanceUid: string;
  /** CT acquisition time, when known; see `ObservationContext.effectiveDateTime`. */
  readonly effectiveDateTime?: string;
  /** FHIR base the patient and study ids belong to (`AnalysisJob.fhirServer`); absent: this writer's. */
  readonly fhirServer?: string;
}

/**
 * Ids of the resources one write created or updated. `kept` means a clinician had already recorded
 * the Observation in the chart (status final, amended or corrected), so it was left as it was and no
 * Provenance was added.
 */
export interface WriteBackOutcome {
  readonly observationId: string;
  readonly activity: 'create' | 'update' | 'kept';
  readonly deviceId: string;
  /** Absent when the activity is `kept`. */
  readonly provenanceId?: string;
}

/**
 * Observation statuses that a clinician set by recording the result in the chart (`chart-record.ts`).
 * The service's own write-back never replaces them with a preliminary result.
 */
export const REVIEWED_STATUSES: ReadonlySet<string> = new Set(['final', 'amended', 'corrected']);

/** Writes results to one FHIR server. */
export class FhirWriteBack {
  readonly #fhir: FhirRestClient;
  readonly #now: () => Date;

  /**
   * @throws Nqo1Error `ERR_URL_NOT_ALLOWED` before any connection when `baseUrl` is not allowlisted.
   */
  constructor(options: FhirWriteBackOptions) {
    const baseUrl = assertUrlAllowed(options.baseUrl, options.allowlist, 'FHIR');
    if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
      throw new Nqo1Error(
        'ERR_CONFIG_INVALID',
        `The FHIR timeout ${options.timeoutMs} ms is not a positive number; set it in milliseconds, e.g. 10000.`,
      );
    }
    this.#now = options.now ?? (() => new Date());
    this.#fhir = new FhirRestClient(baseUrl, options.timeoutMs, options.bearerToken);
  }

  /**
   * Upserts the Device and the Observation of `input.result`, then creates a Provenance. An
   * Observation that a clinician recorded in the chart ({@link REVIEWED_STATUSES}) is kept as it is.
   *
   * @throws Nqo1Error `ERR_REQUEST_INVALID` when the patient or study id is not a FHIR id;
   *   `ERR_FHIR_FAILED` on an HTTP error, a timeout, a response without an id, or
   *   when more than one resource carries the identifier (duplicates on the server to resolve);
   *   `ERR_FHIR_REJECTED` on a refusal that the same request would get again (400, 401, 403, …);
   *   `ERR_PATIENT_CONFLICT` when the Observation with the result identifier has another subject.
   */
  async write(input: WriteBackInput): Promise<WriteBackOutcome> {
    const { result } = input;
    checkFhirId(input.patientId, 'Patient');
    checkFhirId(input.imagingStudyId, 'ImagingStudy');
    if (input.fhirServer !== undefined && !sameFhirBase(input.fhirServer, this.#fhir.baseUrl)) {
      // Patient/123 of one EHR is another person, or no one, on another FHIR server.
      throw new Nqo1Error(
        'ERR_FHIR_REJECTED',
        `The result of study ${input.studyInstanceUid} belongs to the FHIR server ${fhirBaseKey(input.fhirServer)}, ` +
          `but the write-back goes to ${fhirBaseKey(this.#fhir.baseUrl)} (fhir.baseUrl), so it was not written. ` +
          'A clinician can still record it from the SMART app launched from that EHR.',
        { details: { studyInstanceUid: input.studyInstanceUid } },
      );
    }

    // Workers writing their first results at once would otherwise each create the Device.
    const device = await chartObservationLock.run(
      chartLockKey(this.#fhir.baseUrl, `Device|${deviceIdentifier(result.model).value ?? ''}`),
      () => upsertDevice(this.#fhir, result.model),
    );

    const identifier = resultIdentifier(input.studyInstanceUid, result.model);
    return chartObservationLock.run(chartLockKey(this.#fhir.baseUrl, identifier.value ?? ''), async () => {
      const existing = await this.#fhir.findByIdentifier('Observation', identifier);
      if (existing !== undefined) {
        checkSameSubject(existing, `Patient/${input.patientId}`, input.studyInstanceUid);
        if (isReviewed(existing))
          return { observationId: existing.id, activity: 'kept', deviceId: device.id };
      }

      const observation = buildObservation(result, {
        patientId: input.patientId,
        imagingStudyId: input.imagingStudyId,
        studyInstanceUid: input.studyInstanceUid,
        deviceId: device.id,
        issued: this.#now().toISOString(),
        ...(input.effectiveDateTime === undefined ? {} : { effectiveDateTime: input.effectiveDateTime }),
      });
      const written =
        existing === undefined
          ? await this.#fhir.create(observation)
          : await this.#fhir.update(existing.id, observation);
      const activity = existing === undefined ? 'create' : 'update';

      const provenance = buildProvenance({
        observationId: written.id,
        ...(written.versionId === undefined ? {} : { observationVersionId: written.versionId }),
        deviceId: device.id,
        imagingStudyId: input.imagingStudyId,
        activity,
        recorded: this.#now().toISOString(),
        occurred: result.provenance.computedAt,
      });
      const storedProvenance = await this.#fhir.create(provenance);

      return { observationId: written.id, activity, deviceId: device.id, provenanceId: storedProvenance.id };
    });
  }
}

/** Finds the Device of this software and model by its identifier, then replaces it or creates it. */
export async function upsertDevice(fhir: FhirRestClient, model: ModelReference): Promise<StoredVersion> {
  const existing = await fhir.findByIdentifier('Device', deviceIdentifier(model));
  const device = buildDevice(model);
  return existing === undefined ? fhir.create(device) : fhir.update(existing.id, device);
}

/** Returns true when a clinician recorded the Observation in the chart: its status is in {@link REVIEWED_STATUSES}. */
export function isReviewed(observation: MatchedResource): boolean {
  return observation.status !== undefined && REVIEWED_STATUSES.has(observation.status);
}

/**
 * Rejects replacing an Observation that belongs to another patient. The result identifier names
 * only the study and the model, so without this check a study linked to two patient records, or a
 * lost result store, would move a result from one chart to another.
 *
 * @throws Nqo1Error `ERR_PATIENT_CONFLICT` naming the Observation and the study.
 */
export function checkSameSubject(
  existing: MatchedResource,
  subjectReference: string,
  studyInstanceUid: string,
): void {
  if (existing.subjectReference === subjectReference) return;
  throw new Nqo1Error(
    'ERR_PATIENT_CONFLICT',
    `Observation ${existing.id} for study ${studyInstanceUid} already belongs to another patient record, so it was ` +
      'left unchanged. Hospital IT must check which patient the study belongs to before the analysis is rerun.',
    { details: { observationId: existing.id, studyInstanceUid } },
  );
}
