/**
 * Proof that a caller may see one imaging study: the service reads `ImagingStudy/{id}` from the
 * caller's FHIR server with the caller's own access token. Only a 200 whose body is that
 * ImagingStudy, with a DICOM Study Instance UID identifier and a Patient subject, proves access.
 * The study and the patient are then taken from that resource, never from the request.
 *
 * Limits, as for the hook's study search (`cds-services/nqo1-risk/fhir-studies.ts`): a deadline, a
 * byte cap on the body, and no redirects. The token is sent in the `Authorization` header of this one
 * request; it is never logged, stored or put in an error.
 *
 * @see https://hl7.org/fhir/R4/http.html#read
 */

import * as z from 'zod';

import { readStudyInstanceUid } from '../../cds-services/nqo1-risk/prefetch.js';
import { Nqo1Error } from '../errors.js';
import { readCapped, ResponseTooLargeError } from '../net/read-capped.js';

/** Maximum body size of the ImagingStudy, in bytes; the same cap as one page of the hook's study search. */
export const MAX_IMAGING_STUDY_BYTES = 4 * 1024 * 1024;

export interface ImagingStudyRead {
  /** FHIR base URL, already checked against the FHIR allowlist. */
  readonly fhirServer: URL;
  /** The caller's bearer token for `fhirServer`. */
  readonly accessToken: string;
  /** Logical id of the ImagingStudy, already checked to be a FHIR id. */
  readonly imagingStudyId: string;
  /** Deadline of the read, in milliseconds. */
  readonly timeoutMs: number;
  readonly maxBytes?: number;
}

/** The study that the caller proved access to. */
export interface AccessibleStudy {
  readonly imagingStudyId: string;
  readonly studyInstanceUid: string;
  /** Logical id of the Patient in the ImagingStudy's `subject`; never logged. */
  readonly patientId: string;
}

const imagingStudySchema = z.looseObject({
  resourceType: z.literal('ImagingStudy'),
  id: z.string(),
  subject: z.looseObject({ reference: z.string().optional() }).optional(),
  identifier: z
    .array(z.looseObject({ system: z.string().optional(), value: z.string().optional() }))
    .optional(),
});

/** A relative or absolute Patient reference, `Patient/<id>` or `<base>/Patient/<id>`. */
const PATIENT_REFERENCE = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})$/;

/**
 * Reads `GET {fhirServer}/ImagingStudy/{imagingStudyId}` with the caller's token.
 *
 * @throws Nqo1Error `ERR_FHIR_TOKEN_REJECTED` when the server responds with 401: it rejected the
 *   token itself, most often because it expired, so the user must launch the app again.
 * @throws Nqo1Error `ERR_FHIR_ACCESS_DENIED` when it responds with 403: the token is valid but does
 *   not grant read access to this ImagingStudy.
 * @throws Nqo1Error `ERR_NOT_FOUND` when it responds with 404 or 410.
 * @throws Nqo1Error `ERR_FHIR_FAILED` on another status, a redirect, a timeout (`details.timedOut`),
 *   a body over the cap, or a body that is not the requested ImagingStudy.
 * @throws Nqo1Error `ERR_REQUEST_INVALID` when the ImagingStudy has no Study Instance UID identifier
 *   or no Patient subject, so it cannot be analysed.
 */
export async function readAccessibleStudy(read: ImagingStudyRead): Promise<AccessibleStudy> {
  const base = read.fhirServer.href.replace(/\/+$/, '');
  const where = `${read.fhirServer.origin}${read.fhirServer.pathname.replace(/\/+$/, '')}/ImagingStudy/${read.imagingStudyId}`;
  const failed = (problem: string, details: Record<string, string | number | boolean>): Nqo1Error =>
    new Nqo1Error('ERR_FHIR_FAILED', `FHIR read of ${where} ${problem}; check the FHIR server.`, {
      details: { path: where, ...details },
    });

  const text = await fetchBody(
    new URL(`${base}/ImagingStudy/${encodeURIComponent(read.imagingStudyId)}`),
    read,
    where,
    failed,
  );

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw failed('returned a body that is not JSON', {});
  }
  const study = imagingStudySchema.safeParse(json);
  if (!study.success || study.data.id !== read.imagingStudyId) {
    throw failed('returned something other than the requested ImagingStudy', {});
  }

  const studyInstanceUid = readStudyInstanceUid(study.data);
  if (studyInstanceUid === undefined) {
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      `${where} has no identifier with system urn:dicom:uid holding a Study Instance UID, so its images ` +
        'cannot be found in the PACS; request a study that the PACS has sent to the EHR.',
      { details: { path: where } },
    );
  }
  const patientId = PATIENT_REFERENCE.exec(study.data.subject?.reference ?? '')?.[1];
  if (patientId === undefined) {
    throw new Nqo1Error(
      'ERR_REQUEST_INVALID',
      `${where} has no Patient subject; only a patient's imaging study can be analysed.`,
      { details: { path: where } },
    );
  }
  return { imagingStudyId: read.imagingStudyId, studyInstanceUid, patientId };
}

async function fetchBody(
  url: URL,
  read: ImagingStudyRead,
  where: string,
  failed: (problem: string, details: Record<string, string | number | boolean>) => Nqo1Error,
): Promise<string> {
  const maxBytes = read.maxBytes ?? MAX_IMAGING_STUDY_BYTES;
  try {
    const response = await fetch(url, {
      headers: { Accept: 'application/fhir+json', Authorization: `Bearer ${read.accessToken}` },
      redirect: 'error',
      signal: AbortSignal.timeout(read.timeoutMs),
    });
    if (response.status === 401) {
      await response.body?.cancel();
      throw new Nqo1Error(
        'ERR_FHIR_TOKEN_REJECTED',
        `The FHIR server answered HTTP 401 to a read of ${where}: it rejected the access token as expired ` +
          'or invalid; launch the app again from the EHR to get a new token.',
        { details: { path: where, status: response.status } },
      );
    }
    if (response.status === 403) {
      await response.body?.cancel();
      throw new Nqo1Error(
        'ERR_FHIR_ACCESS_DENIED',
        `The FHIR server answered HTTP ${response.status} to a read of ${where} with the access token sent; ` +
          'launch the app again to get a token that grants read access to this ImagingStudy.',
        { details: { path: where, status: response.status } },
      );
    }
    if (response.status === 404 || response.status === 410) {
      await response.body?.cancel();
      throw new Nqo1Error(
        'ERR_NOT_FOUND',
        `The FHIR server answered HTTP ${response.status}: ${where} does not exist; check imagingStudyId.`,
        { details: { path: where, status: response.status } },
      );
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw failed(`returned HTTP ${response.status}`, { status: response.status });
    }
    return await readCapped(response, maxBytes);
  } catch (error) {
    if (error instanceof Nqo1Error) throw error;
    if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
      throw failed(`timed out after ${read.timeoutMs} ms`, { timeoutMs: read.timeoutMs, timedOut: true });
    }
    if (error instanceof ResponseTooLargeError) {
      throw failed(`returned a body over ${maxBytes} bytes`, { maxBytes });
    }
    throw failed('failed without a usable HTTP response (connection error or redirect)', {
      error: error instanceof Error ? error.name : 'unknown',
    });
  }
}
