/**
 * "Record in chart": a clinician confirms a result, and the chart's Observation of it becomes
 * `final` (or `amended`, over an earlier final one), with a Provenance naming the clinician.
 *
 * The writes go to the FHIR server of the SMART launch with the clinician's own access token, so the
 * EHR decides whether this user may write to this patient's chart, and its audit names the user. The
 * Observation contains the values the service stored, never values sent by the browser.
 *
 * Nothing is duplicated. The Observation is found by the result identifier (`observation.ts`), the
 * same one the service's preliminary write-back uses, and is replaced in place with a version-aware
 * update (`If-Match`, FHIR R4 §3.1.0.5.3), so two clinicians recording at once cannot overwrite each
 * other unseen: the second gets `ERR_CHART_CHANGED`. A missing Observation (the write-back has not run
 * or is not configured) is created.
 *
 * LIMITATION: the clinician is the `fhirUser` of the launch's id_token as the app reports it. The
 * service checks that the token may read that Practitioner, not the id_token's signature, which would
 * need the EHR's OpenID Connect keys (`jwks_uri` of its SMART configuration) on the allowlist.
 *
 * @see https://hl7.org/fhir/R4/observation-definitions.html#Observation.status
 * @see https://hl7.org/fhir/R4/http.html#concurrency
 */
import type { Provenance } from '@medplum/fhirtypes';

import { Nqo1Error, isNqo1Error } from '../errors.js';
import type { ModelReference, ScoreResult } from '../model/result.js';
import { checkFhirId, type FhirRestClient, type StoredVersion } from './fhir-rest.js';
import { buildObservation, resultIdentifier } from './observation.js';
import {
  buildDevice,
  buildReviewProvenance,
  deviceIdentifier,
  type ClinicianReference,
} from './provenance.js';
import { checkSameSubject, isReviewed } from './write-back.js';

/** `Practitioner/<id>` or `PractitionerRole/<id>`, the clinician types that an Observation's performer allows. */
const CLINICIAN_REFERENCE = /^(Practitioner|PractitionerRole)\/([A-Za-z0-9\-.]{1,64})$/;

export interface ChartRecordInput {
  readonly result: ScoreResult;
  readonly patientId: string;
  readonly imagingStudyId: string;
  readonly studyInstanceUid: string;
  /** CT acquisition time, when known; see `ObservationContext.effectiveDateTime`. */
  readonly effectiveDateTime?: string;
  /** The SMART `fhirUser` of the clinician, e.g. `Practitioner/123`. */
  readonly clinicianReference: string;
  /**
   * The latest record of this analysis, when there is one. While the chart still contains exactly that
   * Observation version and the same clinician records again, nothing is written: a repeated click,
   * a retry or a second tab does not mark an unchanged result amended.
   */
  readonly previousRecord?: {
    readonly observationId: string;
    readonly observationVersionId?: string;
    readonly clinicianReference: string;
  };
}

/** A record that found the chart as the same clinician's previous record of the analysis left it. */
export interface UnchangedRecord {
  readonly activity: 'unchanged';
}

/** The resources one record wrote. */
export interface ChartRecordOutcome {
  readonly observationId: string;
  readonly observationVersionId?: string;
  readonly status: 'final' | 'amended';
  /** `create` when no Observation of the result existed yet. */
  readonly activity: 'create' | 'update';
  readonly provenanceId: string;
  readonly clinician: ClinicianReference;
  /** ISO 8601 time of the record. */
  readonly recordedAt: string;
}

/**
 * Records `input.result` in the chart as confirmed by the clinician.
 *
 * @throws Nqo1Error `ERR_REQUEST_INVALID` for a clinician reference that is not a Practitioner or
 *   PractitionerRole, or ids that are not FHIR ids.
 * @throws Nqo1Error `ERR_RESULT_NOT_RECORDABLE` when the result has no probability.
 * @throws Nqo1Error `ERR_CHART_WRITE_REFUSED` when the FHIR server rejects the token (401, 403), and
 *   `ERR_CHART_CHANGED` when the Observation changed during the record (412).
 * @throws Nqo1Error `ERR_PATIENT_CONFLICT` when the Observation belongs to another patient.
 * @throws Nqo1Error `ERR_FHIR_FAILED` or `ERR_FHIR_REJECTED` for other failures of the FHIR server.
 */
