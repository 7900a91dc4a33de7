import { randomUUID } from 'node:crypto';

import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import request from 'supertest';
import { afterEach, describe, expect, test } from 'vitest';

import {
  createTestIssuer,
  TEST_ISSUER,
  TEST_KID,
  unsecuredToken,
  type TestIssuer,
} from '../support/cds-jwt.js';
import { createHarness, hookRequest, HOOK_URL, type Harness } from '../support/cds-fixtures.js';
import { startLoopbackListener, type LoopbackListener } from '../support/loopback-listener.js';

/** The verifier's frozen clock; tokens are dated relative to it. */
const NOW = new Date('2026-12-04T12:00:00Z');
const NOW_SECONDS = NOW.getTime() / 1000;

let harness: Harness | undefined;
const listeners: LoopbackListener[] = [];

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await Promise.all(listeners.splice(0).map((listener) => listener.close()));
});

async function post(h: Harness, authorization: string | undefined): Promise<request.Response> {
  const call = request(h.app).post('/cds-services/nqo1-risk');
  if (authorization !== undefined) call.set('Authorization', authorization);
  return call.send(hookRequest());
}

/** Returns the `details` of the last `request rejected` log line. */
function loggedDetails(h: Harness): Record<string, unknown> | undefined {
  const rejected = h.logs.withMessage('request rejected');
  return rejected.at(-1)?.details as Record<string, unknown> | undefined;
}

/** The `reason` of the last `request rejected` log line. */
function loggedReason(h: Harness): unknown {
  return loggedDetails(h)?.reason;
}

/** Signs a token with a fresh key that the service does not trust, under the trusted kid. */
async function signWithForeignKey(
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const { privateKey } = await generateKeyPair('ES384');
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES384', kid: TEST_KID, ...header }).sign(privateKey);
}

function validClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: TEST_ISSUER,
    aud: HOOK_URL,
    iat: NOW_SECONDS,
    exp: NOW_SECONDS + 300,
    jti: randomUUID(),
    ...overrides,
  };
}

