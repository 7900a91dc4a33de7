/**
 * A result the PACS started is written to FHIR once the first hook names its patient, through the
 * real hook route: the hook binds the ids, and the queue writes the stored result back.
 */
import request from 'supertest';
import { afterEach, describe, expect, test } from 'vitest';

import type { WriteBackInput, WriteBackOutcome } from '../../src/fhir/write-back.js';
import type { AnalysisJob } from '../../src/jobs/types.js';
import { createHarness, hookRequest, PATIENT_ID, type Harness } from '../support/cds-fixtures.js';
import { uncalibratedResult } from '../support/score-result.js';

/** The study of the default `hookRequest` prefetch. */
const STUDY_UID = '1.2.826.0.1.1';

let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function callHook(h: Harness): Promise<number> {
  const response = await request(h.app)
    .post('/cds-services/nqo1-risk')
    .set('Authorization', await h.authorization())
    .send(hookRequest());
  return response.status;
}

describe('owed write-back through the hook', () => {
  test('two hooks after a PACS-started analysis write one Observation', async () => {
    const writes: WriteBackInput[] = [];
    const jobs: AnalysisJob[] = [];
    harness = await createHarness({
      analyse: (job) => {
        jobs.push(job);
        return Promise.resolve({ result: uncalibratedResult() });
      },
      writer: {
        write: (input): Promise<WriteBackOutcome> => {
          writes.push(input);
          return Promise.resolve({
            observationId: 'obs-77',
            activity: 'create',
            deviceId: 'dev-1',
            provenanceId: 'prov-1',
          });
        },
      },
    });
    const key = { studyInstanceUid: STUDY_UID, modelId: 'br-ro', modelVersion: '1.0.0' };

    expect(await harness.queue.enqueue(key)).toBe('enqueued');
    await harness.queue.drain();
    expect(writes).toHaveLength(0);

    const statuses = await Promise.all([callHook(harness), callHook(harness)]);
    await harness.queue.drain();

    expect(statuses).toEqual([200, 200]);
    expect(jobs).toEqual([key]);
    expect(writes.map((write) => [write.patientId, write.imagingStudyId])).toEqual([[PATIENT_ID, 'study-1']]);
    expect(await harness.store.getResult(key)).toMatchObject({ status: 'done', observationId: 'obs-77' });
  });
});
