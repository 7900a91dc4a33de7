/**
 * Scopes the app requests, in SMART v2 form: the launch context and the user's identity (`openid
 * fhirUser`, which names the clinician of a record in the chart), read and search of the patient and
 * their imaging studies, and what "Record in chart" writes with the app's token: read, search, create
 * and update of the patient's Observations, create of a Provenance, read of the signed-in
 * Practitioner, and read, search and create of the Device that stands for this software.
 *
 * @see https://hl7.org/fhir/smart-app-launch/STU2/scopes-and-launch-context.html
 */
export const SMART_SCOPE =
  'launch launch/patient openid fhirUser patient/Patient.rs patient/ImagingStudy.rs ' +
  'patient/Observation.crus patient/Provenance.c user/Practitioner.r user/Device.crs';
