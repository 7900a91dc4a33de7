/**
 * Builds the FHIR R4 Observation that records one BR-RO result in the chart.
 *
 * Shape (FHIR R4 Observation, https://hl7.org/fhir/R4/observation.html):
 *  - `status` preliminary, because the result is a model estimate that no clinician has reviewed, or
 *    final (amended) with the clinician as `performer` once one recorded it in the chart;
 *  - `category` imaging, `code` from the product code system;
 *  - `valueQuantity` the probability of high NQO1 expression (UCUM unit `1`), or, when the card
 *    cannot give a probability, no value and `dataAbsentReason` with a note that explains why;
 *  - `interpretation` H or L by the predicted class at the card's threshold;
 *  - one `component` per model feature, coded by the feature's name in the product code system;
 *  - `derivedFrom` the ImagingStudy, `device` the software Device, `method` and `note` the model
 *    and the series, segmentation and spacing the features were computed on;
 *  - `identifier` `<StudyInstanceUID>:<model id>:<model version>`, so that a rerun finds and
 *    updates the same Observation instead of adding another.
 */
import type {
  CodeableConcept,
  Identifier,
  Observation,
  ObservationComponent,
  Practitioner,
  PractitionerRole,
  Quantity,
  Reference,
} from '@medplum/fhirtypes';

import type { ModelReference, ScoreResult } from '../model/result.js';
import { HL7, PRODUCT_CODE_SYSTEM, RESULT_CODE, RESULT_ID_SYSTEM, UCUM_SYSTEM } from './codes.js';

/** The chart context of a result: whose it is, which study and which Device made it. */
export interface ObservationContext {
  /** Logical id of the FHIR Patient. */
  readonly patientId: string;
  /** Logical id of the FHIR ImagingStudy the features were computed from. */
  readonly imagingStudyId: string;
  /** DICOM Study Instance UID, part of the result identifier. */
  readonly studyInstanceUid: string;
  /** Logical id of the Device resource of this software version. */
  readonly deviceId: string;
  /**
   * Clinically relevant time of the result (FHIR `effectiveDateTime`): the CT acquisition time when
   * known, otherwise the time the features were computed.
   */
  readonly effectiveDateTime?: string;
  /** Time the Observation is made available (FHIR `issued`), ISO 8601 with time zone. */
  readonly issued: string;
  /**
   * The review a clinician gave by recording the result in the chart (`chart-record.ts`): the status
   * `final` (or `amended` over an earlier final one) and the clinician as `performer`. Without it
   * the Observation is `preliminary`.
   */
  readonly review?: {
    readonly status: 'final' | 'amended';
    readonly performer: Reference<Practitioner | PractitionerRole>;
  };
}

/** Returns the identifier that makes a result unique: one per study, model and model version. */
export function resultIdentifier(studyInstanceUid: string, model: ModelReference): Identifier {
  return { system: RESULT_ID_SYSTEM, value: `${studyInstanceUid}:${model.id}:${model.version}` };
}

/**
 * Builds the Observation of `result`. The builder is pure: it neither reads the clock nor
 * assigns an id.
 */
export function buildObservation(result: ScoreResult, context: ObservationContext): Observation {
  const observation: Observation = {
    resourceType: 'Observation',
    identifier: [resultIdentifier(context.studyInstanceUid, result.model)],
    status: context.review?.status ?? 'preliminary',
    category: [{ coding: [{ system: HL7.observationCategory, code: 'imaging', display: 'Imaging' }] }],
    code: resultCode(),
    subject: { reference: `Patient/${context.patientId}` },
    effectiveDateTime: context.effectiveDateTime ?? result.provenance.computedAt,
    issued: context.issued,
    derivedFrom: [{ reference: `ImagingStudy/${context.imagingStudyId}` }],
    device: { reference: `Device/${context.deviceId}` },
    ...(context.review === undefined ? {} : { performer: [context.review.performer] }),
    method: { text: methodText(result) },
    component: Object.entries(result.features).map(([name, value]) => featureComponent(name, value)),
    note: [{ text: inputsNote(result) }],
  };

  if (result.probability === null) {
    observation.dataAbsentReason = {
      coding: [{ system: HL7.dataAbsentReason, code: 'unsupported', display: 'Unsupported' }],
      text: unavailableText(result),
    };
    observation.note?.unshift({ text: unavailableText(result) });
    return observation;
  }

  observation.valueQuantity = probabilityQuantity(result.probability);
  observation.referenceRange = [
    {
      high: probabilityQuantity(result.threshold),
      text: `High NQO1 expression is predicted at a probability of ${result.threshold} or more (model threshold).`,
    },
  ];
  if (result.class !== null) observation.interpretation = [interpretation(result.class)];
  return observation;
}

