/**
 * Writes a result into the chart: the software Device, the Observation and a Provenance, with
 * fhir-kit-client 2.0.3 against one allowlisted FHIR R4 base URL.
 *
 * Reruns do not duplicate. The Device and the Observation are each found by their identifier
 * (`GET [type]?identifier=system|value`). An existing resource is replaced by `PUT [type]/[id]`,
 * and a missing one is created by `POST [type]`. This is the client-side form of FHIR conditional
 * update (https://hl7.org/fhir/R4/http.html#cond-update), used because not every server supports
 * `PUT [type]?search`. Two writers racing on the same study could both create. The embedded job
 * queue runs one job at a time and one per study and model version, which prevents that within one
 * process. Each write adds one Provenance, so the history of writes stays visible.
 */
import type { Device, Identifier, Observation, Resource } from '@medplum/fhirtypes';
import { Client, type FhirResource } from 'fhir-kit-client';

import { Nqo1Error } from '../errors.js';
import type { ScoreResult } from '../model/result.js';
import { assertUrlAllowed } from '../net/url-allowlist.js';
import { buildObservation, resultIdentifier } from './observation.js';
import { buildDevice, buildProvenance, deviceIdentifier } from './provenance.js';

export interface FhirWriteBackOptions {
  /** FHIR R4 base URL, e.g. `https://ehr.example/fhir/R4`. */
  readonly baseUrl: string;
  /** Allowed FHIR base URLs; `baseUrl` must match one by origin and path prefix. */
  readonly allowlist: readonly string[];
  /** Maximum duration of one HTTP request, in milliseconds. */
  readonly timeoutMs: number;
  /** OAuth access token for the FHIR server; never logged nor put into errors. */
  readonly bearerToken?: string;
  /** Clock for `issued` and `recorded`; defaults to the system clock. */
  readonly now?: () => Date;
}

/** The chart context of one result. */
export interface WriteBackInput {
  readonly result: ScoreResult;
  readonly patientId: string;
  readonly imagingStudyId: string;
  readonly studyInstanceUid: string;
  /** CT acquisition time, when known; see `ObservationContext.effectiveDateTime`. */
  readonly effectiveDateTime?: string;
}

/** Ids of the resources one write created or updated. */
export interface WriteBackOutcome {
  readonly observationId: string;
  readonly activity: 'create' | 'update';
  readonly deviceId: string;
  readonly provenanceId: string;
}

/** Writes results to one FHIR server. */
export class FhirWriteBack {
  readonly #client: Client;
  readonly #basePath: string;
  readonly #timeoutMs: number;
  readonly #now: () => Date;