export async function recordInChart(
  fhir: FhirRestClient,
  input: ChartRecordInput,
  now: () => Date = () => new Date(),
): Promise<ChartRecordOutcome | UnchangedRecord> {
  checkFhirId(input.patientId, 'Patient');
  checkFhirId(input.imagingStudyId, 'ImagingStudy');
  checkRecordable(input.result);
  const clinicianReference = parseClinicianReference(input.clinicianReference);

  return asChartRefusal(async (): Promise<ChartRecordOutcome | UnchangedRecord> => {
    const identifier = resultIdentifier(input.studyInstanceUid, input.result.model);
    const existing = await fhir.findByIdentifier('Observation', identifier);
    if (existing !== undefined)
      checkSameSubject(existing, `Patient/${input.patientId}`, input.studyInstanceUid);
    const previous = input.previousRecord;
    if (
      existing !== undefined &&
      previous !== undefined &&
      isReviewed(existing) &&
      existing.id === previous.observationId &&
      existing.versionId !== undefined &&
      existing.versionId === previous.observationVersionId &&
      clinicianReference === previous.clinicianReference
    ) {
      return { activity: 'unchanged' };
    }

    const clinician = await readClinician(fhir, clinicianReference);
    const status = existing !== undefined && isReviewed(existing) ? 'amended' : 'final';

    const deviceId =
      deviceIdOf(existing?.deviceReference) ?? (await findOrCreateDevice(fhir, input.result.model));
    const recordedAt = now().toISOString();
    const observation = buildObservation(input.result, {
      patientId: input.patientId,
      imagingStudyId: input.imagingStudyId,
      studyInstanceUid: input.studyInstanceUid,
      deviceId,
      issued: recordedAt,
      ...(input.effectiveDateTime === undefined ? {} : { effectiveDateTime: input.effectiveDateTime }),
      review: { status, performer: clinician },
    });

    const written: StoredVersion =
      existing === undefined
        ? await fhir.create(observation)
        : await updateUnlessChanged(fhir, existing.id, observation, existing.versionId);

    const recorded: Omit<ChartRecordOutcome, 'provenanceId'> = {
      observationId: written.id,
      ...(written.versionId === undefined ? {} : { observationVersionId: written.versionId }),
      status,
      activity: existing === undefined ? 'create' : 'update',
      clinician,
      recordedAt,
    };
    const provenance = await createProvenanceAfter(
      fhir,
      recorded,
      buildReviewProvenance({
        observationId: written.id,
        ...(written.versionId === undefined ? {} : { observationVersionId: written.versionId }),
        ...(existing?.versionId === undefined ? {} : { replacedVersionId: existing.versionId }),
        deviceId,
        imagingStudyId: input.imagingStudyId,
        clinician,
        activity: existing === undefined ? 'create' : 'update',
        recorded: recordedAt,
      }),
    );

    return { ...recorded, provenanceId: provenance.id };
  });
}

/**
 * `ERR_CHART_PROVENANCE_FAILED`: the Observation of a record was written, but its Provenance was not.
 * `written` is what the chart contains now, so the caller can keep the record.
 */
export class ProvenanceFailedError extends Nqo1Error {
  readonly written: Omit<ChartRecordOutcome, 'provenanceId'>;

  constructor(written: Omit<ChartRecordOutcome, 'provenanceId'>, cause: Nqo1Error) {
    super(
      'ERR_CHART_PROVENANCE_FAILED',
      `Observation ${written.observationId} was recorded in the chart as ${written.status}, but its ` +
        `Provenance was not: ${cause.message} Record the result again to add the Provenance.`,
      { cause, details: { observationId: written.observationId, status: written.status } },
    );
    this.written = written;
  }
}

/**
 * Creates the Provenance of a record whose Observation is written already; a failure becomes a
 * {@link ProvenanceFailedError}. A new record adds the missing Provenance and marks the Observation
 * amended.
 *
 * LIMITATION: the Observation and its Provenance are two requests, not one FHIR transaction, because
 * not every EHR's FHIR server accepts transaction Bundles from apps. A failure between them leaves a
 * final Observation without the Provenance of its record until the user records again.
 */
async function createProvenanceAfter(
  fhir: FhirRestClient,
  written: Omit<ChartRecordOutcome, 'provenanceId'>,
  provenance: Provenance,
): Promise<StoredVersion> {
  try {
    return await fhir.create(provenance);
  } catch (error) {
    if (!isNqo1Error(error)) throw error;
    throw new ProvenanceFailedError(written, error);
  }
}

/**
 * Rejects a result without a probability (the card is uncalibrated or lacks coefficients), because it
 * gives a clinician nothing to confirm as final.
 */
function checkRecordable(result: ScoreResult): void {
  if (result.probability !== null) return;
  throw new Nqo1Error(
    'ERR_RESULT_NOT_RECORDABLE',
    `The result has no probability (${result.probabilityUnavailableReason ?? 'not computed'}), so it cannot be ` +
      'recorded in the chart as final; calibrate the model card for this site, rerun the analysis, then record it.',
    { details: { reason: result.probabilityUnavailableReason } },
  );
}

/**
 * Returns the validated clinician reference.
 *
 * @throws Nqo1Error `ERR_REQUEST_INVALID` naming the expected form.
 */
