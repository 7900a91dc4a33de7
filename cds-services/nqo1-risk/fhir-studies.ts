/**
 * Reads the patient's CT ImagingStudy resources from the EHR's FHIR server when the hook request
 * carries no usable `studies` prefetch, with the access token the request brought in
 * `fhirAuthorization`. The search is the prefetch template of `definition.ts` plus `_count`; the
 * pages are merged into one searchset Bundle that the prefetch parser reads as if it had been sent.
 *
 * Safety limits, so that a slow or hostile server cannot hold the hook: one deadline for all pages,
 * a byte cap per page, at most {@link MAX_STUDY_PAGES} pages, no redirects, and `next` links followed
 * only when they stay below the allowlisted `fhirServer` base. The token is sent in the
 * `Authorization` header of these requests only; it is never logged, stored or put in an error.
 *
 * @see https://cds-hooks.hl7.org/2.0/#passing-the-access-token-to-the-cds-service
 * @see https://hl7.org/fhir/R4/http.html#paging
 */

import * as z from 'zod';

import { Nqo1Error } from '../../src/errors.js';
import { readCapped, ResponseTooLargeError } from '../../src/net/read-capped.js';

/** Page size asked of the FHIR server (`_count`). */
export const STUDIES_PAGE_SIZE = 100;

/** Maximum number of pages read. A longer result is treated as incomplete (412). */
export const MAX_STUDY_PAGES = 5;

/** Maximum body size of one search page, in bytes. */
export const MAX_STUDY_PAGE_BYTES = 4 * 1024 * 1024;

export interface FhirStudiesRead {
  /** The `fhirServer` of the request, already checked against the FHIR allowlist. */
  readonly fhirServer: URL;
  /** `fhirAuthorization.access_token` of the request; used for this read only. */
  readonly accessToken: string;
  readonly patientId: string;
  /** Deadline of the whole read, all pages together, in milliseconds. */
  readonly timeoutMs: number;
  readonly maxPages?: number;
  readonly maxPageBytes?: number;
}

/** Merged search result, with the page count for the log. */
export interface FhirStudiesResult {
  /** A searchset Bundle holding the entries of every page, without links. */
  readonly bundle: { resourceType: 'Bundle'; type: 'searchset'; entry: unknown[] };
  readonly pages: number;
}

const pageSchema = z.looseObject({
  resourceType: z.literal('Bundle'),
  entry: z.array(z.unknown()).optional(),
  link: z.array(z.looseObject({ relation: z.string().optional(), url: z.string().optional() })).optional(),
});

/**
 * Runs `GET {fhirServer}/ImagingStudy?patient=…&modality=CT&_sort=-started&_count=100` and follows
 * the `next` links.
 *
 * @throws Nqo1Error `ERR_FHIR_FAILED` on an HTTP error status (401, 403, 5xx…), a redirect, a
 *   timeout, a body over the byte cap, or a body that is not a JSON Bundle.
 * @throws Nqo1Error `ERR_PREFETCH_MISSING` when a `next` link leaves the `fhirServer` base or the
 *   result has more than `maxPages` pages: the studies read so far may miss newer ones.
 */
