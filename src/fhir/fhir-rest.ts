/**
 * FHIR REST requests through fhir-kit-client 2.0.3, with the failures turned into typed errors,
 * and the readers of what a response holds. Shared by the service's write-back (`write-back.ts`) and
 * the clinician's record in the chart (`chart-record.ts`).
 *
 * @see https://hl7.org/fhir/R4/http.html
 */
import type { Identifier, Resource } from '@medplum/fhirtypes';
import { Client, type FhirResource } from 'fhir-kit-client';

import { Nqo1Error } from '../errors.js';

/** A resource as a create or an update stored it. */
export interface StoredVersion {
  readonly id: string;
  /** `meta.versionId`, when the server keeps versions. */
  readonly versionId: string | undefined;
}

/**
 * The interactions the service sends to one FHIR base, each with a deadline and the FHIR
 * `Prefer: return=representation` header, so that create and update return the stored resource with
 * its id (servers default differently without it). The bearer token is never logged nor put into errors.
 */
export class FhirRestClient {
  readonly #client: Client;
  readonly #basePath: string;
  readonly #timeoutMs: number;
  /** The FHIR base URL without a trailing slash. */
  readonly baseUrl: string;

  /** `baseUrl` must have passed the allowlist already. */
  constructor(baseUrl: URL, timeoutMs: number, bearerToken?: string) {
    this.#basePath = baseUrl.pathname.replace(/\/+$/, '');
    this.#timeoutMs = timeoutMs;
    this.baseUrl = baseUrl.href.replace(/\/+$/, '');
    this.#client = new Client({
      baseUrl: this.baseUrl,
      ...(bearerToken === undefined ? {} : { bearerToken }),
    });
  }

  /** Returns the URL path of `resourceType` on this server, for messages. */
  pathOf(resourceType: string): string {
    return `${this.#basePath}/${resourceType}`;
  }

  /**
   * Searches `resourceType?identifier=system|value` and returns the one match, or undefined.
   *
   * @throws Nqo1Error `ERR_FHIR_FAILED` when more than one resource carries the identifier.
   */
  async findByIdentifier(resourceType: string, identifier: Identifier): Promise<MatchedResource | undefined> {
    const token = `${identifier.system ?? ''}|${escapeSearchValue(identifier.value ?? '')}`;
    const bundle = await this.#send('search', resourceType, () =>
      this.#client.resourceSearch({
        resourceType,
        searchParams: { identifier: token },
        options: this.#options(),
      }),
    );
    const matches = matchingResources(bundle, resourceType);
    if (matches.length > 1) {
      throw new Nqo1Error(
        'ERR_FHIR_FAILED',
        `The FHIR server holds ${matches.length} ${resourceType} resources with identifier ${token}; ` +
          'delete the duplicates so that exactly one remains, then rerun the analysis.',
        { details: { resourceType, matchCount: matches.length, path: this.pathOf(resourceType) } },
      );
    }
    return matches[0];
  }

  /** Reads `resourceType/id`. */
  async read(resourceType: string, id: string): Promise<FhirResource> {
    return this.#send('read', resourceType, () =>
      this.#client.read({ resourceType, id, options: this.#options() }),
    );
  }

  /** Creates `body` with `POST [type]`. */
  async create(body: Resource): Promise<StoredVersion> {
    const { resourceType } = body;
    const stored = await this.#send('create', resourceType, () =>
      this.#client.create({ resourceType, body: asFhirResource(body), options: this.#options() }),
    );
    return { id: idOf(stored, resourceType, this.pathOf(resourceType)), versionId: versionIdOf(stored) };
  }

  /**
   * Replaces resource `id` with `body` by `PUT [type]/[id]`. With `ifMatchVersionId`, the server
   * applies it only while that version is current (`If-Match: W/"<versionId>"`, FHIR R4 §3.1.0.5.3
   * version-aware updates) and returns HTTP 412 otherwise.
   */
  async update(id: string, body: Resource, ifMatchVersionId?: string): Promise<StoredVersion> {
    const { resourceType } = body;
    const options = this.#options();
    if (ifMatchVersionId !== undefined) options.headers['If-Match'] = `W/"${ifMatchVersionId}"`;
    const stored = await this.#send('update', resourceType, () =>
      this.#client.update({ resourceType, id, body: asFhirResource({ ...body, id }), options }),
    );
    return { id: idOf(stored, resourceType, this.pathOf(resourceType)), versionId: versionIdOf(stored) };
  }

  #options(): { signal: AbortSignal; headers: Record<string, string> } {
    return { signal: AbortSignal.timeout(this.#timeoutMs), headers: { Prefer: 'return=representation' } };
  }

  #send(
    interaction: FhirInteraction,
    resourceType: string,
    request: () => Promise<FhirResource>,
  ): Promise<FhirResource> {
    return sendFhirRequest(
      { interaction, resourceType, path: this.pathOf(resourceType), timeoutMs: this.#timeoutMs },
      request,
    );
  }
}

