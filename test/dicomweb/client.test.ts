import { afterEach, describe, expect, test } from 'vitest';

import { DicomWebClient } from '../../src/dicomweb/client.js';
import { isNqo1Error, type Nqo1Error } from '../../src/errors.js';
import { startLoopbackListener, type LoopbackListener } from '../support/loopback-listener.js';

let listener: LoopbackListener | undefined;

afterEach(async () => {
  await listener?.close();
  listener = undefined;
});

async function failure(promise: Promise<unknown>): Promise<Nqo1Error> {
  const error: unknown = await promise.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  if (!isNqo1Error(error)) throw new Error(`expected an Nqo1Error, got ${String(error)}`);
  return error;
}

describe('DicomWebClient', () => {
  test('non-allowlisted base URL is rejected before any connection', async () => {
    listener = await startLoopbackListener((_request, response) => response.end('[]'));
    const baseUrl = `${listener.origin}/dicom-web`;

    expect(
      () => new DicomWebClient({ baseUrl, allowlist: ['http://127.0.0.1:1/dicom-web'], timeoutMs: 1_000 }),
    ).toThrow(expect.objectContaining({ code: 'ERR_URL_NOT_ALLOWED' }) as Error);
    await new Promise((resolve) => setTimeout(resolve, 50));

    expect(listener.connectionCount()).toBe(0);
  });

  test('HTTP error names status and path, not the token', async () => {
    listener = await startLoopbackListener((_request, response) => {
      response.statusCode = 503;
      response.end('unavailable');
    });
    const baseUrl = `${listener.origin}/dicom-web`;
    const pacs = new DicomWebClient({
      baseUrl,
      allowlist: [baseUrl],
      timeoutMs: 5_000,
      headers: { Authorization: 'Bearer secret-token' },
    });

    const error = await failure(pacs.searchSeries('1.2.3'));

    expect(error.code).toBe('ERR_DICOMWEB_FAILED');
    expect(error.message).toContain('HTTP 503');
    expect(error.message).toContain('/dicom-web/studies/1.2.3/series');
    expect(error.message).not.toContain('secret-token');
    expect(error.details.status).toBe(503);
  });

  test('request is aborted after the timeout', async () => {
    listener = await startLoopbackListener();
    const baseUrl = `${listener.origin}/dicom-web`;
    const pacs = new DicomWebClient({ baseUrl, allowlist: [baseUrl], timeoutMs: 200 });

    const started = Date.now();
    const error = await failure(pacs.retrieveSeriesInstances('1.2.3', '4.5.6'));

    expect(error.code).toBe('ERR_DICOMWEB_FAILED');
    expect(error.message).toContain('timed out after 200 ms');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  test('non-JSON QIDO response is rejected', async () => {
    listener = await startLoopbackListener((_request, response) => {
      response.setHeader('Content-Type', 'application/dicom+json');
      response.end('{"not": "an array"}');
    });
    const baseUrl = `${listener.origin}/dicom-web`;
    const pacs = new DicomWebClient({ baseUrl, allowlist: [baseUrl], timeoutMs: 5_000 });

    const error = await failure(pacs.searchSeries('1.2.3'));

    expect(error.message).toContain('not a DICOM JSON array');
  });

  test('response over the byte limit is stopped', async () => {
    // No Content-Length: the body grows chunk by chunk, so only the running count can stop it.
    listener = await startLoopbackListener((_request, response) => {
      response.setHeader('Content-Type', 'application/dicom+json');
      response.write(`[${'{},'.repeat(20_000)}`);
      response.end('{}]');
    });
    const baseUrl = `${listener.origin}/dicom-web`;
    const pacs = new DicomWebClient({
      baseUrl,
      allowlist: [baseUrl],
      timeoutMs: 5_000,
      maxResponseBytes: 1_000,
    });

    const error = await failure(pacs.searchSeries('1.2.3'));

    expect(error.code).toBe('ERR_INPUT_TOO_LARGE');
    expect(error.message).toContain('limit of 1000');
    expect(error.message).toContain('dicomweb.maxResponseBytes');
  });

  test('Content-Length over the byte limit is stopped', async () => {
    const body = `[${'{},'.repeat(2_000)}{}]`;
    listener = await startLoopbackListener((_request, response) => {
      response.setHeader('Content-Type', 'application/dicom+json');
      response.setHeader('Content-Length', String(body.length));
      response.end(body);
    });
    const baseUrl = `${listener.origin}/dicom-web`;
    const pacs = new DicomWebClient({
      baseUrl,
      allowlist: [baseUrl],
      timeoutMs: 5_000,
      maxResponseBytes: 5_000,
    });

    const error = await failure(pacs.searchSeries('1.2.3'));

    expect(error.code).toBe('ERR_INPUT_TOO_LARGE');
    expect(error.details.bytes).toBe(body.length);
  });

  test('response within the byte limit is read', async () => {
    listener = await startLoopbackListener((_request, response) => {
      response.setHeader('Content-Type', 'application/dicom+json');
      response.end('[{}]');
    });
    const baseUrl = `${listener.origin}/dicom-web`;
    const pacs = new DicomWebClient({ baseUrl, allowlist: [baseUrl], timeoutMs: 5_000, maxResponseBytes: 4 });

    await expect(pacs.searchSeries('1.2.3')).resolves.toEqual([{}]);
  });

  test('closed port fails without HTTP status', async () => {
    listener = await startLoopbackListener();
    const baseUrl = `${listener.origin}/dicom-web`;
    await listener.close();
    listener = undefined;
    const pacs = new DicomWebClient({ baseUrl, allowlist: [baseUrl], timeoutMs: 5_000 });

    const error = await failure(pacs.searchSeries('1.2.3'));

    expect(error.message).toContain('without an HTTP response');
  });

  test.each([0, -1, Number.NaN])('timeout %s ms is rejected', (timeoutMs) => {
    expect(
      () =>
        new DicomWebClient({
          baseUrl: 'http://127.0.0.1:9/x',
          allowlist: ['http://127.0.0.1:9/x'],
          timeoutMs,
        }),
    ).toThrow(/timeout/);
  });
});

describe('DicomWebClient STOW-RS', () => {
  test.each([
    [200, null],
    [202, 'HTTP 202'],
    [409, 'HTTP 409'],
  ])('store answered with %i', async (status, message) => {
    let contentType = '';
    listener = await startLoopbackListener((request, response) => {
      contentType = request.headers['content-type'] ?? '';
      request.resume();
      request.on('end', () => {
        response.statusCode = status;
        response.setHeader('Content-Type', 'application/dicom+json');
        response.end('{}');
      });
    });
    const baseUrl = `${listener.origin}/dicom-web`;
    const pacs = new DicomWebClient({ baseUrl, allowlist: [baseUrl], timeoutMs: 5_000 });

    const outcome: unknown = await pacs.storeInstances([new ArrayBuffer(8)]).then(
      () => null,
      (thrown: unknown) => thrown,
    );

    expect(contentType).toMatch(/^multipart\/related; type="application\/dicom"/);
    if (message === null) {
      expect(outcome).toBeNull();
    } else {
      expect(isNqo1Error(outcome, 'ERR_DICOMWEB_FAILED')).toBe(true);
      expect((outcome as Error).message).toContain(message);
    }
  });
});

describe('DicomWebClient UID checks', () => {
  test.each(['../../tools/reset', '1.2.3/../../x', '1.2.3?x=1', '01.2', '', `1.${'2'.repeat(70)}`])(
    'UID %j is rejected before any request',
    async (uid) => {
      listener = await startLoopbackListener((_request, response) => response.end('[]'));
      const baseUrl = `${listener.origin}/dicom-web`;
      const pacs = new DicomWebClient({ baseUrl, allowlist: [baseUrl], timeoutMs: 1_000 });

      const errors = await Promise.all([
        failure(pacs.searchSeries(uid)),
        failure(pacs.retrieveSeriesInstances('1.2.3', uid)),
        failure(pacs.retrieveInstance('1.2.3', '1.2.4', uid)),
      ]);

      for (const error of errors) expect(error.code).toBe('ERR_REQUEST_INVALID');
      expect(listener.requestCount()).toBe(0);
    },
  );
});

describe('DicomWebClient error cause', () => {
  test('cause carries no request headers', async () => {
    listener = await startLoopbackListener((_request, response) => {
      response.statusCode = 500;
      response.end();
    });
    const baseUrl = `${listener.origin}/dicom-web`;
    const pacs = new DicomWebClient({
      baseUrl,
      allowlist: [baseUrl],
      timeoutMs: 5_000,
      headers: { Authorization: 'Bearer secret-token' },
    });

    const error = await failure(pacs.searchSeries('1.2.3'));

    expect(error.cause).toBeInstanceOf(Error);
    expect(Object.keys(error.cause as object)).toEqual([]);
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain('secret-token');
  });

  test('instance search sends limit and includefield', async () => {
    const urls: string[] = [];
    listener = await startLoopbackListener((request, response) => {
      urls.push(request.url ?? '');
      response.setHeader('Content-Type', 'application/dicom+json');
      response.end('[{"00180050":{"vr":"DS","Value":[1.25]}}]');
    });
    const baseUrl = `${listener.origin}/dicom-web`;
    const pacs = new DicomWebClient({ baseUrl, allowlist: [baseUrl], timeoutMs: 5_000 });

    const instances = await pacs.searchInstances('1.2.3', '4.5', {
      limit: 1,
      includeFields: ['00180050', '00181210'],
    });

    expect(instances).toEqual([{ '00180050': { vr: 'DS', Value: [1.25] } }]);
    expect(urls).toEqual([
      '/dicom-web/studies/1.2.3/series/4.5/instances?limit=1&includefield=00180050%2C00181210',
    ]);
  });

  test('instance metadata returns the one dataset', async () => {
    const urls: string[] = [];
    listener = await startLoopbackListener((request, response) => {
      urls.push(request.url ?? '');
      response.setHeader('Content-Type', 'application/dicom+json');
      response.end(
        request.url?.includes('/instances/7.8/') === true
          ? '[{"00080018":{"vr":"UI","Value":["7.8"]}}]'
          : '[]',
      );
    });
    const baseUrl = `${listener.origin}/dicom-web`;
    const pacs = new DicomWebClient({ baseUrl, allowlist: [baseUrl], timeoutMs: 5_000 });

    await expect(pacs.retrieveInstanceMetadata('1.2.3', '4.5', '7.8')).resolves.toEqual({
      '00080018': { vr: 'UI', Value: ['7.8'] },
    });
    const error = await failure(pacs.retrieveInstanceMetadata('1.2.3', '4.5', '7.9'));

    expect(urls).toEqual([
      '/dicom-web/studies/1.2.3/series/4.5/instances/7.8/metadata',
      '/dicom-web/studies/1.2.3/series/4.5/instances/7.9/metadata',
    ]);
    expect(error.code).toBe('ERR_DICOMWEB_FAILED');
    expect(error.message).toContain('returned an empty array');
  });

  test('instance search rejects a crafted series UID', async () => {
    listener = await startLoopbackListener((_request, response) => response.end('[]'));
    const baseUrl = `${listener.origin}/dicom-web`;
    const pacs = new DicomWebClient({ baseUrl, allowlist: [baseUrl], timeoutMs: 5_000 });

    const error = await failure(pacs.searchInstances('1.2.3', '../4'));

    expect(error.code).toBe('ERR_REQUEST_INVALID');
    expect(listener.requestCount()).toBe(0);
  });
});