export async function readStudiesFromFhir(read: FhirStudiesRead): Promise<FhirStudiesResult> {
  const maxPages = read.maxPages ?? MAX_STUDY_PAGES;
  const maxPageBytes = read.maxPageBytes ?? MAX_STUDY_PAGE_BYTES;
  const base = withoutTrailingSlash(read.fhirServer);
  const signal = AbortSignal.timeout(read.timeoutMs);

  const first = new URL(`${base.href}/ImagingStudy`);
  first.search = new URLSearchParams({
    patient: read.patientId,
    modality: 'CT',
    _sort: '-started',
    _count: String(STUDIES_PAGE_SIZE),
  }).toString();

  const entry: unknown[] = [];
  let pageUrl: URL | undefined = first;
  let pages = 0;
  while (pageUrl !== undefined) {
    if (pages === maxPages) {
      throw new Nqo1Error(
        'ERR_PREFETCH_MISSING',
        `The FHIR ImagingStudy search returned more than ${maxPages} pages of ${STUDIES_PAGE_SIZE}; ` +
          'newer studies may be on later pages. Send the prefetch "studies" in the hook request instead.',
        { details: { pages } },
      );
    }

    const page = await fetchPage(pageUrl, read, base, signal, maxPageBytes);
    pages++;
    entry.push(...(page.entry ?? []));

    const next = page.link?.find((link) => link.relation === 'next')?.url;
    pageUrl = next === undefined ? undefined : nextPageUrl(next, pageUrl, base);
  }
  return { bundle: { resourceType: 'Bundle', type: 'searchset', entry }, pages };
}

/** Returns `url` without trailing slashes in its path, so that `${href}/ImagingStudy` has one slash. */
function withoutTrailingSlash(url: URL): URL {
  const copy = new URL(url.href);
  copy.pathname = copy.pathname.replace(/\/+$/, '');
  return copy;
}

/**
 * Resolves a `next` link against the page it came from and accepts it only below `base`: same
 * scheme, host and port, a path that continues the base path after a `/`, and no credentials. The
 * URL parser has already resolved `.` and `..`, so the path cannot climb out of the base.
 */
function nextPageUrl(link: string, pageUrl: URL, base: URL): URL {
  let next: URL | undefined;
  try {
    next = new URL(link, pageUrl);
  } catch {
    next = undefined;
  }
  const below =
    next !== undefined &&
    next.origin === base.origin &&
    next.username === '' &&
    next.password === '' &&
    next.pathname.startsWith(`${base.pathname}/`);
  if (next === undefined || !below) {
    // The link is not named: its query carries the patient id.
    throw new Nqo1Error(
      'ERR_PREFETCH_MISSING',
      `The FHIR ImagingStudy search has a next page outside ${base.origin}${base.pathname}, which is not ` +
        'followed, so newer studies may be missing. Send the prefetch "studies" in the hook request instead.',
      { details: { origin: base.origin } },
    );
  }
  next.hash = '';
  return next;
}

async function fetchPage(
  url: URL,
  read: FhirStudiesRead,
  base: URL,
  signal: AbortSignal,
  maxPageBytes: number,
): Promise<z.infer<typeof pageSchema>> {
  const where = `${base.origin}${base.pathname}/ImagingStudy`;
  const failed = (problem: string, details: Record<string, string | number>): Nqo1Error =>
    new Nqo1Error(
      'ERR_FHIR_FAILED',
      `FHIR search of ImagingStudy at ${where} ${problem}; check the FHIR server and the access token ` +
        'sent with the request.',
      { details: { path: where, ...details } },
    );

  let text: string;
  try {
    const response = await fetch(url, {
      headers: { Accept: 'application/fhir+json', Authorization: `Bearer ${read.accessToken}` },
      redirect: 'error',
      signal,
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw failed(`returned HTTP ${response.status}`, { status: response.status });
    }
    text = await readCapped(response, maxPageBytes);
  } catch (error) {
    if (error instanceof Nqo1Error) throw error;
    if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
      throw failed(`timed out after ${read.timeoutMs} ms`, { timeoutMs: read.timeoutMs });
    }
    if (error instanceof ResponseTooLargeError) {
      throw failed(`returned a page over ${maxPageBytes} bytes`, { maxPageBytes });
    }
    // Only the class name: a fetch error can quote the URL, whose query names the patient.
    throw failed('failed without a usable HTTP response (connection error or redirect)', {
      error: error instanceof Error ? error.name : 'unknown',
    });
  }

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw failed('returned a body that is not JSON', {});
  }
  const page = pageSchema.safeParse(json);
  if (!page.success) throw failed('returned something other than a FHIR Bundle', {});
  return page.data;
}
