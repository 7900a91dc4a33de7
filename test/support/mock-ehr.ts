/**
 * A mock EHR for integration tests: the CDS client side of CDS Hooks 2.0, on loopback. It
 *
 * - signs the JWT of each call with jose, by an ES384 or an RS384 key, with `kid` and `jku` headers;
 * - serves its public JWKS over HTTP on 127.0.0.1, so the service is configured with the issuer's
 *   `jwksUrl` and fetches the keys itself;
 * - reads the service's discovery document and resolves each prefetch template against the FHIR
 *   server, as an EHR does before it calls a hook;
 * - calls hooks (`patient-view`, `encounter-start`) with an optional `Accept-Language`, with or
 *   without prefetch, `fhirServer` and `fhirAuthorization`, and sends card feedback;
 * - grants FHIR access tokens, as its authorization server does for a SMART app launch.
 *
 * Every 200 discovery and hook response is checked with the CDS Hooks validators of
 * `cds-response.ts`, and a broken rule throws. The EHR keeps every JWT and access token it issued,
 * so a test can prove that none of them reached the service's log.
 *
 * @see https://cds-hooks.hl7.org/2.0/#trusting-cds-clients
 * @see https://cds-hooks.hl7.org/2.0/#prefetch-template
 */
import { randomBytes, randomUUID } from 'node:crypto';

import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

import type {
  CdsCard,
  CdsDiscoveryResponse,
  CdsResponse,
  CdsServiceDefinition,
} from '../../src/server/cds-types.js';
import { validateCdsResponse, validateDiscoveryResponse } from './cds-response.js';
import { startLoopbackListener, type LoopbackListener } from './loopback-listener.js';

/** Algorithms of the mock EHR's two signing keys. */
export type EhrAlgorithm = 'ES384' | 'RS384';

/** Path of the JWKS below the EHR's loopback origin. */
const JWKS_PATH = '/.well-known/jwks.json';

/** Lifetime of each JWT, in seconds: the 5 minutes CDS Hooks 2.0 recommends at most. */
const TOKEN_LIFETIME_SECONDS = 300;

export interface MockEhrOptions {
  /** The `iss` of every token. */
  readonly iss: string;
  /** Base URL of the CDS service (its `server.publicUrl`), in front of `/cds-services`. */
  readonly serviceUrl: string;
  /** Base URL of the EHR's FHIR server: prefetch is read there, and it is the default `fhirServer`. */
  readonly fhirBaseUrl: string;
}

/** The hook context the EHR sends. `encounter-start` requires `encounterId`. */
export interface HookContext {
  readonly patientId: string;
  readonly encounterId?: string;
  /** `Practitioner/<id>` of the user, `Practitioner/mock-ehr-user` by default. */
  readonly userId?: string;
}

export interface TokenOptions {
  /** Algorithm of the signing key, ES384 by default. */
  readonly alg?: EhrAlgorithm;
  /** The `jku` header: defaults to this EHR's JWKS URL, and `null` leaves it out. */
  readonly jku?: string | null;
  /** Signs with a fresh key that is not in the JWKS, under this `kid`. */
  readonly foreignKeyKid?: string;
}

export interface HookCallOptions extends TokenOptions {
  readonly context: HookContext;
  readonly acceptLanguage?: string;
  /**
   * The prefetch sent: `resolve` (default) reads every template of the discovery entry from the
   * FHIR server, `omit` sends no `prefetch` member, and an object is sent over the resolved values.
   */
  readonly prefetch?: 'resolve' | 'omit' | Readonly<Record<string, unknown>>;
  /** `fhirServer`: defaults to the FHIR base URL, and `null` leaves it out. */
  readonly fhirServer?: string | null;
  /** Whether `fhirAuthorization` carries a new access token for this call (the default) or is left out. */
  readonly fhirAuthorization?: boolean;
  /** A JWT sent instead of a newly signed one, e.g. to replay a token. */
  readonly token?: string;
  /** The `Origin` header of a browser-based client. */
  readonly origin?: string;
}

export interface HookCallResult {
  readonly status: number;
  readonly headers: Headers;
  /** The JSON body, or the text when the body is not JSON. */
  readonly body: unknown;
  /** Cards of a 200 response, already checked against the CDS Hooks rules, or none for another status. */
  readonly cards: readonly CdsCard[];
  /** The JWT sent in the `Authorization` header. */
  readonly token: string;
  /** The access token sent in `fhirAuthorization`, when one was sent. */
  readonly accessToken?: string;
}

/** One entry of a CDS Hooks feedback call. */
export interface FeedbackEntry {
  readonly card: string;
  readonly outcome: 'accepted' | 'overridden';
  readonly overrideReason?: {
    readonly reason?: { readonly system?: string; readonly code: string };
    readonly userComment?: string;
  };
  readonly outcomeTimestamp: string;
}

