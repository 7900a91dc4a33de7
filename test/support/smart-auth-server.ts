/**
 * A mock SMART on FHIR authorization server on loopback for the SMART app tests. It approves every
 * well-formed authorization request without a login page. It enforces the rules of a SMART App
 * Launch 2.0 server for a public client: the registered client id and redirect URI, a known
 * `launch`, and `aud` equal to the FHIR base. PKCE must use `code_challenge_method=S256`, each code
 * is used once, and the token endpoint checks the code verifier (RFC 7636 §4.6).
 *
 * The token response carries the launch context registered with {@link SmartAuthServer.registerLaunch}:
 * `patient`, `appContext` (the CDS card's appContext), `fhirContext` (e.g. a radiology viewer's
 * ImagingStudy) and `locale`. Every response allows any origin (CORS), because the app calls the
 * token endpoint from the browser.
 *
 * A standalone launch (an authorization request without `launch`) is accepted once a test set its
 * context with {@link SmartAuthServer.setStandaloneContext}, as an EHR's patient picker would choose
 * the patient. It must request `launch/patient` and must not request `launch`, which needs a launch id.
 *
 * @see https://hl7.org/fhir/smart-app-launch/STU2/app-launch.html
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.6
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';

import express from 'express';
import { SignJWT, generateKeyPair } from 'jose';

/** The context the EHR binds to one launch id. */
export interface SmartLaunchContext {
  readonly patient?: string;
  readonly appContext?: string;
  /** SMART 2.0 `fhirContext`, e.g. `[{ reference: 'ImagingStudy/123' }]`. */
  readonly fhirContext?: readonly Readonly<Record<string, unknown>>[];
  /** BCP 47 tag of the user's language, e.g. `zh-CN`. */
  readonly locale?: string;
  /**
   * The signed-in user, e.g. `Practitioner/123`. With the `openid` and `fhirUser` scopes the token
   * response carries an id_token (ES256, signed by this server) with this `fhirUser` claim.
   */
  readonly fhirUser?: string;
}

export interface SmartAuthServerOptions {
  /** FHIR base URL the `aud` parameter must name. */
  readonly fhirBaseUrl: string;
  readonly clientId: string;
  /** The one redirect URI registered for the client. */
  readonly redirectUri: string;
}

/** One request to the authorize or token endpoint and whether the server accepted it. */
export interface SmartAuthEvent {
  readonly endpoint: 'authorize' | 'token';
  readonly accepted: boolean;
  /** Why a request was rejected; absent when accepted. */
  readonly reason?: string;
  readonly codeChallengeMethod?: string;
  readonly scope?: string;
  /** Whether the authorization request carried a `launch` id; absent for token requests. */
  readonly launch?: boolean;
}

export interface SmartAuthServer {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** Body of `<FHIR base>/.well-known/smart-configuration` for this server. */
  smartConfiguration(): Record<string, unknown>;
  /** Stores a launch context and returns its new launch id. */
  registerLaunch(context: SmartLaunchContext): string;
  /** Sets the context of a standalone launch, as if the user picked that patient; undefined rejects them. */
  setStandaloneContext(context: SmartLaunchContext | undefined): void;
  /** Access tokens issued so far, oldest first. */
  issuedTokens(): readonly string[];
  /** Authorize and token requests received so far, oldest first. */
  events(): readonly SmartAuthEvent[];
  close(): Promise<void>;
}

/** An authorization code waiting to be exchanged. */
interface PendingCode {
  readonly codeChallenge: string;
  readonly context: SmartLaunchContext;
  readonly scope: string;
}

/** BASE64URL(SHA256(ASCII(code_verifier))), the S256 transform of RFC 7636 §4.2. */
function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

function randomToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Returns why an authorization request is rejected, or null when it is accepted. */
function authorizeProblem(
  query: Readonly<Record<string, string | undefined>>,
  options: SmartAuthServerOptions,
  context: SmartLaunchContext | undefined,
): string | null {
  if (query.response_type !== 'code') return `response_type is ${query.response_type}, expected code`;
  if (query.client_id !== options.clientId) return `unknown client_id ${query.client_id}`;
  if (query.redirect_uri !== options.redirectUri) return `unregistered redirect_uri ${query.redirect_uri}`;
  if (query.aud !== options.fhirBaseUrl) return `aud ${query.aud} is not the FHIR base`;
  if (query.code_challenge_method !== 'S256') {
    return `code_challenge_method is ${query.code_challenge_method}, expected S256`;
  }
  if (!/^[A-Za-z0-9_-]{43}$/.test(query.code_challenge ?? '')) return 'code_challenge is not an S256 value';
  if ((query.state ?? '') === '') return 'state is missing';
  const scopes = (query.scope ?? '').split(' ');
  if (query.launch === undefined) {
    if (!scopes.includes('launch/patient')) return 'standalone launch without the launch/patient scope';
    if (scopes.includes('launch')) return 'scope launch without a launch parameter';
    if (context === undefined) return 'standalone launch, but no standalone context is set';
    return null;
  }
  if (context === undefined) return `unknown launch ${query.launch}`;
  return null;
}

