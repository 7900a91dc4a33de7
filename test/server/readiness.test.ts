import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterEach, describe, expect, test } from 'vitest';

import { ReadinessCheck, type ReadinessOptions } from '../../src/server/readiness.js';

/** Behaviour of the fake upstream for one path: a status, or a delay before a 200. */
type Reply = { readonly status: number } | { readonly delayMs: number };

interface Upstream {
  readonly baseUrl: string;
  readonly requests: string[];
  reply: Record<string, Reply>;
  close(): Promise<void>;
}

let upstream: Upstream | undefined;

afterEach(async () => {
  await upstream?.close();
  upstream = undefined;
});

/** Starts an HTTP server on 127.0.0.1 that plays a PACS and a FHIR server. */
async function startUpstream(reply: Record<string, Reply>): Promise<Upstream> {
  const requests: string[] = [];
  const state = { reply };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '';
    requests.push(path);
    const rule = state.reply[path] ?? { status: 404 };
    const send = (status: number): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end('[]');
    };
    if ('status' in rule) send(rule.status);
    else
      setTimeout(() => {
        send(200);
      }, rule.delayMs).unref();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    get reply() {
      return state.reply;
    },
    set reply(value) {
      state.reply = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

const DICOMWEB_PROBE = '/dicom-web/studies?limit=1';
const FHIR_PROBE = '/fhir/R4/metadata';

function check(base: string, overrides: Partial<ReadinessOptions> = {}): ReadinessCheck {
  return new ReadinessCheck({
    pingStore: () => Promise.resolve(),
    queueRunning: () => true,
    upstreams: [
      { component: 'dicomweb', baseUrl: `${base}/dicom-web`, allowlist: [`${base}/dicom-web`] },
      { component: 'fhir', baseUrl: `${base}/fhir/R4`, allowlist: [`${base}/fhir/R4`] },
    ],
    timeoutMs: 300,
    cacheMs: 5000,
    ...overrides,
  });
}

describe('ReadinessCheck', () => {
  test('is ready when every component answers', async () => {
    upstream = await startUpstream({ [DICOMWEB_PROBE]: { status: 200 }, [FHIR_PROBE]: { status: 200 } });
    const report = await check(upstream.baseUrl).check();

    expect(report.status).toBe('ready');
    expect(report.notReady).toEqual([]);
    expect(report.components.dicomweb.ready).toBe(true);
    expect(report.components.fhir.ready).toBe(true);
    expect(upstream.requests.sort()).toEqual([DICOMWEB_PROBE, FHIR_PROBE]);
  });

  test('names a server that answers with an error status', async () => {
    upstream = await startUpstream({ [DICOMWEB_PROBE]: { status: 200 }, [FHIR_PROBE]: { status: 503 } });
    const report = await check(upstream.baseUrl).check();

    expect(report.status).toBe('not-ready');
    expect(report.notReady).toEqual(['fhir']);
    expect(report.components.fhir.reason).toBe('GET {base}/metadata returned HTTP 503; expected 2xx');
    expect(JSON.stringify(report)).not.toContain('127.0.0.1');
  });

  test('names a server that answers too late', async () => {
    upstream = await startUpstream({ [DICOMWEB_PROBE]: { delayMs: 2000 }, [FHIR_PROBE]: { status: 200 } });
    const startedAt = performance.now();
    const report = await check(upstream.baseUrl).check();

    expect(performance.now() - startedAt).toBeLessThan(1500);
    expect(report.notReady).toEqual(['dicomweb']);
    expect(report.components.dicomweb.reason).toBe(
      'GET {base}/studies?limit=1 did not respond within 300 ms',
    );
  });

  test('names a server that refuses connections', async () => {
    upstream = await startUpstream({});
    const base = upstream.baseUrl;
    await upstream.close();
    upstream = undefined;
    const report = await check(base).check();

    expect(report.notReady).toEqual(['dicomweb', 'fhir']);
    expect(report.components.fhir.reason).toMatch(/failed without an HTTP response/);
  });

  test('reuses probe results within the cache time', async () => {
    upstream = await startUpstream({ [DICOMWEB_PROBE]: { status: 200 }, [FHIR_PROBE]: { status: 200 } });
    let nowMs = 0;
    const readiness = check(upstream.baseUrl, { nowMs: () => nowMs, cacheMs: 5000 });

    await Promise.all([readiness.check(), readiness.check()]);
    nowMs = 4999;
    await readiness.check();
    expect(upstream.requests).toHaveLength(2);

    upstream.reply = { [DICOMWEB_PROBE]: { status: 500 }, [FHIR_PROBE]: { status: 200 } };
    nowMs = 5000;
    const report = await readiness.check();
    expect(upstream.requests).toHaveLength(4);
    expect(report.notReady).toEqual(['dicomweb']);
  });

  test('checks the store and the queue on every call', async () => {
    upstream = await startUpstream({ [DICOMWEB_PROBE]: { status: 200 }, [FHIR_PROBE]: { status: 200 } });
    let queueRunning = true;
    const readiness = check(upstream.baseUrl, {
      pingStore: () => Promise.reject(new TypeError('The database connection is not open')),
      queueRunning: () => queueRunning,
    });

    const first = await readiness.check();
    queueRunning = false;
    const second = await readiness.check();

    expect(first.notReady).toEqual(['store']);
    expect(first.components.store.reason).toBe('the result store failed to run a query (TypeError)');
    expect(second.notReady).toEqual(['store', 'queue']);
  });

  test('rejects a base URL outside its allowlist', () => {
    expect(
      () =>
        new ReadinessCheck({
          pingStore: () => Promise.resolve(),
          queueRunning: () => true,
          upstreams: [
            { component: 'fhir', baseUrl: 'http://127.0.0.1:1/fhir', allowlist: ['http://127.0.0.1:2/fhir'] },
          ],
          timeoutMs: 100,
          cacheMs: 0,
        }),
    ).toThrow(expect.objectContaining({ code: 'ERR_URL_NOT_ALLOWED' }) as unknown);
  });
});
