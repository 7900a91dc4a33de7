import request from 'supertest';
import { afterEach, describe, expect, test, vi } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import type { AnalysisJob } from '../../src/jobs/types.js';
import { pacsNotificationRouter } from '../../src/server/pacs-notifications.js';
import type { OperationOutcome } from '../../src/server/outcome.js';
import { createHarness, type Harness } from '../support/cds-fixtures.js';
import { uncalibratedResult } from '../support/score-result.js';

const SECRET_ENV = 'NQO1_TEST_PACS_SECRET';
const SECRET = 'pacs-shared-secret-5f1c';
const STUDY_UID = '1.2.826.0.1.3680043.8.498.1';
const PATH = '/pacs/studies';

let harness: Harness | undefined;
let release: () => void = () => undefined;

afterEach(async () => {
  release();
  await harness?.close();
  harness = undefined;
  vi.unstubAllEnvs();
});

/** Creates a harness with notifications on, whose analyses wait until `release()` so jobs stay queued. */
async function notifyingHarness(jobs: AnalysisJob[] = []): Promise<Harness> {
  vi.stubEnv(SECRET_ENV, SECRET);
  const blocked = new Promise<void>((resolve) => (release = resolve));
  harness = await createHarness({
    configOverrides: { notifications: { tokenEnv: SECRET_ENV } },
    analyse: async (job) => {
      jobs.push(job);
      await blocked;
      return { result: uncalibratedResult() };
    },
  });
  return harness;
}

function notify(h: Harness, body: unknown, authorization?: string): request.Test {
  const call = request(h.app).post(PATH);
  if (authorization !== undefined) call.set('Authorization', authorization);
  return call.send(body as object);
}

/** Returns the `reason` of the last `request rejected` log line. */
function loggedReason(h: Harness): unknown {
  const details = h.logs.withMessage('request rejected').at(-1)?.details as
    Record<string, unknown> | undefined;
  return details?.reason;
}

const KEY = { studyInstanceUid: STUDY_UID, modelId: 'br-ro', modelVersion: '1.0.0' };

describe('POST /pacs/studies', () => {
  test('valid notification enqueues the study', async () => {
    const jobs: AnalysisJob[] = [];
    const h = await notifyingHarness(jobs);

    const response = await notify(h, { studyInstanceUid: STUDY_UID }, `Bearer ${SECRET}`);

    expect(response.status).toBe(202);
    expect(response.body).toEqual({ studyInstanceUid: STUDY_UID, outcome: 'enqueued' });
    expect((await h.store.getResult(KEY))?.job).toEqual(KEY);
    await vi.waitFor(() => {
      expect(jobs).toEqual([KEY]);
    });
  });

  test('duplicate notification adds no job', async () => {
    const jobs: AnalysisJob[] = [];
    const h = await notifyingHarness(jobs);

    await notify(h, { studyInstanceUid: STUDY_UID }, `Bearer ${SECRET}`);
    const second = await notify(h, { studyInstanceUid: STUDY_UID }, `Bearer ${SECRET}`);
    release();
    await h.queue.drain();

    expect(second.status).toBe(202);
    expect(second.body).toEqual({ studyInstanceUid: STUDY_UID, outcome: 'exists' });
    expect(jobs).toHaveLength(1);
    expect(await h.store.countByStatus()).toEqual({ pending: 0, running: 0, done: 1, failed: 0 });
  });

  test.each([
    ['no Authorization header', undefined, 'missing_authorization'],
    ['a Basic header', `Basic ${Buffer.from(`pacs:${SECRET}`).toString('base64')}`, 'not_bearer'],
    ['a wrong secret', `Bearer ${SECRET}x`, 'wrong_secret'],
    ['an empty bearer', 'Bearer ', 'not_bearer'],
  ])('rejects %s with a bare 401', async (_name, authorization, reason) => {
    const h = await notifyingHarness();

    const response = await notify(h, { studyInstanceUid: STUDY_UID }, authorization);

    expect(response.status).toBe(401);
    expect(response.text).toBe('');
    expect(loggedReason(h)).toBe(reason);
    expect(await h.store.getResult(KEY)).toBeUndefined();
    expect(h.logs.text()).not.toContain(SECRET);
  });

  test.each([
    ['a missing UID', {}, 'expected studyInstanceUid as a string'],
    ['a UID with letters', { studyInstanceUid: '1.2.abc' }, 'digits and dots only'],
    ['a UID over 64 characters', { studyInstanceUid: `1.${'2'.repeat(63)}` }, 'at most 64 characters'],
    ['a number', { studyInstanceUid: 1.2 }, 'expected studyInstanceUid as a string'],
  ])('rejects %s with 400', async (_name, body, problem) => {
    const h = await notifyingHarness();

    const response = await notify(h, body, `Bearer ${SECRET}`);

    expect(response.status).toBe(400);
    const outcome = response.body as OperationOutcome;
    expect(outcome.issue[0].diagnostics).toContain(problem);
    expect(await h.store.countByStatus()).toEqual({ pending: 0, running: 0, done: 0, failed: 0 });
  });

  test('route is off without tokenEnv', async () => {
    harness = await createHarness();

    const response = await notify(harness, { studyInstanceUid: STUDY_UID }, `Bearer ${SECRET}`);

    expect(response.status).toBe(404);
    expect((response.body as OperationOutcome).issue[0].diagnostics).toContain('notifications.tokenEnv');
    expect(await harness.store.getResult(KEY)).toBeUndefined();
  });

  test('unset secret variable is rejected', () => {
    let caught: unknown;
    try {
      pacsNotificationRouter({
        config: { notifications: { tokenEnv: SECRET_ENV, pollIntervalSeconds: 0, pollLookbackDays: 1 } },
        queue: { enqueue: () => Promise.resolve('enqueued') },
        modelCard: { id: 'br-ro', version: '1.0.0' },
        env: {},
      });
    } catch (error) {
      caught = error;
    }

    expect(isNqo1Error(caught) && caught.code).toBe('ERR_CONFIG_INVALID');
    expect((caught as Error).message).toContain(SECRET_ENV);
  });
});
