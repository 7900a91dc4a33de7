/**
 * DICOMweb access to one PACS: QIDO-RS search, WADO-RS retrieval and STOW-RS storage
 * (DICOM PS3.18 sections 10.6, 10.4 and 10.5), on top of dicomweb-client 0.11.3.
 *
 * dicomweb-client uses XMLHttpRequest, which Node lacks. Loading this module therefore installs
 * the `xhr2` polyfill as `globalThis.XMLHttpRequest` when no implementation is present. Only this
 * module sets or relies on that global.
 *
 * Retrieval sends `Accept: multipart/related; type="application/dicom"` with no transfer-syntax
 * parameter, because dicomweb-client 0.11.3 throws when given one. PS3.18 names Explicit VR
 * Little Endian as the default transfer syntax of that media type, so a conformant PACS sends
 * uncompressed files (Orthanc 1.10 transcodes Implicit VR files to it). A PACS that sends its
 * stored compressed syntax instead is decoded, or rejected, by `src/imaging`.
 */
import { api } from 'dicomweb-client';
import XHR2 from 'xhr2';

import { Nqo1Error } from '../errors.js';
import { assertUrlAllowed } from '../net/url-allowlist.js';
import { NO_RETRIES, withRetries, type RetryNotice, type RetryPolicy } from './retry.js';

if (typeof globalThis.XMLHttpRequest === 'undefined') {
  globalThis.XMLHttpRequest = XHR2 as typeof XMLHttpRequest;
}

/** One attribute of a dataset in the DICOM JSON model (PS3.18 annex F.2). */
export interface DicomJsonAttribute {
  readonly vr: string;
  readonly Value?: readonly unknown[];
  readonly BulkDataURI?: string;
  readonly InlineBinary?: string;
}

/** A dataset in the DICOM JSON model, keyed by 8-digit upper-case hexadecimal tag. */
export type DicomJsonDataset = Readonly<Record<string, DicomJsonAttribute>>;

export interface DicomWebClientOptions {
  /** Base URL of the DICOMweb service, e.g. `https://pacs.example/dicom-web`. */
  readonly baseUrl: string;
  /** Allowed DICOMweb base URLs; `baseUrl` must match one by origin and path prefix. */
  readonly allowlist: readonly string[];
  /** Maximum duration of one HTTP request, in milliseconds. */
  readonly timeoutMs: number;
  /** Extra request headers such as `Authorization`; they never appear in errors or logs. */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Largest response body accepted, in bytes; default {@link DEFAULT_MAX_RESPONSE_BYTES}. A larger
   * Content-Length, or a body that grows past it, aborts the request.
   */
  readonly maxResponseBytes?: number;
  /**
   * Receives the body size in bytes of each response, for the metrics. xhr2 counts the bytes after
   * removing any Content-Encoding, and failed requests report what they received too.
   */
  readonly onResponseBytes?: (bytes: number) => void;
  /**
   * Retries of reads (QIDO-RS, WADO-RS) after a timeout, no response, 408, 429 or 5xx, with
   * exponential back-off; default {@link NO_RETRIES}. STOW-RS stores are never retried.
   */
  readonly retry?: RetryPolicy;
  /** Receives each retry before its wait, for the log. */
  readonly onRetry?: (notice: RetryNotice & { readonly operation: string; readonly path: string }) => void;
}

/** Default response size limit: 2 GiB, about six 512 × 512 × 1000-slice uncompressed CT series. */
export const DEFAULT_MAX_RESPONSE_BYTES = 2 ** 31;

/** The dicomweb-client operations this module calls, typed as the library behaves at run time. */
interface DicomWebLibraryClient {
  searchForSeries(options: { studyInstanceUID: string; request: LibraryRequest }): Promise<unknown>;
  searchForInstances(options: {
    studyInstanceUID: string;
    seriesInstanceUID: string;
    queryParams: Record<string, string>;
    request: LibraryRequest;
  }): Promise<unknown>;
  retrieveInstanceMetadata(options: {
    studyInstanceUID: string;
    seriesInstanceUID: string;
    sopInstanceUID: string;
    request: LibraryRequest;
  }): Promise<unknown>;
  retrieveSeriesMetadata(options: {
    studyInstanceUID: string;
    seriesInstanceUID: string;
    request: LibraryRequest;
  }): Promise<unknown>;
  retrieveSeries(options: {
    studyInstanceUID: string;
    seriesInstanceUID: string;
    request: LibraryRequest;
  }): Promise<unknown>;
  retrieveInstance(options: {
    studyInstanceUID: string;
    seriesInstanceUID: string;
    sopInstanceUID: string;
    request: LibraryRequest;
  }): Promise<unknown>;
  storeInstances(options: { datasets: ArrayBuffer[]; request: LibraryRequest }): Promise<unknown>;
}

