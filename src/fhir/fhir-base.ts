/**
 * Identity of a FHIR server by its base URL. Logical ids such as `Patient/123` mean something only
 * together with the server that issued them, so each stored analysis keeps the base its ids came
 * from, and every route compares bases before it trusts an id.
 */

/**
 * Returns the comparable form of a FHIR base URL: origin and path, without a trailing slash, as the
 * WHATWG URL parser normalises them (lower-case scheme and host, no default port).
 *
 * @throws TypeError for a string that is not a URL; callers pass allowlisted bases only.
 */
export function fhirBaseKey(baseUrl: string): string {
  const url = new URL(baseUrl);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** Returns true when both URLs name the same FHIR base. */
export function sameFhirBase(a: string, b: string): boolean {
  return fhirBaseKey(a) === fhirBaseKey(b);
}

/**
 * Returns the FHIR base of a stored analysis: the one its job recorded, or `defaultBaseUrl`
 * (`fhir.baseUrl`) for a job stored before analyses recorded it.
 */
export function analysisFhirBase(job: { readonly fhirServer?: string }, defaultBaseUrl: string): string {
  return job.fhirServer ?? defaultBaseUrl;
}
