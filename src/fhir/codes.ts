/**
 * Code systems and identifier systems of the FHIR resources NQO1 CDS writes.
 *
 * The product's own URLs live under `http://nqo1-cds.example/`. They are placeholders until the
 * product has a published canonical domain. Change them here only, because stored Observations
 * are matched by these systems on every rerun.
 */

/** Base of every product-owned canonical URL. */
export const PRODUCT_CANONICAL_BASE = 'http://nqo1-cds.example';

/** The product's code system for result and feature codes. */
export const PRODUCT_CODE_SYSTEM = `${PRODUCT_CANONICAL_BASE}/fhir/CodeSystem/nqo1-cds`;

/**
 * Identifier system of a result: value `<StudyInstanceUID>:<model id>:<model version>`. The parts
 * are joined by `:` rather than `|`, because `|` separates system and value in FHIR token search and
 * servers differ in how they treat an escaped `\|` inside a value (the medplum 4.5 repository matches
 * nothing).
 */
export const RESULT_ID_SYSTEM = `${PRODUCT_CANONICAL_BASE}/result-id`;

/** Identifier system of the software Device: value `<engine version>:<model id>:<model version>`. */
export const DEVICE_ID_SYSTEM = `${PRODUCT_CANONICAL_BASE}/device-id`;

/** Code of the Observation that carries the BR-RO probability of high NQO1 expression. */
export const RESULT_CODE = 'br-ro-nqo1-high-probability';

/** HL7 terminology used by the resources (FHIR R4, terminology.hl7.org). */
export const HL7 = {
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  interpretation: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation',
  dataAbsentReason: 'http://terminology.hl7.org/CodeSystem/data-absent-reason',
  provenanceParticipantType: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
  dataOperation: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation',
} as const;

/** UCUM, the unit system of Quantity values; unit `1` is a dimensionless ratio such as a probability. */
export const UCUM_SYSTEM = 'http://unitsofmeasure.org';