describe('CDS Hooks JWT verification', () => {
  test('accepts a valid token', async () => {
    harness = await createHarness({ now: () => NOW });
    const token = await harness.issuer.sign({ aud: HOOK_URL, now: NOW });
    const response = await post(harness, `Bearer ${token}`);

    expect(response.status).toBe(200);
    expect(harness.logs.withMessage('request rejected')).toEqual([]);
  });

  type Case = readonly [
    name: string,
    reason: string,
    makeHeader: (h: Harness) => Promise<string | undefined>,
  ];
  const cases: readonly Case[] = [
    ['no Authorization header', 'missing_authorization', () => Promise.resolve(undefined)],
    ['Basic scheme', 'not_bearer', () => Promise.resolve('Basic dXNlcjpwYXNz')],
    ['garbage token', 'malformed_token', () => Promise.resolve('Bearer not-a-jwt')],
    ['bad signature', 'bad_signature', async () => `Bearer ${await signWithForeignKey(validClaims())}`],
    [
      'unknown issuer',
      'unknown_issuer',
      async (h) =>
        `Bearer ${await h.issuer.sign({ aud: HOOK_URL, now: NOW, claims: { iss: 'https://other-ehr.test' } })}`,
    ],
    [
      'wrong audience',
      'wrong_audience',
      async (h) =>
        `Bearer ${await h.issuer.sign({ aud: 'http://127.0.0.1:8080/cds-services/other', now: NOW })}`,
    ],
    [
      'expired token',
      'expired',
      async (h) =>
        `Bearer ${await h.issuer.sign({ aud: HOOK_URL, now: NOW, claims: { iat: NOW_SECONDS - 200, exp: NOW_SECONDS - 60 } })}`,
    ],
    [
      'token older than maxTokenAgeSeconds',
      'token_too_old',
      async (h) =>
        `Bearer ${await h.issuer.sign({ aud: HOOK_URL, now: NOW, claims: { iat: NOW_SECONDS - 400, exp: NOW_SECONDS + 60 } })}`,
    ],
    [
      'iat in the future',
      'iat_in_future',
      async (h) =>
        `Bearer ${await h.issuer.sign({ aud: HOOK_URL, now: NOW, claims: { iat: NOW_SECONDS + 120, exp: NOW_SECONDS + 400 } })}`,
    ],
    [
      'token valid for three years',
      'token_lifetime_too_long',
      async (h) =>
        `Bearer ${await h.issuer.sign({ aud: HOOK_URL, now: NOW, claims: { exp: NOW_SECONDS + 3 * 365 * 86_400 } })}`,
    ],
    [
      'exp beyond maxTokenAgeSeconds plus tolerance',
      'token_lifetime_too_long',
      async (h) =>
        `Bearer ${await h.issuer.sign({ aud: HOOK_URL, now: NOW, claims: { exp: NOW_SECONDS + 306 } })}`,
    ],
    ['alg none', 'alg_not_allowed', () => Promise.resolve(`Bearer ${unsecuredToken(validClaims())}`)],
    [
      'HS256 with a shared secret',
      'alg_not_allowed',
      async () =>
        `Bearer ${await new SignJWT(validClaims())
          .setProtectedHeader({ alg: 'HS256', kid: TEST_KID })
          .sign(new TextEncoder().encode('a-shared-secret-of-32-bytes-long!'))}`,
    ],
    [
      'algorithm not allowed for the issuer',
      'alg_not_allowed',
      async () => {
        const { privateKey } = await generateKeyPair('ES256');
        return `Bearer ${await new SignJWT(validClaims()).setProtectedHeader({ alg: 'ES256', kid: TEST_KID }).sign(privateKey)}`;
      },
    ],
    [
      'missing kid',
      'missing_kid',
      async (h) =>
        `Bearer ${await new SignJWT(validClaims()).setProtectedHeader({ alg: 'ES384' }).sign(h.issuer.privateKey)}`,
    ],
    [
      'unknown kid',
      'unknown_kid',
      async (h) =>
        `Bearer ${await h.issuer.sign({ aud: HOOK_URL, now: NOW, header: { kid: 'rotated-away' } })}`,
    ],
    [
      'missing jti',
      'missing_claim',
      async (h) => `Bearer ${await h.issuer.sign({ aud: HOOK_URL, now: NOW, omit: ['jti'] })}`,
    ],
    [
      'missing exp',
      'missing_claim',
      async (h) => `Bearer ${await h.issuer.sign({ aud: HOOK_URL, now: NOW, omit: ['exp'] })}`,
    ],
    [
      'missing iat',
      'missing_claim',
      async (h) => `Bearer ${await h.issuer.sign({ aud: HOOK_URL, now: NOW, omit: ['iat'] })}`,
    ],
    [
      'missing aud',
      'missing_claim',
      async (h) => `Bearer ${await h.issuer.sign({ aud: HOOK_URL, now: NOW, omit: ['aud'] })}`,
    ],
    [
      'nbf in the future',
      'not_yet_valid',
      async (h) =>
        `Bearer ${await h.issuer.sign({ aud: HOOK_URL, now: NOW, claims: { nbf: NOW_SECONDS + 120 } })}`,
    ],
  ];

  test.each(cases)('rejects %s', async (_name, reason, makeHeader) => {
    harness = await createHarness({ now: () => NOW });
    const authorization = await makeHeader(harness);
    const response = await post(harness, authorization);

    expect(response.status).toBe(401);
    expect(response.text).toBe('');
    expect(loggedReason(harness)).toBe(reason);
    const token = authorization?.split(' ')[1];
    if (token !== undefined) expect(harness.logs.text()).not.toContain(token);
  });

  test.each([
    ['jti', 'missing jti'],
    ['exp', 'missing exp'],
    ['iat', 'missing iat'],
    ['aud', 'missing aud'],
  ])('logs the missing claim %s', async (claim) => {
    harness = await createHarness({ now: () => NOW });
    const token = await harness.issuer.sign({ aud: HOOK_URL, now: NOW, omit: [claim] });

    expect((await post(harness, `Bearer ${token}`)).status).toBe(401);
    expect(loggedDetails(harness)).toMatchObject({ reason: 'missing_claim', claim });
  });

  test('logs the claim of an nbf in the future', async () => {
    harness = await createHarness({ now: () => NOW });
    const token = await harness.issuer.sign({ aud: HOOK_URL, now: NOW, claims: { nbf: NOW_SECONDS + 120 } });

    expect((await post(harness, `Bearer ${token}`)).status).toBe(401);
    expect(loggedDetails(harness)).toMatchObject({ reason: 'not_yet_valid', claim: 'nbf' });
  });

  test('accepts nbf within the clock tolerance', async () => {
    harness = await createHarness({ now: () => NOW });
    const token = await harness.issuer.sign({ aud: HOOK_URL, now: NOW, claims: { nbf: NOW_SECONDS + 4 } });

    expect((await post(harness, `Bearer ${token}`)).status).toBe(200);
  });

  test('rejects a hook token replayed on the feedback endpoint', async () => {
    harness = await createHarness({ now: () => NOW });
    const authorization = `Bearer ${await harness.issuer.sign({ aud: HOOK_URL, now: NOW })}`;

    const hook = await post(harness, authorization);
    const feedback = await request(harness.app)
      .post('/cds-services/nqo1-risk/feedback')
      .set('Authorization', authorization)
      .send({ feedback: [] });

    expect(hook.status).toBe(200);
    expect(feedback.status).toBe(401);
    expect(feedback.text).toBe('');
    // The audience is checked before the jti, so the log names the endpoint mix-up, not a replay.
    expect(loggedDetails(harness)).toMatchObject({ reason: 'wrong_audience', claim: 'aud' });
  });

  test('rejects an unused hook token on the feedback endpoint', async () => {
    harness = await createHarness({ now: () => NOW });
    const hookToken = await harness.issuer.sign({ aud: HOOK_URL, now: NOW });
    const feedbackToken = await harness.issuer.sign({ aud: `${HOOK_URL}/feedback`, now: NOW });

    const wrong = await request(harness.app)
      .post('/cds-services/nqo1-risk/feedback')
      .set('Authorization', `Bearer ${hookToken}`)
      .send({ feedback: [] });
    const rejectedCount = harness.logs.withMessage('request rejected').length;
    const wrongReason = loggedReason(harness);
    const right = await request(harness.app)
      .post('/cds-services/nqo1-risk/feedback')
      .set('Authorization', `Bearer ${feedbackToken}`)
      .send({ feedback: [] });

    expect(wrong.status).toBe(401);
    expect(wrongReason).toBe('wrong_audience');
    // Whatever the feedback endpoint does with the body, the token for its own URL passes the JWT check.
    expect(right.status).not.toBe(401);
    expect(
      harness.logs
        .withMessage('request rejected')
        .slice(rejectedCount)
        .map((entry) => (entry.details as Record<string, unknown> | undefined)?.reason),
    ).not.toContain('wrong_audience');
  });

  test('rejects a replayed jti', async () => {
    harness = await createHarness({ now: () => NOW });
    const authorization = `Bearer ${await harness.issuer.sign({ aud: HOOK_URL, now: NOW })}`;

    const first = await post(harness, authorization);
    const replay = await post(harness, authorization);

    expect(first.status).toBe(200);
    expect(replay.status).toBe(401);
    expect(replay.text).toBe('');
    expect(loggedReason(harness)).toBe('replayed_jti');
  });

  test('accepts aud on a changed port without publicUrl', async () => {
    harness = await createHarness({ now: () => NOW, configOverrides: { server: { port: 9090 } } });
    const token = await harness.issuer.sign({
      aud: 'http://127.0.0.1:9090/cds-services/nqo1-risk',
      now: NOW,
    });

    expect((await post(harness, `Bearer ${token}`)).status).toBe(200);
  });

  test('accepts exp at the lifetime limit', async () => {
    harness = await createHarness({ now: () => NOW });
    const token = await harness.issuer.sign({ aud: HOOK_URL, now: NOW, claims: { exp: NOW_SECONDS + 305 } });

    expect((await post(harness, `Bearer ${token}`)).status).toBe(200);
  });

  test('forgets a jti once its token is too old', async () => {
    let clock = NOW;
    harness = await createHarness({ now: () => clock, replayCacheCapacity: 1 });
    // iat 200 s ago and exp in 300 s: the token is too old 100 s from now (maxTokenAgeSeconds 300),
    // so its jti is kept until then plus the 5 s tolerance, not until exp.
    const first = await harness.issuer.sign({
      aud: HOOK_URL,
      now: NOW,
      claims: { iat: NOW_SECONDS - 200, exp: NOW_SECONDS + 300 },
    });
    expect((await post(harness, `Bearer ${first}`)).status).toBe(200);

    clock = new Date(NOW.getTime() + 110_000);
    const second = await harness.issuer.sign({ aud: HOOK_URL, now: clock });
    const response = await post(harness, `Bearer ${second}`);

    expect(response.status).toBe(200);
    expect(harness.logs.withMessage('request rejected')).toEqual([]);
  });

  test('reports a full replay cache until entries expire', async () => {
    let clock = NOW;
    harness = await createHarness({ now: () => clock, replayCacheCapacity: 2 });
    for (let index = 0; index < 2; index += 1) {
      const token = await harness.issuer.sign({ aud: HOOK_URL, now: clock });
      expect((await post(harness, `Bearer ${token}`)).status).toBe(200);
    }

    const rejected = await post(
      harness,
      `Bearer ${await harness.issuer.sign({ aud: HOOK_URL, now: clock })}`,
    );
    const fullHealth = await request(harness.app).get('/healthz');

    expect(rejected.status).toBe(401);
    expect(loggedReason(harness)).toBe('replay_cache_full');
    expect(fullHealth.status).toBe(503);
    expect(fullHealth.body).toMatchObject({
      status: 'degraded',
      replayCache: { entries: 2, capacity: 2, full: true },
    });

    // Both entries expire at iat + 300 s + 5 s tolerance; the next call purges them before checking.
    clock = new Date(NOW.getTime() + 306_000);
    const accepted = await post(
      harness,
      `Bearer ${await harness.issuer.sign({ aud: HOOK_URL, now: clock })}`,
    );
    const health = await request(harness.app).get('/healthz');

    expect(accepted.status).toBe(200);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', replayCache: { entries: 1, full: false } });
  });

  test('keeps a full cache to its own issuer', async () => {
    const other = await createTestIssuer('other-key');
    const otherIss = 'https://other-ehr.test/fhir';
    const first = await createTestIssuer();
    harness = await createHarness({
      now: () => NOW,
      replayCacheCapacity: 1,
      configOverrides: {
        auth: {
          issuers: [
            { iss: TEST_ISSUER, jwks: first.jwks, algorithms: ['ES384'] },
            { iss: otherIss, jwks: other.jwks, algorithms: ['ES384'] },
          ],
        },
      },
      issuer: first,
    });

    const fill = await first.sign({ aud: HOOK_URL, now: NOW });
    expect((await post(harness, `Bearer ${fill}`)).status).toBe(200);
    const blocked = await first.sign({ aud: HOOK_URL, now: NOW });
    expect((await post(harness, `Bearer ${blocked}`)).status).toBe(401);
    expect(loggedReason(harness)).toBe('replay_cache_full');

    const fromOther = await other.sign({ aud: HOOK_URL, now: NOW, claims: { iss: otherIss } });
    expect((await post(harness, `Bearer ${fromOther}`)).status).toBe(200);
  });

  test('health recovers once entries expire', async () => {
    let clock = NOW;
    harness = await createHarness({ now: () => clock, replayCacheCapacity: 1 });
    const token = await harness.issuer.sign({ aud: HOOK_URL, now: clock });
    expect((await post(harness, `Bearer ${token}`)).status).toBe(200);
    const rejected = await harness.issuer.sign({ aud: HOOK_URL, now: clock });
    expect((await post(harness, `Bearer ${rejected}`)).status).toBe(401);
    expect((await request(harness.app).get('/healthz')).status).toBe(503);

    clock = new Date(NOW.getTime() + 306_000);
    const health = await request(harness.app).get('/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ replayCache: { entries: 0, full: false } });
  });

  /** Starts a loopback JWKS endpoint serving `issuer`'s public keys, and configures the harness with it. */
  async function harnessWithJwksUrl(issuer: TestIssuer): Promise<{ h: Harness; jwksUrl: string }> {
    const jwksServer = await startLoopbackListener((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(issuer.jwks));
    });
    listeners.push(jwksServer);
    const jwksUrl = `${jwksServer.origin}/jwks.json`;
    const h = await createHarness({
      now: () => NOW,
      configOverrides: { auth: { issuers: [{ iss: TEST_ISSUER, jwksUrl }] } },
    });
    return { h, jwksUrl };
  }

  test('fetches keys only from the configured jwksUrl', async () => {
    const issuer = await createTestIssuer('remote-key');
    const jwksServer = await startLoopbackListener((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(issuer.jwks));
    });
    listeners.push(jwksServer);
    harness = await createHarness({
      now: () => NOW,
      configOverrides: {
        auth: { issuers: [{ iss: TEST_ISSUER, jwksUrl: `${jwksServer.origin}/jwks.json` }] },
      },
    });

    const valid = await post(harness, `Bearer ${await issuer.sign({ aud: HOOK_URL, now: NOW })}`);
    const attackerKey = await generateKeyPair('ES384');
    const attackerJwk = await exportJWK(attackerKey.publicKey);
    const withJwk = await new SignJWT(validClaims())
      .setProtectedHeader({ alg: 'ES384', kid: 'remote-key', jwk: attackerJwk })
      .sign(attackerKey.privateKey);
    const forged = await post(harness, `Bearer ${withJwk}`);

    expect(valid.status).toBe(200);
    expect(jwksServer.requestCount()).toBeGreaterThanOrEqual(1);
    expect(forged.status).toBe(401);
    expect(loggedReason(harness)).toBe('bad_signature');
  });

  test('rejects a jku other than the jwksUrl', async () => {
    const issuer = await createTestIssuer('remote-key');
    const attacker = await startLoopbackListener((_req, res) => {
      res.end('{"keys":[]}');
    });
    listeners.push(attacker);
    const { h } = await harnessWithJwksUrl(issuer);
    harness = h;
    const token = await issuer.sign({
      aud: HOOK_URL,
      now: NOW,
      header: { jku: `${attacker.origin}/jwks.json` },
    });
    const response = await post(h, `Bearer ${token}`);

    expect(response.status).toBe(401);
    expect(response.text).toBe('');
    expect(loggedReason(h)).toBe('jku_not_allowed');
    expect(loggedDetails(h)?.iss).toBe(TEST_ISSUER);
    expect(h.logs.text()).not.toContain(attacker.origin);
    expect(attacker.connectionCount()).toBe(0);
  });

  test.each([
    ['another path on the same host', (jwksUrl: string) => jwksUrl.replace('/jwks.json', '/other.json')],
    ['the same URL with a query', (jwksUrl: string) => `${jwksUrl}?kid=remote-key`],
    ['a relative reference', () => '/jwks.json'],
    ['a number', () => 42],
  ])('rejects a jku that is %s', async (_name, makeJku) => {
    const issuer = await createTestIssuer('remote-key');
    const { h, jwksUrl } = await harnessWithJwksUrl(issuer);
    harness = h;
    const token = await issuer.sign({ aud: HOOK_URL, now: NOW, header: { jku: makeJku(jwksUrl) } });
    const response = await post(h, `Bearer ${token}`);

    expect(response.status).toBe(401);
    expect(loggedReason(h)).toBe('jku_not_allowed');
  });

  test('accepts a jku equal to the jwksUrl', async () => {
    const issuer = await createTestIssuer('remote-key');
    const { h, jwksUrl } = await harnessWithJwksUrl(issuer);
    harness = h;
    const exact = await issuer.sign({ aud: HOOK_URL, now: NOW, header: { jku: jwksUrl } });
    // URL parsing lower-cases the scheme and host, so this names the same JWKS.
    const upperCase = await issuer.sign({
      aud: HOOK_URL,
      now: NOW,
      header: { jku: jwksUrl.replace('http://', 'HTTP://') },
    });

    expect((await post(h, `Bearer ${exact}`)).status).toBe(200);
    expect((await post(h, `Bearer ${upperCase}`)).status).toBe(200);
    expect(h.logs.withMessage('request rejected')).toEqual([]);
  });

  test('ignores a jku with pinned keys', async () => {
    const elsewhere = await startLoopbackListener((_req, res) => {
      res.end('{"keys":[]}');
    });
    listeners.push(elsewhere);
    harness = await createHarness({ now: () => NOW });
    const token = await harness.issuer.sign({
      aud: HOOK_URL,
      now: NOW,
      header: { jku: `${elsewhere.origin}/jwks.json` },
    });
    const response = await post(harness, `Bearer ${token}`);

    expect(response.status).toBe(200);
    expect(elsewhere.connectionCount()).toBe(0);
  });

  test('rejects a foreign key behind a pinned-keys jku', async () => {
    harness = await createHarness({ now: () => NOW });
    const forged = await signWithForeignKey(validClaims(), { jku: 'https://ehr.test/jwks.json' });
    const response = await post(harness, `Bearer ${forged}`);

    expect(response.status).toBe(401);
    expect(loggedReason(harness)).toBe('bad_signature');
  });

  test('rejects when the JWKS server is down', async () => {
    const silent = await startLoopbackListener();
    await silent.close();
    harness = await createHarness({
      now: () => NOW,
      configOverrides: { auth: { issuers: [{ iss: TEST_ISSUER, jwksUrl: `${silent.origin}/jwks.json` }] } },
    });
    const response = await post(harness, `Bearer ${await harness.issuer.sign({ aud: HOOK_URL, now: NOW })}`);

    expect(response.status).toBe(401);
    expect(loggedReason(harness)).toBe('jwks_unavailable');
  });
});