/** The FHIR interactions this service sends. */
type FhirInteraction = 'search' | 'read' | 'create' | 'update';

/** Target of a request, for messages: the interaction, the resource type and the URL path. */
interface FhirRequestTarget {
  readonly interaction: FhirInteraction;
  readonly resourceType: string;
  readonly path: string;
  /** Deadline of the request, in milliseconds, named when it passes. */
  readonly timeoutMs: number;
}

/**
 * HTTP statuses that the same request would get again if it were sent again (RFC 9110 §15.5):
 * bad request, unauthorised, forbidden, not found, method not allowed, gone, unsupported media type
 * and unprocessable content. A timeout (408), a conflict of concurrent writes (409, 412), a rate limit
 * (429) and every 5xx may pass, so those stay retried.
 */
const LASTING_REFUSALS: ReadonlySet<number> = new Set([400, 401, 403, 404, 405, 410, 415, 422]);

/**
 * Runs one request and turns every failure into `ERR_FHIR_FAILED` naming the status and path, or
 * `ERR_FHIR_REJECTED` for a status in {@link LASTING_REFUSALS}. `details.status` carries the HTTP
 * status (0 without a response), so a caller can map it further.
 */
async function sendFhirRequest(
  target: FhirRequestTarget,
  request: () => Promise<FhirResource>,
): Promise<FhirResource> {
  const { interaction, resourceType, path, timeoutMs } = target;
  try {
    return await request();
  } catch (error) {
    if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
      throw new Nqo1Error(
        'ERR_FHIR_FAILED',
        `FHIR ${interaction} of ${resourceType} at ${path} timed out after ${timeoutMs} ms; ` +
          'check that the FHIR server is reachable or raise the FHIR timeout.',
        { details: { path, timeoutMs, status: 0, timedOut: true } },
      );
    }
    const status = httpStatusOf(error);
    if (LASTING_REFUSALS.has(status)) {
      throw new Nqo1Error(
        'ERR_FHIR_REJECTED',
        `FHIR ${interaction} of ${resourceType} at ${path} was refused with HTTP ${status}, which the same ` +
          'request would get again; check the access token, its scopes and the server log, then restart the ' +
          'service to send the write-back again.',
        { cause: withoutPayload(error, status), details: { status, path } },
      );
    }
    const problem = status === 0 ? 'failed without an HTTP response' : `returned HTTP ${status}`;
    throw new Nqo1Error(
      'ERR_FHIR_FAILED',
      `FHIR ${interaction} of ${resourceType} at ${path} ${problem}; ` +
        'check the FHIR base URL, the access token and the server log.',
      { cause: withoutPayload(error, status), details: { status, path } },
    );
  }
}

/**
 * Escapes the characters that FHIR search gives a meaning inside a parameter value: `\`, `|`, `,`
 * and `$` (https://hl7.org/fhir/R4/search.html#escaping).
 */
export function escapeSearchValue(value: string): string {
  return value.replace(/[\\|,$]/g, (character) => `\\${character}`);
}

