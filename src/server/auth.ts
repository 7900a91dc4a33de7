/**
 * Verification of the JWT an EHR sends with every CDS Hooks call (CDS Hooks 2.0, "Trusting CDS
 * Clients"). The token must:
 *
 * - come from an allowlisted issuer, and be signed with an allowlisted asymmetric algorithm by a key
 *   with a `kid` from that issuer's JWKS. The JWKS is inline (pinned) or fetched only from the
 *   issuer's configured `jwksUrl`, so a token cannot name its own key. A `jwk` header is ignored;
 * - name in its `jku` header, when it has one and the issuer's keys come from a `jwksUrl`, that same
 *   URL. CDS Hooks 2.0 lets the service trust a `jku` only when it is allowlisted for the issuer,
 *   and the configured `jwksUrl` is the one allowlisted entry. With pinned keys the `jku` is not
 *   checked: nothing is fetched from it, and the signature must verify with a pinned key anyway;
 * - carry `aud` equal to the URL of the service called (`${publicUrl}/cds-services/<id>`);
 * - carry `exp`, `iat` (not in the future, at most `maxTokenAgeSeconds` old) and a `jti` never seen
 *   before from that issuer;
 * - expire at most `maxTokenAgeSeconds` (plus the clock tolerance) from now. A token valid for
 *   years would otherwise hold its `jti` in the replay cache for years, and enough of them would
 *   fill it. Each `jti` is kept until `min(exp, iat + maxTokenAgeSeconds)` plus the tolerance,
 *   after which the token is rejected as expired or too old anyway.
 *
 * Every failure is `ERR_UNAUTHORIZED` with a `reason` in its details for the log, plus the name of
 * the failed claim when a claim check failed. The caller sees a bare 401.
 *
 * @see https://cds-hooks.hl7.org/2.0/#trusting-cds-clients
 */

import type { RequestHandler } from 'express';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTVerifyGetKey,
} from 'jose';

import { Nqo1Error } from '../errors.js';
import type { AppConfig } from './config.js';
import { MAX_REPLAY_ENTRIES, ReplayCache, type ReplayCacheStatus } from './replay-cache.js';

/** Reason a token was rejected, written to the log and never sent to the caller. */
export type AuthFailureReason =
  | 'missing_authorization'
  | 'not_bearer'
  | 'malformed_token'
  | 'alg_not_allowed'
  | 'missing_kid'
  | 'unknown_issuer'
  | 'jku_not_allowed'
  | 'unknown_kid'
  | 'bad_signature'
  | 'wrong_audience'
  | 'missing_claim'
  | 'invalid_claim'
  | 'expired'
  | 'token_too_old'
  | 'token_lifetime_too_long'
  | 'iat_in_future'
  | 'not_yet_valid'
  | 'replayed_jti'
  | 'replay_cache_full'
  | 'jwks_unavailable'
  | 'invalid_token';

/** The verified claims the service uses. */
export interface VerifiedCdsToken {
  readonly iss: string;
  readonly jti: string;
  /** Expiry, in seconds since the epoch. */
  readonly exp: number;
  /** The EHR's client id, when sent. */
  readonly sub?: string;
}

/** Timeout of one JWKS fetch, in milliseconds. */
const JWKS_TIMEOUT_MS = 5_000;

interface IssuerKeys {
  readonly algorithms: readonly string[];
  readonly getKey: JWTVerifyGetKey;
  /** The configured `jwksUrl` in its parsed form, the only `jku` a token may name; absent with pinned keys. */
  readonly jwksUrl?: URL;
}

export interface CdsJwtVerifierOptions {
  /** Clock; defaults to the system clock. Tests freeze it. */
  readonly now?: () => Date;
  /** Capacity of the replay cache; defaults to {@link MAX_REPLAY_ENTRIES}. */
  readonly replayCacheCapacity?: number;
}

/** Verifies CDS Hooks bearer tokens against the configured issuers. One instance per process. */
export class CdsJwtVerifier {
  readonly #issuers: ReadonlyMap<string, IssuerKeys>;
  readonly #auth: AppConfig['auth'];
  readonly #now: () => Date;
  /** One replay cache per issuer, so that one issuer filling its cache cannot lock out the others. */
  readonly #replayCaches: ReadonlyMap<string, ReplayCache>;