/** Returns why a token request is rejected, or null when it is accepted. */
function tokenProblem(
  body: Readonly<Record<string, string | undefined>>,
  options: SmartAuthServerOptions,
  pending: PendingCode | undefined,
): string | null {
  if (body.grant_type !== 'authorization_code') return `grant_type is ${body.grant_type}`;
  if (pending === undefined) return 'unknown or already used code';
  if (body.client_id !== options.clientId) return `client_id ${body.client_id}`;
  if (body.redirect_uri !== options.redirectUri) return `redirect_uri ${body.redirect_uri}`;
  if (s256(body.code_verifier ?? '') !== pending.codeChallenge) return 'code_verifier does not match';
  return null;
}

/** Starts the server on a free loopback port. */
export async function startSmartAuthServer(options: SmartAuthServerOptions): Promise<SmartAuthServer> {
  const launches = new Map<string, SmartLaunchContext>();
  let standaloneContext: SmartLaunchContext | undefined;
  const codes = new Map<string, PendingCode>();
  const tokens: string[] = [];
  const events: SmartAuthEvent[] = [];

  const app = express();
  app.use((request, response, next) => {
    response.set('Access-Control-Allow-Origin', '*');
    if (request.method === 'OPTIONS') {
      response.set('Access-Control-Allow-Headers', 'Content-Type, Accept').sendStatus(204);
      return;
    }
    next();
  });

  app.get('/authorize', (request, response) => {
    const query = request.query as Record<string, string | undefined>;
    const context = query.launch === undefined ? standaloneContext : launches.get(query.launch);
    const reason = authorizeProblem(query, options, context);
    if (reason !== null || context === undefined) {
      events.push({ endpoint: 'authorize', accepted: false, reason: reason ?? 'unknown launch' });
      // A wrong client or redirect URI must not be redirected to (RFC 6749 §4.1.2.1), so every
      // rejection is a plain 400 page.
      response.status(400).type('text/plain').send(reason);
      return;
    }

    const code = randomToken();
    const scope = query.scope ?? '';
    codes.set(code, { codeChallenge: query.code_challenge!, context, scope });
    events.push({
      endpoint: 'authorize',
      accepted: true,
      codeChallengeMethod: 'S256',
      scope,
      launch: query.launch !== undefined,
    });

    const redirect = new URL(options.redirectUri);
    redirect.searchParams.set('code', code);
    redirect.searchParams.set('state', query.state!);
    response.redirect(302, redirect.toString());
  });

  app.post('/token', express.urlencoded({ extended: false }), (request, response) => {
    const body = request.body as Record<string, string | undefined>;
    const pending = codes.get(body.code ?? '');
    // A code is used once, whether the exchange succeeds or not (RFC 6749 §4.1.2).
    codes.delete(body.code ?? '');
    const reason = tokenProblem(body, options, pending);
    if (reason !== null || pending === undefined) {
      events.push({ endpoint: 'token', accepted: false, reason: reason ?? 'unknown code' });
      response.status(400).json({ error: 'invalid_grant', error_description: reason });
      return;
    }

    const accessToken = randomToken();
    tokens.push(accessToken);
    events.push({ endpoint: 'token', accepted: true, scope: pending.scope });
    const { fhirUser, ...launchContext } = pending.context;
    const scopes = pending.scope.split(' ');
    const wantsIdToken = fhirUser !== undefined && scopes.includes('openid') && scopes.includes('fhirUser');
    void (wantsIdToken ? signIdToken(fhirUser) : Promise.resolve(undefined)).then((idToken) => {
      response.set('Cache-Control', 'no-store').json({
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: 3600,
        scope: pending.scope,
        ...(idToken === undefined ? {} : { id_token: idToken }),
        ...launchContext,
      });
    });
  });

  /** Signs an OpenID Connect id_token for `fhirUser` (SMART App Launch 2.0 §"Scopes for requesting identity data"). */
  const idTokenKey = await generateKeyPair('ES256');
  async function signIdToken(fhirUser: string): Promise<string> {
    return new SignJWT({ fhirUser })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(origin)
      .setAudience(options.clientId)
      .setSubject(fhirUser.replace('/', '-'))
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(idTokenKey.privateKey);
  }

  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => {
      resolve(listening);
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the SMART server has no TCP address');
  const origin = `http://127.0.0.1:${address.port}`;

  return {
    origin,
    smartConfiguration: () => ({
      issuer: origin,
      authorization_endpoint: `${origin}/authorize`,
      token_endpoint: `${origin}/token`,
      grant_types_supported: ['authorization_code'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none'],
      scopes_supported: ['launch', 'launch/patient', 'openid', 'fhirUser', 'patient/*.rs'],
      response_types_supported: ['code'],
      capabilities: [
        'launch-ehr',
        'launch-standalone',
        'client-public',
        'context-ehr-patient',
        'context-standalone-patient',
        'permission-v2',
      ],
    }),
    registerLaunch: (context) => {
      const launch = randomToken();
      launches.set(launch, context);
      return launch;
    },
    setStandaloneContext: (context) => {
      standaloneContext = context;
    },
    issuedTokens: () => [...tokens],
    events: () => [...events],
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}
