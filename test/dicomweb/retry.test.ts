/**
 * DICOMweb reads retried with exponential back-off after transient failures, against a loopback
 * listener that fails a set number of requests first.
 */
import { afterEach, describe, expect, test } from 'vitest';

import { DicomWebClient } from '../../src/dicomweb/client.js';
import { backOffDelayMs, isTransientDicomWebFailure, type RetryNotice } from '../../src/dicomweb/retry.js';
import { Nqo1Error, isNqo1Error } from '../../src/errors.js';
import { startLoopbackListener, type LoopbackListener } from '../support/loopback-listener.js';

const FIRST_DELAY_MS = 60;

let listener: LoopbackListener | undefined;

afterEach(async () => {
  await listener?.close();
  listener = undefined;
});

/**
 * Starts a PACS that fails the first `failures` requests with `failureStatus`, or sends no response
 * to them for `'no-response'`, and returns an empty DICOM JSON array for later ones. Returns the client, the arrival
 * time of each request in ms and the retries the client reported.
 */
async function flakyPacs(
  failures: number,
  failureStatus: number | 'no-response',
  retries = 2,
): Promise<{ pacs: DicomWebClient; arrivalsMs: number[]; notices: RetryNotice[] }> {
  const arrivalsMs: number[] = [];
  listener = await startLoopbackListener((request, response) => {
    arrivalsMs.push(performance.now());
    request.resume();
    if (arrivalsMs.length <= failures) {
      if (failureStatus === 'no-response') return;
      response.statusCode = failureStatus;
      response.end('failure injected by the test');
      return;
    }
    response.setHeader('Content-Type', 'application/dicom+json');
    response.end('[]');
  });
  const baseUrl = `${listener.origin}/dicom-web`;
  const notices: RetryNotice[] = [];
  const pacs = new DicomWebClient({
    baseUrl,
    allowlist: [baseUrl],
    timeoutMs: 200,
    retry: { retries, firstDelayMs: FIRST_DELAY_MS },
    onRetry: (notice) => notices.push(notice),
  });
  return { pacs, arrivalsMs, notices };
}

describe('DICOMweb retries', () => {
  test('two 503s then success', async () => {
    const { pacs, arrivalsMs, notices } = await flakyPacs(2, 503);

    await expect(pacs.searchSeries('1.2.3')).resolves.toEqual([]);

    expect(arrivalsMs).toHaveLength(3);
    expect(notices.map((notice) => notice.delayMs)).toEqual([FIRST_DELAY_MS, 2 * FIRST_DELAY_MS]);
    // Timers may fire a millisecond early on the monotonic clock; the waits still double.
    expect(arrivalsMs[1]! - arrivalsMs[0]!).toBeGreaterThanOrEqual(FIRST_DELAY_MS - 1);
    expect(arrivalsMs[2]! - arrivalsMs[1]!).toBeGreaterThanOrEqual(2 * FIRST_DELAY_MS - 1);
  });

  test('timeout is retried', async () => {
    const { pacs, arrivalsMs, notices } = await flakyPacs(1, 'no-response');

    await expect(pacs.searchInstances('1.2.3', '4.5.6')).resolves.toEqual([]);

    expect(arrivalsMs).toHaveLength(2);
    expect(notices).toHaveLength(1);
    expect((notices[0]?.error as Error).message).toContain('timed out after 200 ms');
  });

  test('gives up after the last retry', async () => {
    const { pacs, arrivalsMs } = await flakyPacs(10, 502);

    const error: unknown = await pacs.searchSeries('1.2.3').catch((thrown: unknown) => thrown);

    expect(isNqo1Error(error, 'ERR_DICOMWEB_FAILED')).toBe(true);
    expect((error as Error).message).toContain('HTTP 502');
    expect(arrivalsMs).toHaveLength(3);
  });

  test('404 is not retried', async () => {
    const { pacs, arrivalsMs, notices } = await flakyPacs(10, 404);

    await expect(pacs.searchSeries('1.2.3')).rejects.toThrow(/HTTP 404/);

    expect(arrivalsMs).toHaveLength(1);
    expect(notices).toHaveLength(0);
  });

  test('STOW-RS store is not retried', async () => {
    const { pacs, arrivalsMs } = await flakyPacs(10, 503);

    await expect(pacs.storeInstances([new ArrayBuffer(8)])).rejects.toThrow(/HTTP 503/);

    expect(arrivalsMs).toHaveLength(1);
  });

  test('no retries by default', async () => {
    const { arrivalsMs } = await flakyPacs(10, 503);
    const baseUrl = `${listener!.origin}/dicom-web`;
    const pacs = new DicomWebClient({ baseUrl, allowlist: [baseUrl], timeoutMs: 200 });

    await expect(pacs.searchSeries('1.2.3')).rejects.toThrow(/HTTP 503/);

    expect(arrivalsMs).toHaveLength(1);
  });

  test.each([
    [-1, 100],
    [1.5, 100],
    [2, -5],
    [2, Number.NaN],
  ])('retries %s with first delay %s ms is rejected', (retries, firstDelayMs) => {
    expect(
      () =>
        new DicomWebClient({
          baseUrl: 'http://127.0.0.1:9/x',
          allowlist: ['http://127.0.0.1:9/x'],
          timeoutMs: 1000,
          retry: { retries, firstDelayMs },
        }),
    ).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }) as Error);
  });
});

describe('isTransientDicomWebFailure', () => {
  test.each([
    [{ status: 0 }, true],
    [{ status: 408 }, true],
    [{ status: 429 }, true],
    [{ status: 500 }, true],
    [{ status: 504 }, true],
    [{ timeoutMs: 30_000 }, true],
    [{ status: 400 }, false],
    [{ status: 404 }, false],
    [{}, false],
  ])('details %j gives %s', (details, transient) => {
    expect(isTransientDicomWebFailure(new Nqo1Error('ERR_DICOMWEB_FAILED', 'failed', { details }))).toBe(
      transient,
    );
  });

  test('other codes are not transient', () => {
    const tooLarge = new Nqo1Error('ERR_INPUT_TOO_LARGE', 'too large', { details: { status: 503 } });

    expect(isTransientDicomWebFailure(tooLarge)).toBe(false);
    expect(isTransientDicomWebFailure(new Error('HTTP 503'))).toBe(false);
  });

  test('waits double from the first delay', () => {
    const policy = { retries: 4, firstDelayMs: 1000 };

    expect([1, 2, 3, 4].map((attempt) => backOffDelayMs(policy, attempt))).toEqual([1000, 2000, 4000, 8000]);
  });
});