  constructor(auth: AppConfig['auth'], options: CdsJwtVerifierOptions = {}) {
    this.#auth = auth;
    this.#now = options.now ?? (() => new Date());
    const capacity = options.replayCacheCapacity ?? MAX_REPLAY_ENTRIES;
    this.#replayCaches = new Map(auth.issuers.map((issuer) => [issuer.iss, new ReplayCache(capacity)]));
    this.#issuers = new Map(auth.issuers.map((issuer) => [issuer.iss, issuerKeys(issuer)]));
  }

  /**
   * Verifies the `Authorization` header of a call to the service whose URL is `audience`.
   *
   * @throws Nqo1Error `ERR_UNAUTHORIZED` with `details.reason` an {@link AuthFailureReason}.
   */
  async verify(authorization: string | undefined, audience: string): Promise<VerifiedCdsToken> {
    if (authorization === undefined || authorization === '') reject('missing_authorization');
    const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(authorization);
    const token = match?.[1];
    if (token === undefined) reject('not_bearer');

    const { alg, kid, jku, iss } = readUnverifiedHeaderAndIssuer(token);
    if (alg === undefined || alg === 'none' || alg.startsWith('HS')) reject('alg_not_allowed');
    if (kid === undefined || kid === '') reject('missing_kid');
    if (iss === undefined) reject('missing_claim', { claim: 'iss' });
    const issuer = this.#issuers.get(iss);
    if (issuer === undefined) reject('unknown_issuer', { iss: iss.slice(0, 200) });
    if (!issuer.algorithms.includes(alg)) reject('alg_not_allowed', { iss, alg });
    // The jku itself is not logged: it is a URL of the caller's choosing.
    if (jku !== undefined && !isAllowedJku(jku, issuer)) reject('jku_not_allowed', { iss });

    const now = this.#now();
    let payload;
    try {
      ({ payload } = await jwtVerify(token, issuer.getKey, {
        issuer: iss,
        audience,
        algorithms: [...issuer.algorithms],
        requiredClaims: ['exp', 'iat', 'jti'],
        maxTokenAge: this.#auth.maxTokenAgeSeconds,
        clockTolerance: this.#auth.clockToleranceSeconds,
        currentDate: now,
      }));
    } catch (error) {
      reject(reasonForJoseError(error), { iss, ...failedClaim(error) }, error);
    }

    const { jti, exp, iat, sub } = payload;
    if (typeof jti !== 'string' || jti === '' || exp === undefined || iat === undefined) {
      reject('invalid_claim', { iss });
    }

    const { maxTokenAgeSeconds, clockToleranceSeconds } = this.#auth;
    const nowSeconds = now.getTime() / 1000;
    if (exp > nowSeconds + maxTokenAgeSeconds + clockToleranceSeconds) {
      reject('token_lifetime_too_long', { iss, maxTokenAgeSeconds: String(maxTokenAgeSeconds) });
    }

    const keepUntilSeconds = Math.min(exp, iat + maxTokenAgeSeconds) + clockToleranceSeconds;
    const replayCache = this.#replayCaches.get(iss);
    if (replayCache === undefined) reject('unknown_issuer', { iss });
    const remembered = replayCache.remember(jti, keepUntilSeconds, now);
    if (remembered !== 'new') reject(remembered === 'full' ? 'replay_cache_full' : 'replayed_jti', { iss });

    return { iss, jti, exp, ...(sub === undefined ? {} : { sub }) };
  }

