/**
 * An EHR-side JWT issuer for tests: an ES384 key pair, its public JWKS, and a signer that builds
 * CDS Hooks tokens with every claim overridable so negative cases can break one thing at a time.
 */
import { randomUUID } from 'node:crypto';

import { SignJWT, exportJWK, generateKeyPair, type JWK, type JWTPayload } from 'jose';

export const TEST_ISSUER = 'https://ehr.test/fhir';
export const TEST_KID = 'ehr-key-1';

export interface TestIssuer {
  readonly jwks: { keys: JWK[] };
  readonly privateKey: CryptoKey;
  /** Signs a token for `aud` at `now`; `claims` and `header` override or add fields. */
  sign(options: SignOptions): Promise<string>;
}

export interface SignOptions {
  readonly aud: string;
  readonly now: Date;
  readonly claims?: JWTPayload;
  readonly header?: Record<string, unknown>;
  /** Omits these claims from the token. */
  readonly omit?: readonly string[];
}

export async function createTestIssuer(
  kid = TEST_KID,
  alg: 'ES384' | 'RS384' = 'ES384',
): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };

  return {
    jwks: { keys: [publicJwk] },
    privateKey,
    async sign({ aud, now, claims = {}, header = {}, omit = [] }) {
      const nowSeconds = Math.floor(now.getTime() / 1000);
      const full: JWTPayload = {
        iss: TEST_ISSUER,
        sub: 'ehr-client-1',
        aud,
        iat: nowSeconds,
        exp: nowSeconds + 300,
        jti: randomUUID(),
        ...claims,
      };
      const payload = Object.fromEntries(Object.entries(full).filter(([claim]) => !omit.includes(claim)));
      return new SignJWT(payload).setProtectedHeader({ alg, kid, typ: 'JWT', ...header }).sign(privateKey);
    },
  };
}

/** A compact JWS with `alg: none` and an empty signature, built by hand as an attacker would. */
export function unsecuredToken(payload: JWTPayload, kid = TEST_KID): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', kid, typ: 'JWT' })}.${encode(payload)}.`;
}