/** Returns the Observation code: the BR-RO probability of high NQO1 expression. */
export function resultCode(): CodeableConcept {
  return {
    coding: [
      {
        system: PRODUCT_CODE_SYSTEM,
        code: RESULT_CODE,
        display: 'Probability of high NQO1 expression (BR-RO CT radiomics model)',
      },
    ],
    text: 'NQO1 expression, high: probability (CT radiomics)',
  };
}

function probabilityQuantity(value: number): Quantity {
  return { value, unit: '1', system: UCUM_SYSTEM, code: '1' };
}

function interpretation(predicted: 'high' | 'low'): CodeableConcept {
  return predicted === 'high'
    ? {
        coding: [{ system: HL7.interpretation, code: 'H', display: 'High' }],
        text: 'NQO1 expression likely high',
      }
    : {
        coding: [{ system: HL7.interpretation, code: 'L', display: 'Low' }],
        text: 'NQO1 expression likely low',
      };
}

/**
 * Builds one feature's component. Feature values carry no unit here because most radiomics features
 * are dimensionless and the result does not record the units of the others (shape features in mm,
 * energy in HU²). A non-finite value, which FHIR decimals cannot hold, becomes a data-absent reason.
 */
function featureComponent(name: string, value: number): ObservationComponent {
  const code: CodeableConcept = {
    coding: [{ system: PRODUCT_CODE_SYSTEM, code: name, display: name }],
    text: name,
  };
  if (Number.isFinite(value)) return { code, valueQuantity: { value } };
  return {
    code,
    dataAbsentReason: {
      coding: [
        {
          system: HL7.dataAbsentReason,
          code: nonFiniteReason(value),
        },
      ],
    },
  };
}

function nonFiniteReason(value: number): string {
  if (Number.isNaN(value)) return 'not-a-number';
  return value > 0 ? 'positive-infinity' : 'negative-infinity';
}

function methodText(result: ScoreResult): string {
  const { provenance } = result;
  return (
    `CT radiomics logistic model ${result.model.id} version ${result.model.version} ` +
    `(${Object.keys(result.features).length} features on the tumour and on the tumour dilated by ${provenance.dilationMm} mm), ` +
    `feature engine ${provenance.engineVersion}.`
  );
}

function inputsNote(result: ScoreResult): string {
  const { provenance } = result;
  const spacing = provenance.spacingMm.map((value) => value.toString()).join(' × ');
  return (
    `Computed ${provenance.computedAt} from CT series ${provenance.seriesInstanceUid ?? 'unknown'} ` +
    `and segmentation ${provenance.segmentationInstanceUid ?? 'not from DICOM SEG'}; ` +
    `voxel spacing ${spacing} mm; tumour ${provenance.tumourVoxelCount} voxels, ` +
    `peritumoral region ${provenance.periVoxelCount} voxels; settings ${JSON.stringify(provenance.settings)}.`
  );
}

function unavailableText(result: ScoreResult): string {
  switch (result.probabilityUnavailableReason) {
    case 'uncalibrated':
      return (
        'No probability: the model card has no feature scaling yet. The published coefficients apply to ' +
        'scaled features, so the site must calibrate the card on its own cohort before a probability can be computed.'
      );
    case 'coefficients-missing':
      return 'No probability: the model card lacks a coefficient for at least one feature.';
    case null:
      return 'No probability was computed.';
  }
}