  /**
   * Fill level of the replay caches after removing expired entries: the entries of all issuers,
   * the capacity of each issuer's cache, and `full` when some issuer's cache is full, which means
   * that issuer's new tokens are rejected until entries expire.
   */
  replayCacheStatus(): ReplayCacheStatus {
    const now = this.#now();
    const statuses = [...this.#replayCaches.values()].map((cache) => cache.status(now));
    return {
      entries: statuses.reduce((sum, status) => sum + status.entries, 0),
      capacity: statuses[0]?.capacity ?? 0,
      full: statuses.some((status) => status.full),
    };
  }
}

/**
 * Express middleware that verifies the token for the service at `audience` before the handler
 * runs, passing an `ERR_UNAUTHORIZED` error to the error middleware on failure.
 */
export function requireCdsJwt(verifier: CdsJwtVerifier, audience: string): RequestHandler {
  return (req, res, next) => {
    verifier.verify(req.get('authorization'), audience).then((token) => {
      res.locals.cdsToken = token;
      next();
    }, next);
  };
}

function reject(reason: AuthFailureReason, details: Record<string, string> = {}, cause?: unknown): never {
  throw new Nqo1Error('ERR_UNAUTHORIZED', `CDS Hooks JWT rejected: ${reason}`, {
    details: { reason, ...details },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Builds the key lookup of one configured issuer: its pinned JWKS, or a JWKS fetched from `jwksUrl`. */
function issuerKeys(issuer: AppConfig['auth']['issuers'][number]): IssuerKeys {
  if (issuer.jwks !== undefined) {
    return { algorithms: issuer.algorithms, getKey: createLocalJWKSet(issuer.jwks) };
  }
  const jwksUrl = new URL(issuer.jwksUrl ?? '');
  return {
    algorithms: issuer.algorithms,
    getKey: createRemoteJWKSet(jwksUrl, { timeoutDuration: JWKS_TIMEOUT_MS }),
    jwksUrl,
  };
}

/**
 * Checks a token's `jku` header against the issuer. With pinned keys any value is allowed, because
 * it is never fetched. With a `jwksUrl` only that URL is allowed. Both are compared after URL
 * parsing, so `HTTPS://Ehr.example/jwks` equals `https://ehr.example/jwks`, while another path,
 * query, port or scheme differs.
 */
function isAllowedJku(jku: string, issuer: IssuerKeys): boolean {
  if (issuer.jwksUrl === undefined) return true;
  if (!URL.canParse(jku)) return false;
  return new URL(jku).href === issuer.jwksUrl.href;
}

/** Reads `alg`, `kid`, `jku` and `iss` before verification, to choose the issuer's keys and algorithms. */
function readUnverifiedHeaderAndIssuer(token: string): {
  alg?: string;
  kid?: string;
  jku?: string;
  iss?: string;
} {
  try {
    const header = decodeProtectedHeader(token);
    const { iss } = decodeJwt(token);
    return {
      ...(header.alg === undefined ? {} : { alg: header.alg }),
      ...(header.kid === undefined ? {} : { kid: header.kid }),
      // A jku that is not a string can match no URL, so it becomes one that cannot be parsed.
      ...(header.jku === undefined ? {} : { jku: typeof header.jku === 'string' ? header.jku : '' }),
      ...(iss === undefined ? {} : { iss }),
    };
  } catch (error) {
    return reject('malformed_token', {}, error);
  }
}

/**
 * Returns the name of the claim a jose claim check failed on (`aud`, `iat`, `nbf`, …), so the log
 * tells a missing `aud` from a missing `jti`. Only the name is logged, never the claim's value.
 */
function failedClaim(error: unknown): { claim?: string } {
  if (error instanceof joseErrors.JWTClaimValidationFailed || error instanceof joseErrors.JWTExpired) {
    return { claim: error.claim };
  }
  return {};
}

/** Maps a jose verification error to the reason logged for it. */
function reasonForJoseError(error: unknown): AuthFailureReason {
  if (error instanceof joseErrors.JWTExpired) return error.claim === 'iat' ? 'token_too_old' : 'expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return 'missing_claim';
    switch (error.claim) {
      case 'aud':
        return 'wrong_audience';
      case 'iss':
        return 'unknown_issuer';
      case 'iat':
        return 'iat_in_future';
      case 'nbf':
        return 'not_yet_valid';
      default:
        return 'invalid_claim';
    }
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'unknown_kid';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'alg_not_allowed';
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid)
    return 'jwks_unavailable';
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid)
    return 'malformed_token';
  if (error instanceof TypeError) return 'jwks_unavailable';
  return 'invalid_token';
}
