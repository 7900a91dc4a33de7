/**
 * The base-URL allowlist. A URL from configuration or from a hook request (`fhirServer`) is used only
 * when it lies under one of the configured base URLs, so a request can never make the service fetch
 * an arbitrary address.
 */

/**
 * Returns true when `candidate` has the same scheme, host and port as one of `allowedBaseUrls` and
 * its path equals that base path or continues it after a `/`. `http://a/fhir` allows
 * `http://a/fhir/Patient` but not `http://a/fhirx` or `https://a/fhir`. Query and fragment are
 * ignored; an unparsable candidate is never allowed.
 */
export function isUrlAllowed(candidate: string, allowedBaseUrls: readonly string[]): boolean {
  const url = URL.canParse(candidate) ? new URL(candidate) : undefined;
  if (url === undefined || url.username !== '' || url.password !== '') return false;

  return allowedBaseUrls.some((base) => {
    if (!URL.canParse(base)) return false;
    const allowed = new URL(base);
    if (allowed.origin !== url.origin) return false;

    const basePath = allowed.pathname.replace(/\/+$/, '');
    return (
      url.pathname === basePath || url.pathname === `${basePath}/` || url.pathname.startsWith(`${basePath}/`)
    );
  });
}