export interface MockEhr {
  readonly iss: string;
  /** Where the EHR serves its public JWKS on loopback. */
  readonly jwksUrl: string;
  /** Number of JWKS requests received so far. */
  jwksRequestCount(): number;
  /** Fetches `GET /cds-services`, checks it against the discovery rules and keeps the entries. */
  discover(): Promise<CdsDiscoveryResponse>;
  /** Resolves the prefetch templates of a discovered service for `context`. */
  resolvePrefetch(serviceId: string, context: HookContext): Promise<Record<string, unknown>>;
  /** Signs a JWT for the service URL `aud`. */
  signToken(aud: string, options?: TokenOptions): Promise<string>;
  /** Calls the hook of a discovered service. */
  callHook(serviceId: string, options: HookCallOptions): Promise<HookCallResult>;
  /** Posts feedback on cards of a service and returns the HTTP status. */
  sendFeedback(serviceId: string, entries: readonly FeedbackEntry[], options?: TokenOptions): Promise<number>;
  /** Sends a CORS preflight for `POST <path>` from `origin`, as a browser would. */
  preflight(path: string, origin: string): Promise<Response>;
  /**
   * Grants a new FHIR access token, as the EHR's authorization server does when it launches a SMART
   * app. The test FHIR server accepts it unless the test rejects it there.
   */
  grantAccessToken(): string;
  /** Every JWT and access token this EHR issued so far, which must never appear in a log. */
  issuedSecrets(): string[];
  close(): Promise<void>;
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

/** Starts the EHR: generates its keys and serves their JWKS on a free loopback port. */
export async function startMockEhr(options: MockEhrOptions): Promise<MockEhr> {
  const keys = new Map<EhrAlgorithm, SigningKey>();
  for (const alg of ['ES384', 'RS384'] as const)
    keys.set(alg, await generateSigningKey(alg, `mock-ehr-${alg}`));
  const jwks = { keys: [...keys.values()].map((key) => key.publicJwk) };

  const jwksServer: LoopbackListener = await startLoopbackListener((request, response) => {
    if (request.method !== 'GET' || request.url !== JWKS_PATH) {
      response.statusCode = 404;
      response.end();
      return;
    }
    response.setHeader('Content-Type', 'application/json');
    response.end(JSON.stringify(jwks));
  });
  const jwksUrl = `${jwksServer.origin}${JWKS_PATH}`;

  const services = new Map<string, CdsServiceDefinition>();
  const issued: string[] = [];
  // The EHR's own credential for its prefetch reads, distinct from the tokens it grants the service.
  const prefetchToken = newSecret('mock-ehr-prefetch');
  issued.push(prefetchToken);

  async function signToken(aud: string, tokenOptions: TokenOptions = {}): Promise<string> {
    const alg = tokenOptions.alg ?? 'ES384';
    const key =
      tokenOptions.foreignKeyKid === undefined
        ? keys.get(alg)!
        : await generateSigningKey(alg, tokenOptions.foreignKeyKid);
    const jku = tokenOptions.jku === undefined ? jwksUrl : tokenOptions.jku;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg, typ: 'JWT', kid: key.kid, ...(jku === null ? {} : { jku }) })
      .setIssuer(options.iss)
      .setSubject('mock-ehr-client')
      .setAudience(aud)
      .setIssuedAt()
      .setExpirationTime(`${TOKEN_LIFETIME_SECONDS}s`)
      .setJti(randomUUID())
      .sign(key.privateKey);
    issued.push(token);
    return token;
  }

  async function discover(): Promise<CdsDiscoveryResponse> {
    const response = await fetch(`${options.serviceUrl}/cds-services`);
    if (response.status !== 200) throw new Error(`GET /cds-services returned HTTP ${response.status}`);
    const body = (await response.json()) as unknown;
    assertNoProblems('discovery response', validateDiscoveryResponse(body));

    const discovery = body as CdsDiscoveryResponse;
    for (const service of discovery.services) services.set(service.id, service);
    return discovery;
  }

  async function definitionOf(serviceId: string): Promise<CdsServiceDefinition> {
    if (!services.has(serviceId)) await discover();
    const definition = services.get(serviceId);
    if (definition === undefined) throw new Error(`the discovery response lists no service ${serviceId}`);
    return definition;
  }

  async function resolvePrefetch(serviceId: string, context: HookContext): Promise<Record<string, unknown>> {
    const definition = await definitionOf(serviceId);
    const prefetch: Record<string, unknown> = {};
    for (const [key, template] of Object.entries(definition.prefetch ?? {})) {
      const query = fillTemplate(template, context);
      // A template with a token this EHR cannot fill is left out, as CDS Hooks 2.0 allows.
      if (query === undefined) continue;

      const response = await fetch(`${options.fhirBaseUrl}/${query}`, {
        headers: { Accept: 'application/fhir+json', Authorization: `Bearer ${prefetchToken}` },
      });
      const body = (await response.json()) as unknown;
      // A failed read is sent as the server's OperationOutcome, which CDS Hooks 2.0 also allows.
      if (response.ok || isOperationOutcome(body)) prefetch[key] = body;
    }
    return prefetch;
  }

  async function callHook(serviceId: string, call: HookCallOptions): Promise<HookCallResult> {
    const definition = await definitionOf(serviceId);
    const url = `${options.serviceUrl}/cds-services/${serviceId}`;
    const token = call.token ?? (await signToken(url, call));
    const accessToken = call.fhirAuthorization === false ? undefined : newSecret('mock-ehr-access');
    if (accessToken !== undefined) issued.push(accessToken);
    const prefetch = await prefetchFor(serviceId, call);
    const fhirServer = call.fhirServer === undefined ? options.fhirBaseUrl : call.fhirServer;

    const body = {
      hook: definition.hook,
      hookInstance: randomUUID(),
      ...(fhirServer === null ? {} : { fhirServer }),
      ...(accessToken === undefined
        ? {}
        : {
            fhirAuthorization: {
              access_token: accessToken,
              token_type: 'Bearer',
              expires_in: 300,
              scope: 'patient/Patient.read patient/ImagingStudy.read',
              subject: 'nqo1-cds',
              patient: call.context.patientId,
            },
          }),
      context: {
        userId: call.context.userId ?? 'Practitioner/mock-ehr-user',
        patientId: call.context.patientId,
        ...(call.context.encounterId === undefined ? {} : { encounterId: call.context.encounterId }),
      },
      ...(prefetch === undefined ? {} : { prefetch }),
    };
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json',
        ...(call.acceptLanguage === undefined ? {} : { 'Accept-Language': call.acceptLanguage }),
        ...(call.origin === undefined ? {} : { Origin: call.origin }),
      },
      body: JSON.stringify(body),
    });

    const text = await response.text();
    const parsed = parseJsonOrText(text);
    let cards: readonly CdsCard[] = [];
    if (response.status === 200) {
      assertNoProblems(`response of ${serviceId}`, validateCdsResponse(parsed));
      cards = (parsed as CdsResponse).cards;
    }
    return {
      status: response.status,
      headers: response.headers,
      body: parsed,
      cards,
      token,
      ...(accessToken === undefined ? {} : { accessToken }),
    };
  }

  async function prefetchFor(
    serviceId: string,
    call: HookCallOptions,
  ): Promise<Record<string, unknown> | undefined> {
    if (call.prefetch === 'omit') return undefined;
    const resolved = await resolvePrefetch(serviceId, call.context);
    return call.prefetch === undefined || call.prefetch === 'resolve'
      ? resolved
      : { ...resolved, ...call.prefetch };
  }

  async function sendFeedback(
    serviceId: string,
    entries: readonly FeedbackEntry[],
    tokenOptions: TokenOptions = {},
  ): Promise<number> {
    const url = `${options.serviceUrl}/cds-services/${serviceId}/feedback`;
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${await signToken(url, tokenOptions)}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({ feedback: entries }),
    });
    await response.body?.cancel();
    return response.status;
  }

  return {
    iss: options.iss,
    jwksUrl,
    jwksRequestCount: () => jwksServer.requestCount(),
    discover,
    resolvePrefetch,
    signToken,
    callHook,
    sendFeedback,
    preflight: async (path, origin) =>
      await fetch(`${options.serviceUrl}${path}`, {
        method: 'OPTIONS',
        headers: {
          Origin: origin,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'authorization,content-type,accept-language',
        },
      }),
    grantAccessToken: () => {
      const token = newSecret('mock-ehr-app-access');
      issued.push(token);
      return token;
    },
    issuedSecrets: () => [...issued],
    close: () => jwksServer.close(),
  };
}

