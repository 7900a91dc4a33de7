/**
 * Builds the Device that stands for this software and the Provenance of each written result.
 *
 * @see https://hl7.org/fhir/R4/device.html and https://hl7.org/fhir/R4/provenance.html
 */
import type { Device, Identifier, Provenance } from '@medplum/fhirtypes';

import type { ModelReference } from '../model/result.js';
import { ENGINE_VERSION, PRODUCT_NAME } from '../version.js';
import { DEVICE_ID_SYSTEM, HL7 } from './codes.js';

/**
 * Returns the identifier of the Device: one per engine version, model and model version, so a
 * result always points at the exact software and card that produced it.
 */
export function deviceIdentifier(model: ModelReference): Identifier {
  return { system: DEVICE_ID_SYSTEM, value: `${ENGINE_VERSION}:${model.id}:${model.version}` };
}

/** Builds the Device resource of this software version running the given model card. */
export function buildDevice(model: ModelReference): Device {
  return {
    resourceType: 'Device',
    identifier: [deviceIdentifier(model)],
    status: 'active',
    deviceName: [
      { name: PRODUCT_NAME, type: 'manufacturer-name' },
      { name: `${PRODUCT_NAME} ${model.id}`, type: 'model-name' },
    ],
    type: { text: 'Clinical decision support software (CT radiomics)' },
    version: [
      { type: { text: 'software' }, value: ENGINE_VERSION },
      { type: { text: `model card ${model.id}` }, value: model.version },
    ],
  };
}

export interface ProvenanceInput {
  /** Logical id of the Observation written. */
  readonly observationId: string;
  /** Version id of the Observation written, when the server returned one. */
  readonly observationVersionId?: string;
  readonly deviceId: string;
  readonly imagingStudyId: string;
  /** Whether the write created the Observation or updated an earlier one. */
  readonly activity: 'create' | 'update';
  /** Time of the write (FHIR `recorded`), ISO 8601 with time zone. */
  readonly recorded: string;
  /** Time the features were computed (FHIR `occurredDateTime`). */
  readonly occurred: string;
}

/** Builds the Provenance of one Observation write: the Device made it from the ImagingStudy. */
export function buildProvenance(input: ProvenanceInput): Provenance {
  return {
    resourceType: 'Provenance',
    target: [{ reference: versionedReference(input.observationId, input.observationVersionId) }],
    occurredDateTime: input.occurred,
    recorded: input.recorded,
    activity: { coding: [dataOperation(input.activity)] },
    agent: [
      {
        type: {
          coding: [{ system: HL7.provenanceParticipantType, code: 'performer', display: 'Performer' }],
        },
        who: { reference: `Device/${input.deviceId}` },
      },
    ],
    entity: [{ role: 'source', what: { reference: `ImagingStudy/${input.imagingStudyId}` } }],
  };
}

/** The clinician who recorded a result in the chart, as a FHIR reference. */
export interface ClinicianReference {
  /** `Practitioner/<id>` or `PractitionerRole/<id>`: the SMART `fhirUser` of a clinician. */
  readonly reference: string;
  /** The clinician's name as the FHIR server stores it, when it has one. */
  readonly display?: string;
}

export interface ReviewProvenanceInput {
  readonly observationId: string;
  /** Version id of the Observation the clinician recorded, when the server returned one. */
  readonly observationVersionId?: string;
  /** Version id of the Observation the record replaced, when it replaced one. */
  readonly replacedVersionId?: string;
  readonly deviceId: string;
  readonly imagingStudyId: string;
  readonly clinician: ClinicianReference;
  readonly activity: 'create' | 'update';
  /** Time of the record (FHIR `recorded` and `occurredDateTime`), ISO 8601 with time zone. */
  readonly recorded: string;
}

/**
 * Builds the Provenance of a clinician's record in the chart: the clinician is the `verifier` who
 * confirmed the result, and the Device stays its `performer`. The ImagingStudy is the `source`, and the
 * replaced version of the Observation, when there was one, a `revision` entity.
 */
export function buildReviewProvenance(input: ReviewProvenanceInput): Provenance {
  const entity: NonNullable<Provenance['entity']> = [
    { role: 'source', what: { reference: `ImagingStudy/${input.imagingStudyId}` } },
  ];
  if (input.replacedVersionId !== undefined) {
    entity.push({
      role: 'revision',
      what: { reference: `Observation/${input.observationId}/_history/${input.replacedVersionId}` },
    });
  }

  return {
    resourceType: 'Provenance',
    target: [{ reference: versionedReference(input.observationId, input.observationVersionId) }],
    occurredDateTime: input.recorded,
    recorded: input.recorded,
    activity: { coding: [dataOperation(input.activity)] },
    agent: [
      {
        type: {
          coding: [{ system: HL7.provenanceParticipantType, code: 'verifier', display: 'Verifier' }],
        },
        who: {
          reference: input.clinician.reference,
          ...(input.clinician.display === undefined ? {} : { display: input.clinician.display }),
        },
      },
      {
        type: {
          coding: [{ system: HL7.provenanceParticipantType, code: 'performer', display: 'Performer' }],
        },
        who: { reference: `Device/${input.deviceId}` },
      },
    ],
    entity,
  };
}

function versionedReference(observationId: string, versionId: string | undefined): string {
  return versionId === undefined
    ? `Observation/${observationId}`
    : `Observation/${observationId}/_history/${versionId}`;
}

function dataOperation(activity: 'create' | 'update'): { system: string; code: string; display: string } {
  return activity === 'create'
    ? { system: HL7.dataOperation, code: 'CREATE', display: 'create' }
    : { system: HL7.dataOperation, code: 'UPDATE', display: 'revise' };
}
