import type { IncomingMessage, ServerResponse } from 'node:http';

import pino from 'pino';
import { afterEach, describe, expect, test, vi } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import type { EnqueueOutcome } from '../../src/jobs/queue.js';
import { STUDY_PAGE_SIZE, StudyPoller, dicomDate } from '../../src/jobs/study-poller.js';
import { startLoopbackListener, type LoopbackListener } from '../support/loopback-listener.js';

let listener: LoopbackListener | undefined;
let poller: StudyPoller | undefined;

afterEach(async () => {
  await poller?.stop();
  poller = undefined;
  await listener?.close();
  listener = undefined;
});

/** Noon local time, so the local calendar date is the given one in any time zone. */
const NOON_5_DEC = new Date(2026, 11, 5, 12);

function studyItem(uid: string): Record<string, unknown> {
  return { '0020000D': { vr: 'UI', Value: [uid] } };
}

/** Starts a fake QIDO-RS server that records each query and responds with `answer(query)`. */
async function fakeQido(
  answer: (query: URLSearchParams) => { status: number; body?: unknown },
): Promise<{ queries: URLSearchParams[]; baseUrl: string }> {
  const queries: URLSearchParams[] = [];
  listener = await startLoopbackListener((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/dicom-web/studies' || request.headers.accept !== 'application/dicom+json') {
      response.writeHead(404).end();
      return;
    }
    queries.push(url.searchParams);
    const { status, body } = answer(url.searchParams);
    response.writeHead(status, { 'Content-Type': 'application/dicom+json' });
    response.end(body === undefined ? undefined : JSON.stringify(body));
  });
  return { queries, baseUrl: `${listener.origin}/dicom-web` };
}

function createPoller(
  baseUrl: string,
  enqueue: (uid: string) => Promise<EnqueueOutcome>,
  now: () => Date = () => NOON_5_DEC,
): StudyPoller {
  poller = new StudyPoller({
    baseUrl,
    allowlist: [baseUrl],
    timeoutMs: 2_000,
    intervalMs: 60_000,
    lookbackDays: 1,
    enqueue,
    logger: pino({ level: 'silent' }),
    now,
  });
  return poller;
}

describe('StudyPoller', () => {
  test('enqueues each new study once', async () => {
    const qido = await fakeQido(() => ({
      status: 200,
      body: [studyItem('1.2.3.1'), studyItem('1.2.3.2'), { '0020000D': { vr: 'UI', Value: ['x.y'] } }],
    }));
    const offered: string[] = [];
    let clock = NOON_5_DEC;
    const p = createPoller(
      qido.baseUrl,
      (uid) => {
        offered.push(uid);
        return Promise.resolve(uid === '1.2.3.2' ? 'exists' : 'enqueued');
      },
      () => clock,
    );

    const first = await p.pollOnce();
    clock = new Date(2026, 11, 7, 9);
    const second = await p.pollOnce();

    expect(qido.queries[0]?.get('StudyDate')).toBe('20261204-');
    expect(qido.queries[0]?.get('ModalitiesInStudy')).toBe('CT');
    expect(qido.queries[0]?.get('includefield')).toBe('0020000D');
    expect(qido.queries[0]?.get('offset')).toBe('0');
    // The second search starts a day before the first search's date, not the second's.
    expect(qido.queries[1]?.get('StudyDate')).toBe('20261204-');
    expect(first).toEqual({
      fromDate: '20261204',
      studyCount: 2,
      offeredCount: 2,
      enqueuedCount: 1,
      skippedCount: 1,
    });
    expect(second).toMatchObject({ studyCount: 2, offeredCount: 0, enqueuedCount: 0 });
    expect(offered).toEqual(['1.2.3.1', '1.2.3.2']);
  });

  test('reads every result page', async () => {
    const qido = await fakeQido((query) => {
      const offset = Number(query.get('offset'));
      const count = offset === 0 ? STUDY_PAGE_SIZE : 3;
      return {
        status: 200,
        body: Array.from({ length: count }, (_, i) => studyItem(`1.2.${offset + i + 1}`)),
      };
    });
    const offered: string[] = [];
    const p = createPoller(qido.baseUrl, (uid) => {
      offered.push(uid);
      return Promise.resolve('enqueued');
    });

    const summary = await p.pollOnce();

    expect(qido.queries.map((query) => query.get('offset'))).toEqual(['0', String(STUDY_PAGE_SIZE)]);
    expect(summary.studyCount).toBe(STUDY_PAGE_SIZE + 3);
    expect(offered.at(-1)).toBe(`1.2.${STUDY_PAGE_SIZE + 3}`);
  });

  test('204 No Content is an empty search', async () => {
    const qido = await fakeQido(() => ({ status: 204 }));
    const p = createPoller(qido.baseUrl, () => Promise.resolve('enqueued'));

    expect(await p.pollOnce()).toMatchObject({ studyCount: 0, enqueuedCount: 0 });
  });

  test('an HTTP error is ERR_DICOMWEB_FAILED naming the status', async () => {
    const qido = await fakeQido(() => ({ status: 503, body: { error: 'busy' } }));
    const p = createPoller(qido.baseUrl, () => Promise.resolve('enqueued'));

    const error: unknown = await p.pollOnce().catch((caught: unknown) => caught);

    expect(isNqo1Error(error)).toBe(true);
    expect((error as { code?: string }).code).toBe('ERR_DICOMWEB_FAILED');
    expect((error as Error).message).toContain('HTTP 503');
  });

  test('start polls again after a failure', async () => {
    let calls = 0;
    const qido = await fakeQido(() => {
      calls += 1;
      return calls === 1 ? { status: 500 } : { status: 200, body: [studyItem('1.2.9')] };
    });
    const offered: string[] = [];
    poller = new StudyPoller({
      baseUrl: qido.baseUrl,
      allowlist: [qido.baseUrl],
      timeoutMs: 2_000,
      intervalMs: 20,
      lookbackDays: 0,
      enqueue: (uid) => {
        offered.push(uid);
        return Promise.resolve('enqueued');
      },
      logger: pino({ level: 'silent' }),
    });

    poller.start();
    await vi.waitFor(() => {
      expect(offered).toEqual(['1.2.9']);
    });
    expect(qido.queries[0]?.get('StudyDate')).toBe(`${dicomDate(new Date())}-`);
  });

  test('rejects an unlisted base URL', async () => {
    listener = await startLoopbackListener();

    let rejected: unknown;
    try {
      new StudyPoller({
        baseUrl: `${listener.origin}/dicom-web`,
        allowlist: ['http://127.0.0.1:1/dicom-web'],
        timeoutMs: 1_000,
        intervalMs: 1_000,
        lookbackDays: 1,
        enqueue: () => Promise.resolve('enqueued'),
        logger: pino({ level: 'silent' }),
      });
    } catch (error) {
      rejected = error;
    }

    expect(isNqo1Error(rejected)).toBe(true);
    expect((rejected as { code?: string }).code).toBe('ERR_URL_NOT_ALLOWED');
    expect(listener.connectionCount()).toBe(0);
  });
});