async function generateSigningKey(alg: EhrAlgorithm, kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, privateKey, publicJwk };
}

/**
 * Fills the `{{…}}` tokens of a prefetch template: `context.<name>` from the hook context, and
 * `userPractitionerId` from a `Practitioner/<id>` user. Returns undefined when a token has no value.
 */
function fillTemplate(template: string, context: HookContext): string | undefined {
  const values: Record<string, string | undefined> = {
    'context.patientId': context.patientId,
    'context.encounterId': context.encounterId,
    'context.userId': context.userId,
    userPractitionerId: /^Practitioner\/(.+)$/.exec(context.userId ?? '')?.[1],
  };
  const token = /\{\{\s*([^}\s]+)\s*\}\}/g;
  const names = [...template.matchAll(token)].map((match) => match[1] ?? '');
  if (names.some((name) => values[name] === undefined)) return undefined;
  return template.replace(token, (_token, name: string) => encodeURIComponent(values[name] ?? ''));
}

function isOperationOutcome(body: unknown): boolean {
  return (
    typeof body === 'object' &&
    body !== null &&
    'resourceType' in body &&
    body.resourceType === 'OperationOutcome'
  );
}

function parseJsonOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function assertNoProblems(responseName: string, problems: readonly string[]): void {
  if (problems.length > 0) {
    throw new Error(`The ${responseName} breaks the CDS Hooks rules:\n${problems.join('\n')}`);
  }
}

/** Generates a random bearer secret with a recognisable prefix, e.g. `mock-ehr-access-3f9a…`. */
function newSecret(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString('hex')}`;
}
