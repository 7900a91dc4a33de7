/**
 * A test EHR's signing keys and the CDS Hooks JWTs it sends (CDS Hooks 2.0, "Trusting CDS Clients":
 * claims iss, aud, exp, iat, jti; header kid). Keys are generated per test run with jose.
 */
import { randomUUID } from 'node:crypto';

import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JSONWebKeySet } from 'jose';

/** Algorithm of the test EHR's keys, one the service allows by default. */
export const EHR_ALGORITHM = 'RS384';

export interface EhrKeys {
  readonly iss: string;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  /** The public JWKS the service is configured with. */
  readonly jwks: JSONWebKeySet;
}

/** Generates an RS384 key pair and its JWKS for the issuer `iss`. */
export async function createEhrKeys(iss: string, kid: string = randomUUID()): Promise<EhrKeys> {
  const { privateKey, publicKey } = await generateKeyPair(EHR_ALGORITHM, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { iss, kid, privateKey, jwks: { keys: [{ ...publicJwk, kid, alg: EHR_ALGORITHM, use: 'sig' }] } };
}

export interface CdsJwtClaims {
  /** URL of the CDS service called. */
  readonly aud: string;
  /** Lifetime from `iat`, in seconds; the CDS Hooks spec recommends at most 5 minutes. */
  readonly expiresInSeconds?: number;
  /** Issue time; defaults to now. */
  readonly issuedAt?: Date;
  readonly jti?: string;
  readonly sub?: string;
}

/** Signs a CDS Hooks JWT with the EHR's private key. */
export async function signCdsJwt(keys: EhrKeys, claims: CdsJwtClaims): Promise<string> {
  const issuedAtSeconds = Math.floor((claims.issuedAt ?? new Date()).getTime() / 1000);
  return await new SignJWT({ ...(claims.sub === undefined ? {} : { sub: claims.sub }) })
    .setProtectedHeader({ alg: EHR_ALGORITHM, typ: 'JWT', kid: keys.kid })
    .setIssuer(keys.iss)
    .setAudience(claims.aud)
    .setIssuedAt(issuedAtSeconds)
    .setExpirationTime(issuedAtSeconds + (claims.expiresInSeconds ?? 300))
    .setJti(claims.jti ?? randomUUID())
    .sign(keys.privateKey);
}
