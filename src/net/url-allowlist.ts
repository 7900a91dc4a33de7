/**
 * The allowlist of server base URLs (DICOMweb, FHIR) that NQO1 CDS may connect to.
 *
 * A base URL is allowed when an allowlist entry has exactly the same origin (scheme, host and port)
 * and the URL's path equals the entry's path or continues it after a `/`. So the entry
 * `https://pacs.example/dicom-web` allows `https://pacs.example/dicom-web/` and
 * `https://pacs.example/dicom-web/studies`, but not `https://pacs.example/dicom-web-other` or
 * `http://pacs.example/dicom-web`. The check runs on the parsed URL, after the URL parser has
 * resolved `.` and `..` segments, so a path cannot climb out of an allowed prefix.
 */
import { Nqo1Error } from '../errors.js';

/** Kind of server a URL belongs to, named in error messages. */
export type AllowlistedService = 'DICOMweb' | 'FHIR';

/**
 * Checks `url` against `allowlist` and returns it parsed, before anything connects to it.
 *
 * @param url - Base URL from configuration or from a request.
 * @param allowlist - Allowed base URLs, e.g. `["https://pacs.example/dicom-web"]`.
 * @param service - Kind of server, for the error message.
 * @returns The parsed URL.
 * @throws Nqo1Error `ERR_URL_NOT_ALLOWED` when the URL is malformed, is not http(s), carries user
 *   credentials, a query or a fragment, or matches no allowlist entry.
 */
export function assertUrlAllowed(
  url: string,
  allowlist: readonly string[],
  service: AllowlistedService,
): URL {
  const candidate = parseBaseUrl(url);
  if (candidate === null) {
    throw new Nqo1Error(
      'ERR_URL_NOT_ALLOWED',
      `The ${service} base URL is not an absolute http(s) URL without credentials, query or fragment; ` +
        'configure a plain base URL such as https://host/path.',
      { details: { service } },
    );
  }

  for (const entry of allowlist) {
    const allowed = parseBaseUrl(entry);
    if (allowed !== null && isWithin(candidate, allowed)) return candidate.url;
  }

  // Only the origin and path go into the message: a base URL carries no secret once checked above.
  throw new Nqo1Error(
    'ERR_URL_NOT_ALLOWED',
    `The ${service} base URL ${candidate.url.origin}${candidate.path} is not on the ${service} allowlist; ` +
      'add its origin and path prefix to the allowlist in the configuration if this server is trusted.',
    { details: { service, origin: candidate.url.origin, path: candidate.path } },
  );
}

/** Returns true when `url` passes {@link assertUrlAllowed}, without throwing. */
export function isUrlAllowed(url: string, allowlist: readonly string[]): boolean {
  const candidate = parseBaseUrl(url);
  if (candidate === null) return false;
  return allowlist.some((entry) => {
    const allowed = parseBaseUrl(entry);
    return allowed !== null && isWithin(candidate, allowed);
  });
}

/** A parsed base URL and its path without trailing slashes (`''` for the server root). */
interface BaseUrl {
  readonly url: URL;
  readonly path: string;
}

function parseBaseUrl(text: string): BaseUrl | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username !== '' || url.password !== '') return null;
  if (url.search !== '' || url.hash !== '') return null;
  return { url, path: url.pathname.replace(/\/+$/, '') };
}

function isWithin(candidate: BaseUrl, allowed: BaseUrl): boolean {
  if (candidate.url.origin !== allowed.url.origin) return false;
  return candidate.path === allowed.path || candidate.path.startsWith(`${allowed.path}/`);
}
