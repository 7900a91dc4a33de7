/**
 * A PACS notification for a study whose analysis failed runs it again at once. The PACS sends one
 * when it has stored new instances, which may include the missing segmentation.
 */
import request from 'supertest';
import { afterEach, describe, expect, test, vi } from 'vitest';

import { Nqo1Error } from '../../src/errors.js';
import type { AnalysisJob } from '../../src/jobs/types.js';
import { createHarness, type Harness } from '../support/cds-fixtures.js';
import { uncalibratedResult } from '../support/score-result.js';

const SECRET_ENV = 'NQO1_TEST_PACS_SECRET';
const SECRET = 'pacs-shared-secret-9d2e';
const STUDY_UID = '1.2.826.0.1.3680043.8.498.7';
const KEY = { studyInstanceUid: STUDY_UID, modelId: 'br-ro', modelVersion: '1.0.0' };

let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  vi.unstubAllEnvs();
});

/** Creates a harness whose first analysis fails for want of a segmentation and whose later ones succeed. */
async function failingOnceHarness(jobs: AnalysisJob[]): Promise<Harness> {
  vi.stubEnv(SECRET_ENV, SECRET);
  harness = await createHarness({
    configOverrides: { notifications: { tokenEnv: SECRET_ENV } },
    analyse: (job) => {
      jobs.push(job);
      if (jobs.length === 1) {
        return Promise.reject(new Nqo1Error('ERR_SEGMENTATION_MISSING', 'The study has no DICOM SEG'));
      }
      return Promise.resolve({ result: uncalibratedResult() });
    },
  });
  return harness;
}

function notify(h: Harness): request.Test {
  return request(h.app)
    .post('/pacs/studies')
    .set('Authorization', `Bearer ${SECRET}`)
    .send({ studyInstanceUid: STUDY_UID });
}

describe('POST /pacs/studies after a failure', () => {
  test('requeues the failed study at once', async () => {
    const jobs: AnalysisJob[] = [];
    const h = await failingOnceHarness(jobs);
    await notify(h);
    await h.queue.drain();
    expect((await h.store.getResult(KEY))?.status).toBe('failed');

    const response = await notify(h);
    await h.queue.drain();

    expect(response.status).toBe(202);
    expect(response.body).toEqual({ studyInstanceUid: STUDY_UID, outcome: 'requeued' });
    expect(jobs).toHaveLength(2);
    expect((await h.store.getResult(KEY))?.status).toBe('done');
  });

  test('a hook-style enqueue still waits', async () => {
    const jobs: AnalysisJob[] = [];
    const h = await failingOnceHarness(jobs);
    await notify(h);
    await h.queue.drain();

    expect(await h.queue.enqueue(KEY)).toBe('exists');
    expect((await h.store.getResult(KEY))?.status).toBe('failed');
    expect(jobs).toHaveLength(1);
  });

  test('leaves a done study alone', async () => {
    const jobs: AnalysisJob[] = [];
    const h = await failingOnceHarness(jobs);
    await notify(h);
    await h.queue.drain();
    await notify(h);
    await h.queue.drain();

    const response = await notify(h);
    await h.queue.drain();

    expect(response.body).toEqual({ studyInstanceUid: STUDY_UID, outcome: 'exists' });
    expect(jobs).toHaveLength(2);
  });
});
