/**
 * Scopes the app requests, in SMART v2 form: the launch context, the user's identity, read and search
 * of the patient and their imaging studies, and all operations on Observations, which "Record in
 * chart" needs.
 *
 * @see https://hl7.org/fhir/smart-app-launch/STU2/scopes-and-launch-context.html
 */
export const SMART_SCOPE =
  'launch launch/patient openid fhirUser patient/Patient.rs patient/ImagingStudy.rs patient/Observation.cruds';

/**
 * Scopes of a standalone launch: those of {@link SMART_SCOPE} without `launch`, which only an EHR
 * launch with a `launch` id may request. `launch/patient` requests that the authorization server
 * have the user pick the patient.
 *
 * @see https://hl7.org/fhir/smart-app-launch/STU2/scopes-and-launch-context.html#launch-context-arrives-with-your-access_token
 */
export const STANDALONE_SCOPE =
  'launch/patient openid fhirUser patient/Patient.rs patient/ImagingStudy.rs patient/Observation.cruds';
