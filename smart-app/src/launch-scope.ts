/**
 * Scopes the app requests, in SMART v2 form: the launch context and the user's identity (`openid
 * fhirUser`, which names the clinician of a record in the chart), read and search of the patient and
 * their imaging studies, and what "Record in chart" writes with the app's token: read, search, create
 * and update of the patient's Observations, create of a Provenance, read of the signed-in
 * Practitioner, and read, search and create of the Device that stands for this software.
 *
 * @see https://hl7.org/fhir/smart-app-launch/STU2/scopes-and-launch-context.html
 */
export const SMART_SCOPE = `launch launch/patient ${resourceScopes()}`;

/**
 * Scopes of a standalone launch: those of {@link SMART_SCOPE} without `launch`, which only an EHR
 * launch with a `launch` id may request. `launch/patient` requests that the authorization server
 * have the user pick the patient.
 *
 * @see https://hl7.org/fhir/smart-app-launch/STU2/scopes-and-launch-context.html#launch-context-arrives-with-your-access_token
 */
export const STANDALONE_SCOPE = `launch/patient ${resourceScopes()}`;

/** Returns the identity and resource scopes that both launches request. */
function resourceScopes(): string {
  return (
    'openid fhirUser patient/Patient.rs patient/ImagingStudy.rs patient/Observation.crus ' +
    'patient/Provenance.c user/Practitioner.r user/Device.crs'
  );
}
