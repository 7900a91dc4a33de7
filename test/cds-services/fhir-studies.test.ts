/**
 * The hook without a usable `studies` prefetch: it searches the request's `fhirServer` with the
 * `fhirAuthorization` token. A loopback listener plays the FHIR server and records what it received.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import request from 'supertest';
import { afterEach, describe, expect, test } from 'vitest';

import { Nqo1Error } from '../../src/errors.js';
import type { AnalyseStudy, AnalysisJob } from '../../src/jobs/types.js';
import type { CdsResponse } from '../../src/server/cds-types.js';
import type { OperationOutcome } from '../../src/server/outcome.js';
import { readStudiesFromFhir } from '../../cds-services/nqo1-risk/fhir-studies.js';
import { validateCdsResponse } from '../support/cds-response.js';
import {
  createHarness,
  hookRequest,
  imagingStudy,
  PATIENT,
  PATIENT_ID,
  searchsetBundle,
  type Harness,
} from '../support/cds-fixtures.js';
import { startLoopbackListener, type LoopbackListener } from '../support/loopback-listener.js';
import { captureLogs } from '../support/log-capture.js';
import { uncalibratedResult } from '../support/score-result.js';

const TOKEN = 'fhir-access-token-7f3a9c1e5b';
const FHIR_PATH = '/fhir/R4';
const FHIR_AUTHORIZATION = {
  access_token: TOKEN,
  token_type: 'Bearer',
  expires_in: 300,
  scope: 'patient/ImagingStudy.read',
  subject: 'nqo1-cds',
};

let harness: Harness | undefined;
const listeners: LoopbackListener[] = [];

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  for (const listener of listeners.splice(0)) await listener.close();
});

interface SeenRequest {
  readonly url: URL;
  readonly authorization: string | undefined;
}

/** A fake FHIR server: `respond` handles each request, and every request is recorded. */
async function startFakeFhir(
  respond: (url: URL, response: ServerResponse, origin: string) => void,
): Promise<{ listener: LoopbackListener; base: string; seen: SeenRequest[] }> {
  const seen: SeenRequest[] = [];
  let origin = '';
  const listener = await startLoopbackListener((incoming: IncomingMessage, response) => {
    const url = new URL(incoming.url ?? '/', origin);
    seen.push({ url, authorization: incoming.headers.authorization });
    respond(url, response, origin);
  });
  origin = listener.origin;
  listeners.push(listener);
  return { listener, base: `${origin}${FHIR_PATH}`, seen };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/fhir+json' });
  response.end(JSON.stringify(body));
}

/** Creates a fake analyser that records its jobs. */
function recordingAnalyse(): { analyse: AnalyseStudy; jobs: AnalysisJob[] } {
  const jobs: AnalysisJob[] = [];
  return {
    jobs,
    analyse: (job) => {
      jobs.push(job);
      return Promise.resolve({ result: uncalibratedResult() });
    },
  };
}

/** A harness whose FHIR allowlist contains only `base`. */
async function harnessFor(base: string, analyse?: AnalyseStudy, timeoutMs = 2_000): Promise<Harness> {
  return createHarness({
    ...(analyse === undefined ? {} : { analyse }),
    configOverrides: { fhir: { baseUrl: base, allowedBaseUrls: [base], timeoutMs } },
  });
}

/** Calls the hook without a studies prefetch; every 200 is checked against the CDS Hooks rules. */
async function callWithoutPrefetch(
  h: Harness,
  base: string,
  overrides: Record<string, unknown> = {},
): Promise<request.Response> {
  const response = await request(h.app)
    .post('/cds-services/nqo1-risk')
    .set('Authorization', await h.authorization())
    .send(
      hookRequest({
        prefetch: { patient: PATIENT },
        fhirServer: base,
        fhirAuthorization: FHIR_AUTHORIZATION,
        ...overrides,
      }),
    );
  if (response.status === 200) expect(validateCdsResponse(response.body as unknown)).toEqual([]);
  return response;
}

function errorCodeOf(response: request.Response): string | undefined {
  return (JSON.parse(response.text) as OperationOutcome).issue[0].details.coding[0].code;
}