interface LibraryRequest {
  readonly instance: XMLHttpRequest;
}

/** The shape of the errors dicomweb-client rejects with: `status` is 0 for network failures. */
interface LibraryRequestError {
  readonly status?: unknown;
}

/**
 * A DICOMweb client bound to one allowlisted base URL.
 *
 * @example
 * const pacs = new DicomWebClient({ baseUrl, allowlist: [baseUrl], timeoutMs: 30_000 });
 * const series = await pacs.searchSeries(studyInstanceUid);
 */
export class DicomWebClient {
  readonly #baseUrl: URL;
  readonly #timeoutMs: number;
  readonly #maxResponseBytes: number;
  readonly #onResponseBytes: ((bytes: number) => void) | undefined;
  readonly #library: DicomWebLibraryClient;
  readonly #retry: RetryPolicy;
  readonly #onRetry: DicomWebClientOptions['onRetry'];

  /**
   * @throws Nqo1Error `ERR_URL_NOT_ALLOWED` before any connection when `baseUrl` is not allowlisted.
   */
  constructor(options: DicomWebClientOptions) {
    this.#baseUrl = assertUrlAllowed(options.baseUrl, options.allowlist, 'DICOMweb');
    if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
      throw new Nqo1Error(
        'ERR_CONFIG_INVALID',
        `The DICOMweb timeout ${options.timeoutMs} ms is not a positive number; set it in milliseconds, e.g. 30000.`,
      );
    }
    this.#timeoutMs = options.timeoutMs;
    this.#maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.#onResponseBytes = options.onResponseBytes;
    this.#retry = options.retry ?? NO_RETRIES;
    this.#onRetry = options.onRetry;
    const { retries, firstDelayMs } = this.#retry;
    if (!Number.isSafeInteger(retries) || retries < 0 || !Number.isFinite(firstDelayMs) || firstDelayMs < 0) {
      throw new Nqo1Error(
        'ERR_CONFIG_INVALID',
        `The DICOMweb retry settings (${retries} retries, first delay ${firstDelayMs} ms) are invalid; ` +
          'set dicomweb.retries to an integer of at least 0 and dicomweb.retryFirstDelayMs to at least 0.',
      );
    }
    if (!Number.isSafeInteger(this.#maxResponseBytes) || this.#maxResponseBytes <= 0) {
      throw new Nqo1Error(
        'ERR_CONFIG_INVALID',
        `The DICOMweb response limit ${options.maxResponseBytes} bytes is not a positive integer; set it in bytes, e.g. ${DEFAULT_MAX_RESPONSE_BYTES}.`,
      );
    }
    this.#library = new api.DICOMwebClient({
      url: this.#baseUrl.href.replace(/\/+$/, ''),
      headers: { ...options.headers },
      // verbose would print the whole failed request, headers included, to the console.
      verbose: false,
      singlepart: false,
    }) as unknown as DicomWebLibraryClient;
  }

  /**
   * Searches the series of a study (QIDO-RS `GET {base}/studies/{study}/series`).
   *
   * @returns One DICOM JSON dataset per series, with the attributes the server returns by default
   *   (for series: Modality, SeriesInstanceUID, SeriesNumber, NumberOfSeriesRelatedInstances and more).
   */
  async searchSeries(studyInstanceUid: string): Promise<DicomJsonDataset[]> {
    const path = `studies/${checkUid(studyInstanceUid, 'StudyInstanceUID')}/series`;
    const body = await this.#call('QIDO-RS search', path, (request) =>
      this.#library.searchForSeries({ studyInstanceUID: studyInstanceUid, request }),
    );
    return expectDatasets(body, this.#pathOf(path));
  }

  /**
   * Searches the instances of a series (QIDO-RS `GET {base}/studies/{study}/series/{series}/instances`).
   *
   * @param query - `limit`: most results to return; `includeFields`: tags (8 hex digits) to return
   *   beyond the defaults, sent as one comma-separated `includefield` value.
   * @returns One DICOM JSON dataset per instance.
   */
  async searchInstances(
    studyInstanceUid: string,
    seriesInstanceUid: string,
    query: { readonly limit?: number; readonly includeFields?: readonly string[] } = {},
  ): Promise<DicomJsonDataset[]> {
    const path = `${seriesPath(studyInstanceUid, seriesInstanceUid)}/instances`;
    const queryParams: Record<string, string> = {};
    if (query.limit !== undefined) queryParams.limit = String(query.limit);
    if (query.includeFields !== undefined && query.includeFields.length > 0) {
      queryParams.includefield = query.includeFields.join(',');
    }
    const body = await this.#call('QIDO-RS search', path, (request) =>
      this.#library.searchForInstances({
        studyInstanceUID: studyInstanceUid,
        seriesInstanceUID: seriesInstanceUid,
        queryParams,
        request,
      }),
    );
    return expectDatasets(body, this.#pathOf(path));
  }

  /**
   * Retrieves the metadata of one instance (WADO-RS `…/instances/{sop}/metadata`).
   *
   * @throws Nqo1Error `ERR_DICOMWEB_FAILED` on an HTTP error, or when the response contains no dataset.
   */
  async retrieveInstanceMetadata(
    studyInstanceUid: string,
    seriesInstanceUid: string,
    sopInstanceUid: string,
  ): Promise<DicomJsonDataset> {
    const path = `${seriesPath(studyInstanceUid, seriesInstanceUid)}/instances/${checkUid(sopInstanceUid, 'SOPInstanceUID')}/metadata`;
    const body = await this.#call('WADO-RS metadata', path, (request) =>
      this.#library.retrieveInstanceMetadata({
        studyInstanceUID: studyInstanceUid,
        seriesInstanceUID: seriesInstanceUid,
        sopInstanceUID: sopInstanceUid,
        request,
      }),
    );
    const [dataset] = expectDatasets(body, this.#pathOf(path));
    if (dataset === undefined) {
      throw new Nqo1Error(
        'ERR_DICOMWEB_FAILED',
        `WADO-RS metadata of ${this.#pathOf(path)} returned an empty array; expected one dataset.`,
        { details: { path: this.#pathOf(path) } },
      );
    }
    return dataset;
  }

  /** Retrieves the metadata of every instance of a series (WADO-RS `…/series/{series}/metadata`). */
  async retrieveSeriesMetadata(
    studyInstanceUid: string,
    seriesInstanceUid: string,
  ): Promise<DicomJsonDataset[]> {
    const path = `${seriesPath(studyInstanceUid, seriesInstanceUid)}/metadata`;
    const body = await this.#call('WADO-RS metadata', path, (request) =>
      this.#library.retrieveSeriesMetadata({
        studyInstanceUID: studyInstanceUid,
        seriesInstanceUID: seriesInstanceUid,
        request,
      }),
    );
    return expectDatasets(body, this.#pathOf(path));
  }

  /**
   * Retrieves every instance of a series as DICOM Part 10 files (WADO-RS `…/series/{series}`),
   * in the server's default transfer syntax (see the module header).
   *
   * @throws Nqo1Error `ERR_DICOMWEB_FAILED` on an HTTP error, timeout or an empty series.
   */
  async retrieveSeriesInstances(studyInstanceUid: string, seriesInstanceUid: string): Promise<ArrayBuffer[]> {
    const path = seriesPath(studyInstanceUid, seriesInstanceUid);
    const body = await this.#call('WADO-RS retrieve', path, (request) =>
      this.#library.retrieveSeries({
        studyInstanceUID: studyInstanceUid,
        seriesInstanceUID: seriesInstanceUid,
        request,
      }),
    );
    const parts = expectArrayBuffers(body, this.#pathOf(path));
    if (parts.length === 0) {
      throw new Nqo1Error(
        'ERR_DICOMWEB_FAILED',
        `WADO-RS retrieve of ${this.#pathOf(path)} returned no instance; check that the series is stored on the PACS.`,
        { details: { path: this.#pathOf(path) } },
      );
    }
    return parts;
  }

  /** Retrieves one instance as a DICOM Part 10 file (WADO-RS `…/instances/{sop}`). */
  async retrieveInstance(
    studyInstanceUid: string,
    seriesInstanceUid: string,
    sopInstanceUid: string,
  ): Promise<ArrayBuffer> {
    const path = `${seriesPath(studyInstanceUid, seriesInstanceUid)}/instances/${checkUid(sopInstanceUid, 'SOPInstanceUID')}`;
    const body = await this.#call('WADO-RS retrieve', path, (request) =>
      this.#library.retrieveInstance({
        studyInstanceUID: studyInstanceUid,
        seriesInstanceUID: seriesInstanceUid,
        sopInstanceUID: sopInstanceUid,
        request,
      }),
    );
    if (!(body instanceof ArrayBuffer)) {
      throw new Nqo1Error(
        'ERR_DICOMWEB_FAILED',
        `WADO-RS retrieve of ${this.#pathOf(path)} returned no DICOM part; expected one application/dicom part.`,
        { details: { path: this.#pathOf(path) } },
      );
    }
    return body;
  }

  /**
   * Stores DICOM Part 10 files (STOW-RS `POST {base}/studies`). Used by tests and the demo to load
   * a PACS; the analysis itself never writes to the PACS.
   *
   * @throws Nqo1Error `ERR_DICOMWEB_FAILED` unless the server returns 200 (all stored). A 202
   *   (some instances failed or were coerced) is treated as a failure too.
   */
  async storeInstances(datasets: readonly ArrayBuffer[]): Promise<void> {
    const path = 'studies';
    let status = 0;
    await this.#callOnce('STOW-RS store', path, async (request) => {
      const response = await this.#library.storeInstances({ datasets: [...datasets], request });
      status = request.instance.status;
      return response;
    });
    if (status !== 200) {
      throw new Nqo1Error(
        'ERR_DICOMWEB_FAILED',
        `STOW-RS store to ${this.#pathOf(path)} returned HTTP ${status}: some of the ${datasets.length} instances were not stored as sent; expected 200. Check the PACS log.`,
        { details: { status, path: this.#pathOf(path), instanceCount: datasets.length } },
      );
    }
  }

  /** Returns the URL path of a request below the base URL, without query or credentials. */
  #pathOf(relativePath: string): string {
    return `${this.#baseUrl.pathname.replace(/\/+$/, '')}/${relativePath}`;
  }

  /** Runs a read with {@link #callOnce}, retried after transient failures by the client's retry policy. */
  async #call(
    operation: string,
    relativePath: string,
    send: (request: LibraryRequest) => Promise<unknown>,
  ): Promise<unknown> {
    return await withRetries(
      this.#retry,
      () => this.#callOnce(operation, relativePath, send),
      (notice) => {
        this.#onRetry?.({ ...notice, operation, path: this.#pathOf(relativePath) });
      },
    );
  }

  /**
   * Runs one dicomweb-client request with a deadline of `timeoutMs` and a size limit of
   * `maxResponseBytes`, and turns every failure into `ERR_DICOMWEB_FAILED` naming the status and
   * path, or `ERR_INPUT_TOO_LARGE` for a response over the limit.
   *
   * The deadline and the size limit are races, not only `XMLHttpRequest.abort()`: xhr2 0.2.1 aborts
   * the socket without reaching readyState DONE, so the dicomweb-client promise would never settle.
   * The size is checked on each progress event (xhr2 counts received body bytes in `loaded` and
   * takes `total` from Content-Length), so at most one network chunk beyond the limit is buffered.
   */
  async #callOnce(
    operation: string,
    relativePath: string,
    send: (request: LibraryRequest) => Promise<unknown>,
  ): Promise<unknown> {
    const path = this.#pathOf(relativePath);
    const instance = new XMLHttpRequest();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        instance.abort();
        reject(
          new Nqo1Error(
            'ERR_DICOMWEB_FAILED',
            `${operation} of ${path} timed out after ${this.#timeoutMs} ms; check that the PACS is reachable or raise the DICOMweb timeout.`,
            { details: { path, timeoutMs: this.#timeoutMs } },
          ),
        );
      }, this.#timeoutMs);
    });

    // xhr2 reports the running body size in `loaded` on each progress event and on `load`.
    let receivedBytes = 0;
    const countBytes = (event: ProgressEvent): void => {
      receivedBytes = Math.max(receivedBytes, event.loaded);
    };
    instance.addEventListener('progress', countBytes);
    instance.addEventListener('load', countBytes);

    const tooLarge = new Promise<never>((_resolve, reject) => {
      instance.addEventListener('progress', (event) => {
        const bytes = Math.max(event.loaded, event.total);
        if (bytes <= this.#maxResponseBytes) return;
        instance.abort();
        reject(
          new Nqo1Error(
            'ERR_INPUT_TOO_LARGE',
            `${operation} of ${path} sent at least ${bytes} bytes, more than the limit of ${this.#maxResponseBytes}; ` +
              'the request was stopped. Raise dicomweb.maxResponseBytes if series this large are expected.',
            { details: { path, bytes, maxResponseBytes: this.#maxResponseBytes } },
          ),
        );
      });
    });

    try {
      return await Promise.race([send({ instance }), deadline, tooLarge]);
    } catch (error) {
      if (error instanceof Nqo1Error) throw error;
      const status = statusOf(error);
      const problem =
        status === 0
          ? 'failed without an HTTP response (connection refused or reset)'
          : `returned HTTP ${status}`;
      throw new Nqo1Error(
        'ERR_DICOMWEB_FAILED',
        `${operation} of ${path} ${problem}; expected 200. Check the PACS address, its DICOMweb plugin and that the study exists.`,
        { cause: withoutPayload(error), details: { status, path } },
      );
    } finally {
      clearTimeout(timer);
      if (receivedBytes > 0) this.#onResponseBytes?.(receivedBytes);
    }
  }
}

/** A DICOM UID: dot-separated numeric components without leading zeros, at most 64 characters (PS3.5 section 9.1). */
const DICOM_UID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;

/**
 * Returns `uid` when it is a valid DICOM UID. UIDs become URL path segments, so this check also
 * keeps a crafted value (`..`, `/`, `?`) from reaching another endpoint of the allowlisted server.
 *
 * @throws Nqo1Error `ERR_REQUEST_INVALID` naming the attribute.
 */
function checkUid(uid: string, attribute: string): string {
  if (uid.length <= 64 && DICOM_UID.test(uid)) return uid;
  throw new Nqo1Error(
    'ERR_REQUEST_INVALID',
    `The ${attribute} ${JSON.stringify(uid.slice(0, 80))} is not a DICOM UID (digits and dots, at most 64 characters); ` +
      'check the study reference in the request or the FHIR ImagingStudy.',
    { details: { attribute } },
  );
}

function seriesPath(studyInstanceUid: string, seriesInstanceUid: string): string {
  return `studies/${checkUid(studyInstanceUid, 'StudyInstanceUID')}/series/${checkUid(seriesInstanceUid, 'SeriesInstanceUID')}`;
}

/**
 * Copies the name and message of a library error into a plain Error. dicomweb-client attaches the
 * XMLHttpRequest to its errors, request headers such as `Authorization` included, so the original
 * must not become a `cause` that a logger might serialise.
 */
function withoutPayload(error: unknown): Error {
  if (!(error instanceof Error)) return new Error('non-Error value thrown');
  return new Error(`${error.name}: ${error.message}`);
}

function statusOf(error: unknown): number {
  if (typeof error === 'object' && error !== null) {
    const status = (error as LibraryRequestError).status;
    if (typeof status === 'number') return status;
  }
  return 0;
}

function expectDatasets(body: unknown, path: string): DicomJsonDataset[] {
  if (!Array.isArray(body) || !body.every((item) => typeof item === 'object' && item !== null)) {
    throw new Nqo1Error(
      'ERR_DICOMWEB_FAILED',
      `The response from ${path} is not a DICOM JSON array; check that the URL points at a DICOMweb service.`,
      { details: { path } },
    );
  }
  return body as DicomJsonDataset[];
}

function expectArrayBuffers(body: unknown, path: string): ArrayBuffer[] {
  if (!Array.isArray(body) || !body.every((part) => part instanceof ArrayBuffer)) {
    throw new Nqo1Error(
      'ERR_DICOMWEB_FAILED',
      `The response from ${path} is not a multipart list of DICOM files; check that the URL points at a DICOMweb service.`,
      { details: { path } },
    );
  }
  return body;
}