  /**
   * @throws Nqo1Error `ERR_URL_NOT_ALLOWED` before any connection when `baseUrl` is not allowlisted.
   */
  constructor(options: FhirWriteBackOptions) {
    const baseUrl = assertUrlAllowed(options.baseUrl, options.allowlist, 'FHIR');
    if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
      throw new Nqo1Error(
        'ERR_CONFIG_INVALID',
        `The FHIR timeout ${options.timeoutMs} ms is not a positive number; set it in milliseconds, e.g. 10000.`,
      );
    }
    this.#basePath = baseUrl.pathname.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs;
    this.#now = options.now ?? (() => new Date());
    this.#client = new Client({
      baseUrl: baseUrl.href.replace(/\/+$/, ''),
      ...(options.bearerToken === undefined ? {} : { bearerToken: options.bearerToken }),
    });
  }

  /**
   * Upserts the Device and the Observation of `input.result`, then creates a Provenance.
   *
   * @throws Nqo1Error `ERR_REQUEST_INVALID` when the patient or study id is not a FHIR id;
   *   `ERR_FHIR_FAILED` on an HTTP error, a timeout, a response without an id, or
   *   when more than one resource carries the identifier (duplicates on the server to resolve);
   *   `ERR_FHIR_REJECTED` on a refusal that the same request would get again (400, 401, 403, …);
   *   `ERR_PATIENT_CONFLICT` when the Observation with the result identifier has another subject.
   */
  async write(input: WriteBackInput): Promise<WriteBackOutcome> {
    const { result } = input;
    checkFhirId(input.patientId, 'Patient');
    checkFhirId(input.imagingStudyId, 'ImagingStudy');

    const device = await this.#upsert<Device>(
      'Device',
      deviceIdentifier(result.model),
      buildDevice(result.model),
    );

    const observation = buildObservation(result, {
      patientId: input.patientId,
      imagingStudyId: input.imagingStudyId,
      studyInstanceUid: input.studyInstanceUid,
      deviceId: device.id,
      issued: this.#now().toISOString(),
      ...(input.effectiveDateTime === undefined ? {} : { effectiveDateTime: input.effectiveDateTime }),
    });
    const written = await this.#upsert<Observation>(
      'Observation',
      resultIdentifier(input.studyInstanceUid, result.model),
      observation,
      (existing) => {
        checkSameSubject(existing, `Patient/${input.patientId}`, input.studyInstanceUid);
      },
    );

    const provenance = buildProvenance({
      observationId: written.id,
      ...(written.versionId === undefined ? {} : { observationVersionId: written.versionId }),
      deviceId: device.id,
      imagingStudyId: input.imagingStudyId,
      activity: written.activity,
      recorded: this.#now().toISOString(),
      occurred: result.provenance.computedAt,
    });
    const storedProvenance = await this.#send('create', 'Provenance', () =>
      this.#client.create({
        resourceType: 'Provenance',
        body: asFhirResource(provenance),
        options: this.#options(),
      }),
    );

    return {
      observationId: written.id,
      activity: written.activity,
      deviceId: device.id,
      provenanceId: idOf(storedProvenance, 'Provenance', this.#pathOf('Provenance')),
    };
  }

  /** Finds the resource with `identifier`, then replaces it or creates it. */
  async #upsert<T extends Resource>(
    resourceType: T['resourceType'],
    identifier: Identifier,
    body: T,
    checkExisting: (existing: MatchedResource) => void = () => undefined,
  ): Promise<{ id: string; versionId: string | undefined; activity: 'create' | 'update' }> {
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
        { details: { resourceType, matchCount: matches.length, path: this.#pathOf(resourceType) } },
      );
    }

    const existing = matches[0];
    if (existing !== undefined) checkExisting(existing);
    const existingId = existing?.id;
    const stored =
      existingId === undefined
        ? await this.#send('create', resourceType, () =>
            this.#client.create({ resourceType, body: asFhirResource(body), options: this.#options() }),
          )
        : await this.#send('update', resourceType, () =>
            this.#client.update({
              resourceType,
              id: existingId,
              body: asFhirResource({ ...body, id: existingId }),
              options: this.#options(),
            }),
          );

    return {
      id: idOf(stored, resourceType, this.#pathOf(resourceType)),
      versionId: versionIdOf(stored),
      activity: existingId === undefined ? 'create' : 'update',
    };
  }

  /**
   * Per-request options: the deadline, and the FHIR `Prefer: return=representation` header so that
   * create and update return the stored resource with its id. Servers default differently without it.
   */
  #options(): { signal: AbortSignal; headers: Record<string, string> } {
    return { signal: AbortSignal.timeout(this.#timeoutMs), headers: { Prefer: 'return=representation' } };
  }

  #pathOf(resourceType: string): string {
    return `${this.#basePath}/${resourceType}`;
  }

  /**
   * Runs one request and turns every failure into `ERR_FHIR_FAILED` naming the status and path, or
   * `ERR_FHIR_REJECTED` for a status in {@link LASTING_REFUSALS}.
   */
  async #send(
    interaction: 'search' | 'create' | 'update',
    resourceType: string,
    request: () => Promise<FhirResource>,
  ): Promise<FhirResource> {
    const path = this.#pathOf(resourceType);
    try {
      return await request();
    } catch (error) {
      if (error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
        throw new Nqo1Error(
          'ERR_FHIR_FAILED',
          `FHIR ${interaction} of ${resourceType} at ${path} timed out after ${this.#timeoutMs} ms; ` +
            'check that the FHIR server is reachable or raise the FHIR timeout.',
          { details: { path, timeoutMs: this.#timeoutMs } },
        );
      }
      const status = statusOf(error);
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
}

/**
 * HTTP statuses that the same request would get again if it were sent again (RFC 9110 §15.5):
 * bad request, unauthorised, forbidden, not found, method not allowed, gone, unsupported media type
 * and unprocessable content. A timeout (408), a conflict of concurrent writes (409, 412), a rate limit
 * (429) and every 5xx may pass, so those stay retried.
 */
const LASTING_REFUSALS: ReadonlySet<number> = new Set([400, 401, 403, 404, 405, 410, 415, 422]);

/**
 * Escapes the characters that FHIR search gives a meaning inside a parameter value: `\`, `|`, `,`
 * and `$` (https://hl7.org/fhir/R4/search.html#escaping).
 */
export function escapeSearchValue(value: string): string {
  return value.replace(/[\\|,$]/g, (character) => `\\${character}`);
}

/** A FHIR logical id (R4 `id` datatype). */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * Rejects a logical id that is not a FHIR id before it goes into a reference, so a crafted value
 * cannot point the Observation at another resource.
 */
function checkFhirId(id: string, resourceType: string): void {
  if (FHIR_ID.test(id)) return;
  throw new Nqo1Error(
    'ERR_REQUEST_INVALID',
    `The ${resourceType} id is not a FHIR id (letters, digits, '-' and '.', at most 64 characters); ` +
      'check the ids the hook request carried.',
    { details: { resourceType } },
  );
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

function statusOf(error: unknown): number {
  if (typeof error !== 'object' || error === null) return 0;
  const status = (error as ClientResponseError).response?.status;
  return typeof status === 'number' ? status : 0;
}

/** fhir-kit-client types bodies as a generic record; FHIR resources are one. */
function asFhirResource(resource: Resource): FhirResource {
  return resource as unknown as FhirResource;
}

/** Returns the ids of the `match` entries of type `resourceType` in a search Bundle. */
/** A search match: its id and the fields the write-back checks before replacing it. */
interface MatchedResource {
  readonly id: string;
  readonly subjectReference: string | undefined;
}

function matchingResources(bundle: FhirResource, resourceType: string): MatchedResource[] {
  const entries = Array.isArray(bundle.entry) ? (bundle.entry as unknown[]) : [];
  const matches: MatchedResource[] = [];
  for (const entry of entries) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { resource, search } = entry as {
      resource?: { resourceType?: unknown; id?: unknown; subject?: { reference?: unknown } };
      search?: { mode?: unknown };
    };
    if (search?.mode !== undefined && search.mode !== 'match') continue;
    if (resource?.resourceType !== resourceType || typeof resource.id !== 'string') continue;
    const reference = resource.subject?.reference;
    matches.push({
      id: resource.id,
      subjectReference: typeof reference === 'string' ? reference : undefined,
    });
  }
  return matches;
}

/**
 * Rejects replacing an Observation that belongs to another patient. The result identifier names
 * only the study and the model, so without this check a study linked to two patient records, or a
 * lost result store, would move a result from one chart to another.
 */
function checkSameSubject(
  existing: MatchedResource,
  subjectReference: string,
  studyInstanceUid: string,
): void {
  if (existing.subjectReference === subjectReference) return;
  throw new Nqo1Error(
    'ERR_PATIENT_CONFLICT',
    `Observation ${existing.id} for study ${studyInstanceUid} already belongs to another patient record, so it was ` +
      'left unchanged. Hospital IT must check which patient the study belongs to before the analysis is rerun.',
    { details: { observationId: existing.id, studyInstanceUid } },
  );
}

function idOf(resource: FhirResource, resourceType: string, path: string): string {
  if (typeof resource.id === 'string' && resource.id !== '') return resource.id;
  throw new Nqo1Error(
    'ERR_FHIR_FAILED',
    `The FHIR server stored a ${resourceType} at ${path} but returned no id; configure it to return the stored resource (Prefer: return=representation).`,
    { details: { path } },
  );
}

function versionIdOf(resource: FhirResource): string | undefined {
  const meta = resource.meta as { versionId?: unknown } | undefined;
  return typeof meta?.versionId === 'string' ? meta.versionId : undefined;
}