/** Asserts that neither the token nor the patient id reached a log line. */
function expectCleanLogs(h: Harness): void {
  expect(h.logs.text()).not.toContain(TOKEN);
  expect(h.logs.text()).not.toContain(PATIENT_ID);
}

describe('hook without a studies prefetch, reading fhirServer', () => {
  test('one page with bearer token', async () => {
    const fhir = await startFakeFhir((_url, response) => {
      sendJson(
        response,
        200,
        searchsetBundle([
          imagingStudy({ id: 'study-1', uid: '1.2.826.0.1.1', started: '2026-11-02T09:00:00Z' }),
        ]),
      );
    });
    const { analyse, jobs } = recordingAnalyse();
    harness = await harnessFor(fhir.base, analyse);

    const response = await callWithoutPrefetch(harness, fhir.base);

    expect(response.status).toBe(200);
    const body = response.body as CdsResponse;
    expect(body.cards).toHaveLength(1);
    expect(body.cards[0]?.summary).toBe('NQO1 risk: analysis of the liver CT in progress');
    expect(fhir.seen).toHaveLength(1);
    const [seen] = fhir.seen;
    expect(seen?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(seen?.url.pathname).toBe(`${FHIR_PATH}/ImagingStudy`);
    expect(Object.fromEntries(seen?.url.searchParams ?? [])).toEqual({
      patient: PATIENT_ID,
      modality: 'CT',
      _sort: '-started',
      _count: '100',
    });
    await harness.queue.drain();
    expect(jobs.map((job) => job.imagingStudyId)).toEqual(['study-1']);
    expect(harness.logs.withMessage('studies read from fhirServer')[0]).toMatchObject({
      pages: 1,
      entries: 1,
    });
    expectCleanLogs(harness);
  });

  test('two pages, newest study wins', async () => {
    const fhir = await startFakeFhir((url, response, origin) => {
      if (url.searchParams.get('_page') === '2') {
        sendJson(
          response,
          200,
          searchsetBundle([
            imagingStudy({ id: 'study-2', uid: '1.2.826.0.1.2', started: '2026-11-20T09:00:00Z' }),
          ]),
        );
        return;
      }
      sendJson(response, 200, {
        ...searchsetBundle([
          imagingStudy({ id: 'study-1', uid: '1.2.826.0.1.1', started: '2026-11-02T09:00:00Z' }),
        ]),
        link: [{ relation: 'next', url: `${origin}${FHIR_PATH}/ImagingStudy?patient=${PATIENT_ID}&_page=2` }],
      });
    });
    const { analyse, jobs } = recordingAnalyse();
    harness = await harnessFor(fhir.base, analyse);

    const response = await callWithoutPrefetch(harness, fhir.base);

    expect(response.status).toBe(200);
    expect(fhir.seen).toHaveLength(2);
    expect(fhir.seen[1]?.authorization).toBe(`Bearer ${TOKEN}`);
    await harness.queue.drain();
    expect(jobs.map((job) => job.imagingStudyId)).toEqual(['study-2']);
    expect(harness.logs.withMessage('studies read from fhirServer')[0]).toMatchObject({
      pages: 2,
      entries: 2,
    });
    expectCleanLogs(harness);
  });

  test('paginated prefetch read from fhirServer', async () => {
    const fhir = await startFakeFhir((_url, response) => {
      sendJson(
        response,
        200,
        searchsetBundle([
          imagingStudy({ id: 'study-9', uid: '1.2.826.0.1.9', started: '2026-11-22T09:00:00Z' }),
        ]),
      );
    });
    const { analyse, jobs } = recordingAnalyse();
    harness = await harnessFor(fhir.base, analyse);
    const paginated = {
      ...searchsetBundle([imagingStudy({ id: 'study-1', uid: '1.2.826.0.1.1' })]),
      link: [{ relation: 'next', url: `${fhir.base}/ImagingStudy?_page=2` }],
    };

    const response = await callWithoutPrefetch(harness, fhir.base, {
      prefetch: { patient: PATIENT, studies: paginated },
    });

    expect(response.status).toBe(200);
    expect(fhir.seen.map((seen) => seen.url.searchParams.get('_page'))).toEqual([null]);
    await harness.queue.drain();
    expect(jobs.map((job) => job.imagingStudyId)).toEqual(['study-9']);
  });

  test('next link to other server: 412', async () => {
    const elsewhere = await startLoopbackListener((_request, response) => response.end('{}'));
    listeners.push(elsewhere);
    const fhir = await startFakeFhir((_url, response) => {
      sendJson(response, 200, {
        ...searchsetBundle([imagingStudy({ id: 'study-1', uid: '1.2.826.0.1.1' })]),
        link: [{ relation: 'next', url: `${elsewhere.origin}${FHIR_PATH}/ImagingStudy?_page=2` }],
      });
    });
    harness = await harnessFor(fhir.base);

    const response = await callWithoutPrefetch(harness, fhir.base);

    expect(response.status).toBe(412);
    expect(errorCodeOf(response)).toBe('ERR_PREFETCH_MISSING');
    expect(elsewhere.connectionCount()).toBe(0);
    expect(fhir.seen).toHaveLength(1);
    expect((await harness.store.countByStatus()).pending).toBe(0);
    expectCleanLogs(harness);
  });

  test('next link off base path: 412', async () => {
    const fhir = await startFakeFhir((_url, response, origin) => {
      sendJson(response, 200, {
        ...searchsetBundle([]),
        link: [{ relation: 'next', url: `${origin}/other/ImagingStudy?_page=2` }],
      });
    });
    harness = await harnessFor(fhir.base);

    const response = await callWithoutPrefetch(harness, fhir.base);

    expect(response.status).toBe(412);
    expect(fhir.seen).toHaveLength(1);
  });

  test('more than 5 pages: 412', async () => {
    const fhir = await startFakeFhir((url, response, origin) => {
      const page = Number(url.searchParams.get('_page') ?? '1');
      sendJson(response, 200, {
        ...searchsetBundle([]),
        link: [{ relation: 'next', url: `${origin}${FHIR_PATH}/ImagingStudy?_page=${page + 1}` }],
      });
    });
    harness = await harnessFor(fhir.base);

    const response = await callWithoutPrefetch(harness, fhir.base);

    expect(response.status).toBe(412);
    expect(fhir.seen).toHaveLength(5);
  });

  test.each([401, 403, 500, 503])('FHIR HTTP %i: 502', async (status) => {
    const fhir = await startFakeFhir((_url, response) => {
      sendJson(response, status, {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'login' }],
      });
    });
    harness = await harnessFor(fhir.base);

    const response = await callWithoutPrefetch(harness, fhir.base);

    expect(response.status).toBe(502);
    expect(errorCodeOf(response)).toBe('ERR_FHIR_FAILED');
    expect(response.text).not.toContain(TOKEN);
    expect((await harness.store.countByStatus()).pending).toBe(0);
    const [failure] = harness.logs.withMessage('request failed');
    expect(failure).toMatchObject({ code: 'ERR_FHIR_FAILED', details: { status } });
    expectCleanLogs(harness);
  });

  test.each([
    ['a body that is not JSON', (response: ServerResponse) => response.end('<html>login</html>')],
    [
      'a resource other than a Bundle',
      (response: ServerResponse) => {
        sendJson(response, 200, { resourceType: 'Patient' });
      },
    ],
  ])('%s: 502', async (_case, respond) => {
    const fhir = await startFakeFhir((_url, response) => {
      respond(response);
    });
    harness = await harnessFor(fhir.base);

    const response = await callWithoutPrefetch(harness, fhir.base);

    expect(response.status).toBe(502);
    expect(errorCodeOf(response)).toBe('ERR_FHIR_FAILED');
    expectCleanLogs(harness);
  });

  test('silent FHIR server: 502 at timeout', async () => {
    const silent = await startLoopbackListener();
    listeners.push(silent);
    const base = `${silent.origin}${FHIR_PATH}`;
    harness = await harnessFor(base, undefined, 300);

    const started = performance.now();
    const response = await callWithoutPrefetch(harness, base);
    const elapsedMs = performance.now() - started;

    expect(response.status).toBe(502);
    expect(errorCodeOf(response)).toBe('ERR_FHIR_FAILED');
    expect(silent.requestCount()).toBe(1);
    // 300 ms deadline; 1.5 s allows for the JWT check and a loaded CI machine.
    expect(elapsedMs).toBeLessThan(1_500);
    expectCleanLogs(harness);
  });

  test('redirect not followed: 502', async () => {
    const elsewhere = await startLoopbackListener((_request, response) => response.end('{}'));
    listeners.push(elsewhere);
    const fhir = await startFakeFhir((_url, response) => {
      response.writeHead(302, { location: `${elsewhere.origin}${FHIR_PATH}/ImagingStudy` });
      response.end();
    });
    harness = await harnessFor(fhir.base);

    const response = await callWithoutPrefetch(harness, fhir.base);

    expect(response.status).toBe(502);
    expect(elsewhere.connectionCount()).toBe(0);
  });

  test.each([['fhirAuthorization'], ['fhirServer']])('missing %s: 412, no connection', async (field) => {
    const fhir = await startFakeFhir((_url, response) => {
      sendJson(response, 200, searchsetBundle([]));
    });
    harness = await harnessFor(fhir.base);

    const response = await callWithoutPrefetch(harness, fhir.base, { [field]: undefined });

    expect(response.status).toBe(412);
    expect(errorCodeOf(response)).toBe('ERR_PREFETCH_MISSING');
    expect(fhir.listener.connectionCount()).toBe(0);
  });

  test('non-Bearer token type: 400', async () => {
    const fhir = await startFakeFhir((_url, response) => {
      sendJson(response, 200, searchsetBundle([]));
    });
    harness = await harnessFor(fhir.base);

    const response = await callWithoutPrefetch(harness, fhir.base, {
      fhirAuthorization: { ...FHIR_AUTHORIZATION, token_type: 'MAC' },
    });

    expect(response.status).toBe(400);
    expect(response.text).not.toContain(TOKEN);
    expect(fhir.listener.connectionCount()).toBe(0);
    expectCleanLogs(harness);
  });

  test('access token with a line break: 400 naming the field, no connection', async () => {
    const fhir = await startFakeFhir((_url, response) => {
      sendJson(response, 200, searchsetBundle([]));
    });
    harness = await harnessFor(fhir.base);

    const response = await callWithoutPrefetch(harness, fhir.base, {
      fhirAuthorization: { ...FHIR_AUTHORIZATION, access_token: `${TOKEN}\r\nX-Injected: 1` },
    });

    expect(response.status).toBe(400);
    expect(response.text).toContain('fhirAuthorization.access_token: expected access_token of visible ASCII');
    expect(response.text).not.toContain(TOKEN);
    expect(fhir.listener.connectionCount()).toBe(0);
    expectCleanLogs(harness);
  });
});