/**
 * Describes a fhir-kit-client or fetch error without its payload. fhir-kit-client puts the full
 * request URL, search parameters included, into its messages and the response body into the error,
 * so neither may become a `cause` that a logger might serialise.
 */
function withoutPayload(error: unknown, status: number): Error {
  if (status !== 0) return new Error(`HTTP ${status}`);
  if (!(error instanceof Error)) return new Error('non-Error value thrown');
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return new Error(`${error.name}: ${error.message}${typeof code === 'string' ? ` (${code})` : ''}`);
}

/** The error shape of fhir-kit-client 2.0.3 for non-2xx responses. */
interface ClientResponseError {
  readonly response?: { readonly status?: unknown };
}

/** Returns the HTTP status of a fhir-kit-client error, or 0 when no response arrived. */
function httpStatusOf(error: unknown): number {
  if (typeof error !== 'object' || error === null) return 0;
  const status = (error as ClientResponseError).response?.status;
  return typeof status === 'number' ? status : 0;
}

/** fhir-kit-client types bodies as a generic record; FHIR resources are one. */
function asFhirResource(resource: Resource): FhirResource {
  return resource as unknown as FhirResource;
}

/** A search match: its id and the fields that a writer checks before replacing it. */
export interface MatchedResource {
  readonly id: string;
  readonly versionId: string | undefined;
  readonly subjectReference: string | undefined;
  /** `status` of an Observation; undefined for types without one. */
  readonly status: string | undefined;
  /** `device.reference` of an Observation. */
  readonly deviceReference: string | undefined;
}

/** Returns the `match` entries of type `resourceType` in a search Bundle. */
function matchingResources(bundle: FhirResource, resourceType: string): MatchedResource[] {
  const entries = Array.isArray(bundle.entry) ? (bundle.entry as unknown[]) : [];
  const matches: MatchedResource[] = [];
  for (const entry of entries) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { resource, search } = entry as {
      resource?: {
        resourceType?: unknown;
        id?: unknown;
        status?: unknown;
        meta?: { versionId?: unknown };
        subject?: { reference?: unknown };
        device?: { reference?: unknown };
      };
      search?: { mode?: unknown };
    };
    if (search?.mode !== undefined && search.mode !== 'match') continue;
    if (resource?.resourceType !== resourceType || typeof resource.id !== 'string') continue;
    matches.push({
      id: resource.id,
      versionId: stringOrUndefined(resource.meta?.versionId),
      subjectReference: stringOrUndefined(resource.subject?.reference),
      status: stringOrUndefined(resource.status),
      deviceReference: stringOrUndefined(resource.device?.reference),
    });
  }
  return matches;
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * Returns the id of a stored resource.
 *
 * @throws Nqo1Error `ERR_FHIR_FAILED` when the server returned no id.
 */
function idOf(resource: FhirResource, resourceType: string, path: string): string {
  if (typeof resource.id === 'string' && resource.id !== '') return resource.id;
  throw new Nqo1Error(
    'ERR_FHIR_FAILED',
    `The FHIR server stored a ${resourceType} at ${path} but returned no id; configure it to return the stored resource (Prefer: return=representation).`,
    { details: { path } },
  );
}

/** Returns `meta.versionId` of a stored resource, when the server keeps versions. */
function versionIdOf(resource: FhirResource): string | undefined {
  const meta = resource.meta as { versionId?: unknown } | undefined;
  return typeof meta?.versionId === 'string' ? meta.versionId : undefined;
}

/** A FHIR logical id (R4 `id` datatype). */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * Rejects a logical id that is not a FHIR id before it goes into a reference, so a crafted value
 * cannot point a resource at another one.
 *
 * @throws Nqo1Error `ERR_REQUEST_INVALID` naming the resource type.
 */
export function checkFhirId(id: string, resourceType: string): void {
  if (FHIR_ID.test(id)) return;
  throw new Nqo1Error(
    'ERR_REQUEST_INVALID',
    `The ${resourceType} id is not a FHIR id (letters, digits, '-' and '.', at most 64 characters); ` +
      'check the ids the request carried.',
    { details: { resourceType } },
  );
}
