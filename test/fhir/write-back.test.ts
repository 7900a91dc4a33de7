import { afterEach, describe, expect, test } from 'vitest';

import { isNqo1Error, type Nqo1Error } from '../../src/errors.js';
import { FhirWriteBack, escapeSearchValue } from '../../src/fhir/write-back.js';
import { startLoopbackListener, type LoopbackListener } from '../support/loopback-listener.js';
import { calibratedResult } from '../support/score-result.js';

let listener: LoopbackListener | undefined;

afterEach(async () => {
  await listener?.close();
  listener = undefined;
});

const INPUT = { result: calibratedResult(), patientId: 'p', imagingStudyId: 's', studyInstanceUid: '1.2' };

describe('FhirWriteBack', () => {
  test('non-allowlisted base URL is rejected before any connection', async () => {
    listener = await startLoopbackListener((_request, response) => response.end('{}'));
    const baseUrl = `${listener.origin}/fhir/R4`;

    expect(
      () => new FhirWriteBack({ baseUrl, allowlist: [`${listener!.origin}/other`], timeoutMs: 1_000 }),
    ).toThrow(expect.objectContaining({ code: 'ERR_URL_NOT_ALLOWED' }) as Error);
    await new Promise((resolve) => setTimeout(resolve, 50));

    expect(listener.connectionCount()).toBe(0);
  });

  test('request is aborted after the timeout', async () => {
    listener = await startLoopbackListener();
    const baseUrl = `${listener.origin}/fhir/R4`;
    const writer = new FhirWriteBack({ baseUrl, allowlist: [baseUrl], timeoutMs: 200 });

    const started = Date.now();
    const error: unknown = await writer.write(INPUT).catch((thrown: unknown) => thrown);

    expect(isNqo1Error(error, 'ERR_FHIR_FAILED')).toBe(true);
    expect((error as Error).message).toContain('timed out after 200 ms');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  test('HTTP error names status and path, not the token', async () => {
    listener = await startLoopbackListener((_request, response) => {
      response.statusCode = 401;
      response.end('{"resourceType":"OperationOutcome","issue":[]}');
    });
    const baseUrl = `${listener.origin}/fhir/R4`;
    const writer = new FhirWriteBack({
      baseUrl,
      allowlist: [baseUrl],
      timeoutMs: 5_000,
      bearerToken: 'secret-token',
    });

    const error: unknown = await writer.write(INPUT).catch((thrown: unknown) => thrown);

    expect(isNqo1Error(error, 'ERR_FHIR_REJECTED')).toBe(true);
    expect((error as Error).message).toContain('HTTP 401');
    expect((error as Error).message).toContain('/fhir/R4/Device');
    expect((error as Error).message).not.toContain('secret-token');
    expect((error as Error).message).not.toContain('identifier=');
  });
});

describe('FhirWriteBack refusals', () => {
  test.each([
    [400, 'ERR_FHIR_REJECTED'],
    [403, 'ERR_FHIR_REJECTED'],
    [422, 'ERR_FHIR_REJECTED'],
    [408, 'ERR_FHIR_FAILED'],
    [409, 'ERR_FHIR_FAILED'],
    [429, 'ERR_FHIR_FAILED'],
    [503, 'ERR_FHIR_FAILED'],
  ] as const)('HTTP %i gives %s', async (status, code) => {
    listener = await startLoopbackListener((_request, response) => {
      response.statusCode = status;
      response.end('{"resourceType":"OperationOutcome","issue":[]}');
    });
    const baseUrl = `${listener.origin}/fhir/R4`;
    const writer = new FhirWriteBack({ baseUrl, allowlist: [baseUrl], timeoutMs: 5_000 });

    const error: unknown = await writer.write(INPUT).catch((thrown: unknown) => thrown);

    expect(isNqo1Error(error, code)).toBe(true);
    expect((error as Nqo1Error).details).toMatchObject({ status, path: '/fhir/R4/Device' });
  });
});

describe('escapeSearchValue', () => {
  test.each([
    ['1.2.3:br-ro:1.0.0', '1.2.3:br-ro:1.0.0'],
    ['a|b', 'a\\|b'],
    ['a,b$c\\d', 'a\\,b\\$c\\\\d'],
  ])('escapes %s', (value, escaped) => {
    expect(escapeSearchValue(value)).toBe(escaped);
  });
});

describe('FhirWriteBack id checks', () => {
  test.each([
    ['patientId', '../Group/1'],
    ['patientId', ''],
    ['imagingStudyId', 'a/b'],
  ] as const)('%s %j is rejected before any request', async (field, id) => {
    listener = await startLoopbackListener((_request, response) => response.end('{}'));
    const baseUrl = `${listener.origin}/fhir/R4`;
    const writer = new FhirWriteBack({ baseUrl, allowlist: [baseUrl], timeoutMs: 1_000 });

    const error: unknown = await writer.write({ ...INPUT, [field]: id }).catch((thrown: unknown) => thrown);

    expect(isNqo1Error(error, 'ERR_REQUEST_INVALID')).toBe(true);
    expect(listener.requestCount()).toBe(0);
  });
});

describe('FhirWriteBack requests', () => {
  test('create asks for the stored representation', async () => {
    const requests: { method: string; path: string; prefer: string | undefined }[] = [];
    listener = await startLoopbackListener((request, response) => {
      requests.push({
        method: request.method ?? '',
        path: request.url ?? '',
        prefer: request.headers.prefer?.toString(),
      });
      request.resume();
      response.setHeader('Content-Type', 'application/fhir+json');
      if (request.method === 'GET') {
        response.end('{"resourceType":"Bundle","type":"searchset","entry":[]}');
        return;
      }
      response.statusCode = 201;
      const type = (request.url ?? '').split('/').at(-1);
      response.end(JSON.stringify({ resourceType: type, id: `${type}-1` }));
    });
    const baseUrl = `${listener.origin}/fhir/R4`;
    const writer = new FhirWriteBack({ baseUrl, allowlist: [baseUrl], timeoutMs: 5_000 });

    const outcome = await writer.write(INPUT);

    expect(outcome).toEqual({
      observationId: 'Observation-1',
      activity: 'create',
      deviceId: 'Device-1',
      provenanceId: 'Provenance-1',
    });
    expect(requests.map((request) => `${request.method} ${request.path.split('?')[0]}`)).toEqual([
      'GET /fhir/R4/Device',
      'POST /fhir/R4/Device',
      'GET /fhir/R4/Observation',
      'POST /fhir/R4/Observation',
      'POST /fhir/R4/Provenance',
    ]);
    for (const request of requests) expect(request.prefer).toBe('return=representation');
  });
});

describe('FhirWriteBack error cause', () => {
  test('cause carries neither URL nor response body', async () => {
    listener = await startLoopbackListener((_request, response) => {
      response.statusCode = 500;
      response.setHeader('Content-Type', 'application/fhir+json');
      response.end('{"resourceType":"OperationOutcome","issue":[{"diagnostics":"patient p secret"}]}');
    });
    const baseUrl = `${listener.origin}/fhir/R4`;
    const writer = new FhirWriteBack({ baseUrl, allowlist: [baseUrl], timeoutMs: 5_000 });

    const error: unknown = await writer.write(INPUT).catch((thrown: unknown) => thrown);

    expect((error as Error).cause).toEqual(new Error('HTTP 500'));
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain('identifier=');
  });
});