describe('readStudiesFromFhir', () => {
  test('page over byte cap rejected', async () => {
    const fhir = await startFakeFhir((_url, response) => {
      sendJson(
        response,
        200,
        searchsetBundle([imagingStudy({ id: 'study-1' }), imagingStudy({ id: 'study-2' })]),
      );
    });

    const read = readStudiesFromFhir({
      fhirServer: new URL(fhir.base),
      accessToken: TOKEN,
      patientId: PATIENT_ID,
      timeoutMs: 2_000,
      maxPageBytes: 200,
    });

    await expect(read).rejects.toBeInstanceOf(Nqo1Error);
    await expect(read).rejects.toMatchObject({ code: 'ERR_FHIR_FAILED' });
    await expect(read).rejects.toThrow(/over 200 bytes/);
  });
});

describe('logger redaction of fhirAuthorization', () => {
  test('token fields censored', () => {
    const logs = captureLogs();
    logs.logger.warn({ fhirAuthorization: FHIR_AUTHORIZATION }, 'probe 1');
    logs.logger.warn({ body: { fhirAuthorization: FHIR_AUTHORIZATION } }, 'probe 2');
    logs.logger.warn({ read: { access_token: TOKEN } }, 'probe 3');

    expect(logs.text()).not.toContain(TOKEN);
    expect(logs.withMessage('probe 1')[0]).toMatchObject({ fhirAuthorization: '[redacted]' });
    expect(logs.withMessage('probe 2')[0]).toMatchObject({ body: { fhirAuthorization: '[redacted]' } });
    expect(logs.withMessage('probe 3')[0]).toMatchObject({ read: { access_token: '[redacted]' } });
  });
});