function parseClinicianReference(reference: string): string {
  if (CLINICIAN_REFERENCE.test(reference)) return reference;
  throw new Nqo1Error(
    'ERR_REQUEST_INVALID',
    'The clinician is not a Practitioner or PractitionerRole reference such as ' +
      'Practitioner/123. Only a clinician signed in to the EHR can record a result; launch the app with the ' +
      'openid and fhirUser scopes.',
  );
}

/**
 * Reads the clinician with the caller's token and returns the reference with the name the server holds.
 *
 * @throws Nqo1Error `ERR_REQUEST_INVALID` when the FHIR server has no such resource (404, 410).
 */
async function readClinician(fhir: FhirRestClient, reference: string): Promise<ClinicianReference> {
  const [resourceType, id] = reference.split('/') as [string, string];
  let resource: Record<string, unknown>;
  try {
    resource = await fhir.read(resourceType, id);
  } catch (error) {
    const status = isNqo1Error(error, 'ERR_FHIR_REJECTED') ? error.details.status : undefined;
    if (status !== 404 && status !== 410) throw error;
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      `The FHIR server has no ${reference}, the user the app was launched for, so the record cannot name ` +
        'who confirmed the result. Launch the app again from the EHR; if this repeats, the EHR sends a fhirUser ' +
        'that its FHIR server does not hold.',
      { details: { status } },
    );
  }
  const display = displayName(resource);
  return display === undefined ? { reference } : { reference, display };
}

/**
 * Returns a person's name for display: `HumanName.text`, else the given names and the family name.
 * A PractitionerRole has no name, so its display stays empty.
 */
function displayName(resource: Record<string, unknown>): string | undefined {
  const names = resource.name;
  if (!Array.isArray(names)) return undefined;
  const name = names[0] as { text?: unknown; given?: unknown; family?: unknown } | undefined;
  if (name === undefined) return undefined;
  if (typeof name.text === 'string' && name.text.trim() !== '') return name.text.trim();
  const given = Array.isArray(name.given) ? name.given.filter((part) => typeof part === 'string') : [];
  const parts = [...given, ...(typeof name.family === 'string' ? [name.family] : [])];
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/**
 * Returns the id of this software's Device, creating it when the server has none. An existing Device
 * is left as it is: the service's write-back keeps it current, and the clinician's token may create
 * it but need not update it.
 */
async function findOrCreateDevice(fhir: FhirRestClient, model: ModelReference): Promise<string> {
  const existing = await fhir.findByIdentifier('Device', deviceIdentifier(model));
  return existing?.id ?? (await fhir.create(buildDevice(model))).id;
}

/** Returns the id of a `Device/<id>` reference, or undefined for any other reference. */
function deviceIdOf(reference: string | undefined): string | undefined {
  const match = reference === undefined ? null : /^Device\/([A-Za-z0-9\-.]{1,64})$/.exec(reference);
  return match?.[1];
}

/** Replaces the Observation only while `versionId` is current; a 412 becomes `ERR_CHART_CHANGED`. */
async function updateUnlessChanged(
  fhir: FhirRestClient,
  id: string,
  observation: Parameters<FhirRestClient['update']>[1],
  versionId: string | undefined,
): Promise<StoredVersion> {
  try {
    return await fhir.update(id, observation, versionId);
  } catch (error) {
    if (isNqo1Error(error, 'ERR_FHIR_FAILED') && error.details.status === 412) {
      throw new Nqo1Error(
        'ERR_CHART_CHANGED',
        `Observation ${id} changed in the chart while the result was being recorded, so nothing was written. ` +
          'Reload the app to see the current chart, then record again.',
        { details: { observationId: id } },
      );
    }
    throw error;
  }
}

/**
 * Turns the FHIR server's rejection of the clinician's token into `ERR_FHIR_TOKEN_REJECTED` (401: the
 * token expired or is invalid) or `ERR_CHART_WRITE_REFUSED` (403: it does not grant the write). Both
 * name what the user can do. Other errors pass unchanged.
 */
async function asChartRefusal<T>(record: () => Promise<T>): Promise<T> {
  try {
    return await record();
  } catch (error) {
    const status = isNqo1Error(error, 'ERR_FHIR_REJECTED') ? error.details.status : undefined;
    if (status === 401) {
      throw new Nqo1Error(
        'ERR_FHIR_TOKEN_REJECTED',
        'The FHIR server answered HTTP 401 while the result was being recorded: it rejected the access token ' +
          'as expired or invalid. Launch the app again from the EHR, then record again.',
        { cause: error, details: { status } },
      );
    }
    if (status === 403) {
      throw new Nqo1Error(
        'ERR_CHART_WRITE_REFUSED',
        `The FHIR server refused the record with HTTP ${status}: this user or the app's authorisation may not ` +
          "write this patient's Observations and Provenance. Ask the EHR administrator for write access, or " +
          'launch the app again if the session ended.',
        { cause: error, details: { status } },
      );
    }
    throw error;
  }
}
