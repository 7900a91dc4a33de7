/**
 * The check of a launch's `iss` against the service's FHIR allowlist (`fhir.allowedBaseUrls`, served
 * in `config.json`), before the app redirects the browser to the authorization server that `iss`
 * advertises. A crafted link with another `iss` would otherwise send the user to a sign-in page of
 * that server's choice. The rule is the service's (`src/net/url-allowlist.ts`), which this browser
 * build cannot import: an http(s) URL without credentials, query or fragment, on the origin of an
 * allowlist entry, whose path is that entry's path or continues it after a `/`.
 */

/** Returns the URL and its path without trailing slashes, or undefined when it is not a base URL. */
function parseBaseUrl(text: string): { readonly url: URL; readonly path: string } | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') return undefined;
  return { url, path: url.pathname.replace(/\/+$/, '') };
}

/** Returns true when `iss` is under one of `allowedBaseUrls`. */
export function isFhirBaseAllowed(iss: string, allowedBaseUrls: readonly string[]): boolean {
  const candidate = parseBaseUrl(iss);
  if (candidate === undefined) return false;

  for (let i = 0; i < allowedBaseUrls.length; i++) {
    const allowed = parseBaseUrl(allowedBaseUrls[i]!);
    if (allowed === undefined || allowed.url.origin !== candidate.url.origin) continue;
    if (candidate.path === allowed.path || candidate.path.startsWith(`${allowed.path}/`)) return true;
  }
  return false;
}
