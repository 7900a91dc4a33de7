/**
 * The imaging study a launch names without an analysis id, for a radiology viewer's launch:
 * - an ImagingStudy in the token response's `fhirContext` (SMART App Launch 2.0), as a reference
 *   `{ reference: 'ImagingStudy/123' }`, or as a FHIR logical reference `{ type: 'ImagingStudy',
 *   identifier }` whose identifier is the DICOM Study Instance UID;
 * - a `studyInstanceUid` query parameter of `launch.html`, which a viewer button adds. `launch.html`
 *   keeps it in `sessionStorage` across the redirect to the authorization server, because that
 *   server returns to `index.html` with its own query only.
 *
 * @see https://hl7.org/fhir/smart-app-launch/STU2/scopes-and-launch-context.html#fhircontext
 */

/** `sessionStorage` key of the Study Instance UID passed to `launch.html`. */
const STUDY_UID_KEY = 'nqo1-cds.studyInstanceUid';

/** A DICOM UID (PS3.5 §9.1): dot-separated numeric components, at most 64 characters. */
const DICOM_UID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/;

/** Identifier system of a DICOM UID in FHIR; the value is `urn:oid:<uid>`. */
const DICOM_UID_SYSTEM = 'urn:dicom:uid';

/** A relative `ImagingStudy/<id>` reference, with the FHIR logical id captured. */
const IMAGING_STUDY_REFERENCE = /^ImagingStudy\/([A-Za-z0-9\-.]{1,64})$/;

/** The study a launch names: an ImagingStudy of the FHIR server, or a DICOM Study Instance UID. */
export type LaunchStudy = { readonly imagingStudy: string } | { readonly studyInstanceUid: string };

/** Returns the UID without `urn:oid:` when it is a DICOM UID, else undefined. */
export function dicomUid(value: string | null | undefined): string | undefined {
  const uid = value?.replace(/^urn:oid:/, '');
  return uid !== undefined && uid.length <= 64 && DICOM_UID.test(uid) ? uid : undefined;
}

/**
 * Stores the `studyInstanceUid` query parameter of `launch.html` for `index.html`. When the parameter
 * is absent or not a DICOM UID, it removes the one stored by an earlier launch in this tab.
 */
export function rememberLaunchStudyUid(query: URLSearchParams): void {
  const uid = dicomUid(query.get('studyInstanceUid'));
  if (uid === undefined) sessionStorage.removeItem(STUDY_UID_KEY);
  else sessionStorage.setItem(STUDY_UID_KEY, uid);
}

/**
 * Returns the study of the launch: the first ImagingStudy of `fhirContext`, else the UID stored by
 * `launch.html`, else undefined. An absolute reference counts only below `fhirServer`, because
 * the service reads the study from that server.
 */
export function launchStudy(fhirContext: unknown, fhirServer: string): LaunchStudy | undefined {
  const items = Array.isArray(fhirContext) ? (fhirContext as unknown[]) : [];
  for (let i = 0; i < items.length; i++) {
    const study = studyOfContextItem(items[i], fhirServer);
    if (study !== undefined) return study;
  }

  const storedUid = dicomUid(sessionStorage.getItem(STUDY_UID_KEY));
  return storedUid === undefined ? undefined : { studyInstanceUid: storedUid };
}

function studyOfContextItem(item: unknown, fhirServer: string): LaunchStudy | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const { reference, type, identifier } = item as {
    reference?: unknown;
    type?: unknown;
    identifier?: unknown;
  };

  if (typeof reference === 'string') {
    const base = `${fhirServer.replace(/\/+$/, '')}/`;
    const relative = reference.startsWith(base) ? reference.slice(base.length) : reference;
    const id = IMAGING_STUDY_REFERENCE.exec(relative)?.[1];
    return id === undefined ? undefined : { imagingStudy: `ImagingStudy/${id}` };
  }

  if (type === 'ImagingStudy' && typeof identifier === 'object' && identifier !== null) {
    const { system, value } = identifier as { system?: unknown; value?: unknown };
    const uid = system === DICOM_UID_SYSTEM && typeof value === 'string' ? dicomUid(value) : undefined;
    return uid === undefined ? undefined : { studyInstanceUid: uid };
  }
  return undefined;
}
