import { afterEach, describe, expect, test } from 'vitest';

import { Nqo1Error } from '../../src/errors.js';
import { AuditJobObserver } from '../../src/jobs/audit-observer.js';
import { combineObservers } from '../../src/jobs/job-observer.js';
import { AnalysisQueue } from '../../src/jobs/queue.js';
import { SqliteResultStore } from '../../src/jobs/result-store.js';
import type { AnalyseStudy, AnalysisJob } from '../../src/jobs/types.js';
import { ServiceMetrics } from '../../src/server/metrics/service-metrics.js';
import type { WriteBackOutcome } from '../../src/fhir/write-back.js';
import { captureLogs } from '../support/log-capture.js';
import { uncalibratedResult } from '../support/score-result.js';

const PATIENT_ID = 'pat-secret-42';

function job(studyInstanceUid: string, withFhirIds = true): AnalysisJob {
  return {
    studyInstanceUid,
    ...(withFhirIds ? { imagingStudyId: `study-${studyInstanceUid}`, patientId: PATIENT_ID } : {}),
    modelId: 'br-ro',
    modelVersion: '1.0.0',
  };
}

let store: SqliteResultStore | undefined;

afterEach(async () => {
  await store?.close();
  store = undefined;
});

/** Opens a queue whose observer feeds both the metrics and the audit trail. */
async function setUp(analyse: AnalyseStudy, writeFails = false) {
  store = new SqliteResultStore(':memory:');
  const logs = captureLogs();
  const metrics = new ServiceMetrics();
  const s = store;
  metrics.countAnalysesWith(() => s.countByStatus());
  const writer = {
    write: (): Promise<WriteBackOutcome> =>
      writeFails
        ? Promise.reject(new Nqo1Error('ERR_FHIR_FAILED', 'FHIR create of Observation returned HTTP 503'))
        : Promise.resolve({
            observationId: 'obs-1',
            activity: 'create',
            deviceId: 'dev-1',
            provenanceId: 'prov-1',
          }),
  };
  const queue = new AnalysisQueue({
    store,
    analyse,
    logger: logs.logger,
    writer,
    retryWriteBackAfterMs: 60_000,
    observer: combineObservers(metrics, new AuditJobObserver(store.audit, logs.logger)),
  });
  await queue.start();
  return { store, queue, metrics, logs };
}

describe('queue observer', () => {
  test('audits and counts a computation and its write-back', async () => {
    const {
      store: s,
      queue,
      metrics,
    } = await setUp(() => Promise.resolve({ result: uncalibratedResult(), observationId: 'obs-9' }));
    await queue.enqueue(job('1.1'));
    await queue.drain();
    const id = (await s.getResult(job('1.1')))?.id;

    const events = await s.audit.list({ limit: 10 });
    expect(events.map((event) => [event.action, event.outcome, event.analysisId])).toEqual([
      ['compute', 'success', id],
      ['write-back', 'success', id],
    ]);
    expect(events[0]).toMatchObject({
      actor: { kind: 'service', id: 'service' },
      studyInstanceUid: '1.1',
      modelId: 'br-ro',
      modelVersion: '1.0.0',
    });
    expect(metrics.writeBacks.get({ outcome: 'written' })).toBe(1);
    await metrics.collect();
    expect(metrics.render()).toContain('nqo1_analyses{status="done"} 1\n');
  });

  test('audits and counts a failed analysis by its code', async () => {
    const {
      store: s,
      queue,
      metrics,
    } = await setUp(() =>
      Promise.reject(new Nqo1Error('ERR_SEGMENTATION_MISSING', 'No SEG references series 1.2.3')),
    );
    await queue.enqueue(job('1.2'));
    await queue.drain();

    const [event] = await s.audit.list({ limit: 10 });
    expect(event).toMatchObject({
      action: 'compute',
      outcome: 'failure',
      errorCode: 'ERR_SEGMENTATION_MISSING',
    });
    expect(event?.analysisId).toBe((await s.getResult(job('1.2')))?.id);
    expect(metrics.failures.get({ operation: 'analysis', code: 'ERR_SEGMENTATION_MISSING' })).toBe(1);
    await metrics.collect();
    expect(metrics.render()).toContain('nqo1_analyses{status="failed"} 1\n');
  });

  test('audits a failed owed write-back', async () => {
    const {
      store: s,
      queue,
      metrics,
    } = await setUp(() => Promise.resolve({ result: uncalibratedResult() }), true);
    await queue.enqueue(job('1.3', false));
    await queue.drain();
    await s.bindFhirIds(job('1.3'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await queue.drain();

    const actions = (await s.audit.list({ limit: 10 })).map((event) => [
      event.action,
      event.outcome,
      event.errorCode,
    ]);
    expect(actions).toEqual([
      ['compute', 'success', undefined],
      ['write-back', 'failure', 'ERR_FHIR_FAILED'],
    ]);
    expect(metrics.failures.get({ operation: 'write-back', code: 'ERR_FHIR_FAILED' })).toBe(1);
    expect(metrics.writeBacks.get({ outcome: 'failed' })).toBe(1);
  });

  test('keeps patient ids out of the audit trail and the metrics', async () => {
    const {
      store: s,
      queue,
      metrics,
    } = await setUp(() => Promise.resolve({ result: uncalibratedResult(), observationId: 'obs-9' }));
    await queue.enqueue(job('1.4'));
    await queue.drain();

    expect(JSON.stringify(await s.audit.list({ limit: 10 }))).not.toContain(PATIENT_ID);
    await metrics.collect();
    expect(metrics.render()).not.toContain(PATIENT_ID);
    expect(metrics.render()).not.toContain('1.4');
  });
});
