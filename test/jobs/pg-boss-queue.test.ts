/**
 * The pg-boss queue of a scaled-out deployment, run in this process on a database of its own. The
 * tests cover API and worker roles, a job delivered twice, an analysis stored without its job, jobs
 * queued while no worker runs, and the start-up errors of `openEngine`. The shared chart lock is
 * checked here too.
 * The end-to-end run with separate processes is `test/integration/scale-out.int.test.ts`.
 *
 * Needs PostgreSQL (`test/support/postgres.ts`); under `CI=true` a missing one fails.
 */
import pg from 'pg';
import PgBoss from 'pg-boss';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';

import { isNqo1Error } from '../../src/errors.js';
import { ANALYSIS_QUEUE_NAME, PG_BOSS_SCHEMA, PgBossQueue } from '../../src/jobs/pg-boss-queue.js';
import { PostgresAdvisoryLock } from '../../src/jobs/postgres-advisory-lock.js';
import { storeUnavailableError } from '../../src/jobs/postgres-errors.js';
import { openPostgresStore, type PostgresResultStore } from '../../src/jobs/postgres-store.js';
import type { QueueRole } from '../../src/jobs/queue-role.js';
import type { AnalysisJob } from '../../src/jobs/types.js';
import { parseConfig } from '../../src/server/config.js';
import { openEngine, openStore as openStoreOf, readPostgresUrl } from '../../src/server/store-engine.js';
import { captureLogs } from '../support/log-capture.js';
import { findFreeLoopbackPort } from '../support/orthanc.js';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../support/postgres.js';
import { uncalibratedResult } from '../support/score-result.js';

const skipReason = postgresSkipReason('the pg-boss queue test');

function job(studyInstanceUid: string): AnalysisJob {
  return { studyInstanceUid, modelId: 'br-ro', modelVersion: '1.0.0' };
}

/** Polls `check` every 50 ms until it is true, or fails after `timeoutMs`. */
async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(skipReason !== null)('pg-boss queue', () => {
  let database: TestDatabase;
  const opened: { stop(): Promise<void> }[] = [];
  const stores: PostgresResultStore[] = [];

  // Each test gets a database of its own, so no job or row of another test reaches its workers.
  beforeEach(async () => {
    database = await createTestDatabase();
  });

  afterEach(async () => {
    for (const queue of opened.splice(0)) await queue.stop();
    for (const store of stores.splice(0)) await store.close();
    await database.drop();
  });

  /** Number of pg-boss jobs of the analysis queue in `state`. */
  async function jobCount(state: string): Promise<number> {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>(
        `SELECT COUNT(*)::int AS n FROM ${PG_BOSS_SCHEMA}.job WHERE name = $1 AND state = $2`,
        [ANALYSIS_QUEUE_NAME, state],
      );
      return rows[0]?.n ?? 0;
    } finally {
      await client.end();
    }
  }

  async function openStore(): Promise<PostgresResultStore> {
    const store = await openPostgresStore({ connectionString: database.url, poolSize: 4 });
    stores.push(store);
    return store;
  }

  async function startQueue(
    store: PostgresResultStore,
    role: QueueRole,
    analysed: string[] = [],
    options: {
      jobTimeoutSeconds?: number;
      concurrency?: number;
      analysisMs?: number;
      model?: { id: string; version: string };
    } = {},
  ): Promise<PgBossQueue> {
    const { analysisMs = 0, ...queueOptions } = options;
    const queue = new PgBossQueue({
      store,
      connectionString: database.url,
      role,
      logger: captureLogs().logger,
      pollIntervalMs: 200,
      ...(role === 'api'
        ? {}
        : {
            analyse: async (analysisJob) => {
              analysed.push(analysisJob.studyInstanceUid);
              if (analysisMs > 0) await new Promise((resolve) => setTimeout(resolve, analysisMs));
              return {
                result: uncalibratedResult({
                  model: { id: analysisJob.modelId, version: analysisJob.modelVersion },
                }),
              };
            },
          }),
      ...queueOptions,
    });
    await queue.start();
    opened.push(queue);
    return queue;
  }

  test('api enqueues, worker analyses once', async () => {
    const store = await openStore();
    const api = await startQueue(store, 'api');
    const analysed: string[] = [];

    expect(await api.enqueue(job('2.25.1'))).toBe('enqueued');
    expect(await api.enqueue(job('2.25.1'))).toBe('exists');
    expect(await api.enqueue(job('2.25.2'))).toBe('enqueued');
    // No worker runs yet: the jobs wait, and the rows stay pending.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await store.countByStatus()).toEqual({ pending: 2, running: 0, done: 0, failed: 0 });

    await startQueue(await openStore(), 'worker', analysed);
    await until('both studies done', 20_000, async () => (await store.countByStatus()).done === 2);
    expect(analysed.sort()).toEqual(['2.25.1', '2.25.2']);
  });

  test('api role never analyses', async () => {
    const store = await openStore();
    const api = await startQueue(store, 'api');
    await api.enqueue(job('2.25.3'));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await store.getResult(job('2.25.3')))?.status).toBe('pending');
  });

  test('two workers compute 20 studies once', async () => {
    const store = await openStore();
    const api = await startQueue(store, 'api');
    const first: string[] = [];
    const second: string[] = [];
    await startQueue(await openStore(), 'worker', first, { concurrency: 2 });
    await startQueue(await openStore(), 'worker', second, { concurrency: 2 });

    const uids = Array.from({ length: 20 }, (_, index) => `2.25.${100 + index}`);
    await Promise.all(uids.map((uid) => api.enqueue(job(uid))));
    // The same studies again, as more hooks arrive: nothing new.
    expect(new Set(await Promise.all(uids.map((uid) => api.enqueue(job(uid)))))).toEqual(new Set(['exists']));

    await until('20 studies done', 30_000, async () => (await store.countByStatus()).done === 20);
    expect([...first, ...second].sort()).toEqual([...uids].sort());
    expect(first.length + second.length).toBe(20);
  });

  test('waiting jobs computed once by three workers', async () => {
    const store = await openStore();
    const api = await startQueue(store, 'api');
    const uids = Array.from({ length: 10 }, (_, index) => `2.25.${200 + index}`);
    for (const uid of uids) await api.enqueue(job(uid));
    // Longer than the look interval: every pending row is stalled and is queued again by the looks.
    await new Promise((resolve) => setTimeout(resolve, 1000));

    const analysed: string[] = [];
    for (let worker = 0; worker < 3; worker++) {
      // Analyses that last longer than a look, so looks find rows that a worker has just taken.
      await startQueue(await openStore(), 'worker', analysed, { concurrency: 3, analysisMs: 400 });
    }
    await until('10 studies done', 30_000, async () => (await store.countByStatus()).done === 10);
    // The looks go on sending jobs of rows that were pending; let those arrive and be skipped.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect([...analysed].sort()).toEqual([...uids].sort());
  });

  test('job of another model version left pending', async () => {
    const store = await openStore();
    const api = await startQueue(store, 'api');
    // An API process of the next release enqueues for card version 2.0.0.
    await api.enqueue({ ...job('2.25.10'), modelVersion: '2.0.0' });

    const oldAnalysed: string[] = [];
    await startQueue(await openStore(), 'worker', oldAnalysed, { model: { id: 'br-ro', version: '1.0.0' } });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(oldAnalysed).toEqual([]);
    expect((await store.getResult({ ...job('2.25.10'), modelVersion: '2.0.0' }))?.status).toBe('pending');

    const newAnalysed: string[] = [];
    await startQueue(await openStore(), 'worker', newAnalysed, { model: { id: 'br-ro', version: '2.0.0' } });
    await until('the study done', 20_000, async () => (await store.countByStatus()).done === 1);
    expect(newAnalysed).toEqual(['2.25.10']);
    expect(oldAnalysed).toEqual([]);
  });

  test('redelivered job of done row skipped', async () => {
    const store = await openStore();
    const analysed: string[] = [];
    const worker = await startQueue(store, 'worker', analysed);
    await worker.enqueue(job('2.25.4'));
    await until('the study done', 20_000, async () => (await store.countByStatus()).done === 1);

    // A second delivery of the same row, as pg-boss gives after an expiry: the row is done.
    const boss = new PgBoss({ connectionString: database.url, schema: PG_BOSS_SCHEMA, supervise: false });
    boss.on('error', () => undefined);
    await boss.start();
    try {
      await boss.send(ANALYSIS_QUEUE_NAME, job('2.25.4'));
      await until('the second job completed', 20_000, async () => (await jobCount('completed')) === 2);
    } finally {
      await boss.stop({ graceful: false, wait: true });
    }
    expect(analysed).toEqual(['2.25.4']);
  });

  test('second job of live row skipped', async () => {
    const store = await openStore();
    await store.insertPending(job('2.25.9'));
    // Another worker claimed it a moment ago and is still analysing.
    await store.claimKey(job('2.25.9'), new Date());
    const analysed: string[] = [];
    await startQueue(await openStore(), 'worker', analysed, { jobTimeoutSeconds: 60 });
    const boss = new PgBoss({ connectionString: database.url, schema: PG_BOSS_SCHEMA, supervise: false });
    boss.on('error', () => undefined);
    await boss.start();
    try {
      await boss.send(ANALYSIS_QUEUE_NAME, job('2.25.9'));
      await until('the job completed', 20_000, async () => (await jobCount('completed')) >= 1);
    } finally {
      await boss.stop({ graceful: false, wait: true });
    }
    expect(analysed).toEqual([]);
    expect((await store.getResult(job('2.25.9')))?.status).toBe('running');
  });

  test('long analysis of live worker not taken', async () => {
    const store = await openStore();
    const api = await startQueue(store, 'api');
    const first: string[] = [];
    const second: string[] = [];
    // Analyses of 7 s against a job timeout of 4 s: only the renewals keep the row from looking stalled.
    await startQueue(await openStore(), 'worker', first, { jobTimeoutSeconds: 4, analysisMs: 7000 });
    await api.enqueue(job('2.25.11'));
    await until('the analysis started', 10_000, () => Promise.resolve(first.length === 1));
    await startQueue(await openStore(), 'worker', second, { jobTimeoutSeconds: 4, analysisMs: 7000 });

    await until('the study done', 20_000, async () => (await store.countByStatus()).done === 1);
    // Looks and job expiry had time to hand the row over if it had looked stalled.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect([...first, ...second]).toEqual(['2.25.11']);
  });

  test('stored row without job queued again', async () => {
    const store = await openStore();
    // A process stopped between storing the row and sending its job.
    await store.insertPending(job('2.25.5'));
    const analysed: string[] = [];
    await startQueue(await openStore(), 'worker', analysed);
    await until('the study done', 20_000, async () => (await store.countByStatus()).done === 1);
    expect(analysed).toEqual(['2.25.5']);
  });

  test('dead worker row reruns after timeout', async () => {
    const store = await openStore();
    await store.insertPending(job('2.25.6'));
    // The dead worker claimed it and never finished.
    expect(await store.claimKey(job('2.25.6'), new Date())).toBeDefined();
    const analysed: string[] = [];
    await startQueue(await openStore(), 'worker', analysed, { jobTimeoutSeconds: 5 });

    await new Promise((resolve) => setTimeout(resolve, 2000));
    // Within the timeout the row is left to its worker.
    expect(analysed).toEqual([]);
    await until('the study done', 20_000, async () => (await store.countByStatus()).done === 1);
    expect(analysed).toEqual(['2.25.6']);
  });

  test('failed row requeued once on notification', async () => {
    const store = await openStore();
    await store.insertPending(job('2.25.7'));
    await store.claimKey(job('2.25.7'), new Date());
    await store.markFailed(job('2.25.7'), { code: 'ERR_SEGMENTATION_MISSING', message: 'no SEG' });
    const api = await startQueue(store, 'api');
    expect(await api.enqueue(job('2.25.7'), { retryFailedNow: true })).toBe('requeued');
    expect(await api.enqueue(job('2.25.7'), { retryFailedNow: true })).toBe('exists');
  });

  test('NUL in a comment rejected as invalid', async () => {
    const store = await openStore();
    const error: unknown = await store.feedback
      .insert([
        {
          cardUuid: '0f8fad5b-d9cb-469f-a165-70867728950e',
          outcome: 'overridden',
          outcomeTimestamp: '2026-12-05T08:00:00.000Z',
          serviceId: 'nqo1-risk',
          origin: { modelId: 'br-ro', modelVersion: '1.0.0' },
          userComment: 'wrong\u0000lesion',
        },
      ])
      .catch((thrown: unknown) => thrown);
    expect(isNqo1Error(error)).toBe(true);
    expect((error as { code?: unknown }).code).toBe('ERR_REQUEST_INVALID');
    expect(await store.feedback.countByModel()).toEqual([]);
  });

  test('reader rejects a database without tables', async () => {
    const engine = parseConfig({
      dicomweb: {
        baseUrl: 'http://127.0.0.1:8042/dicom-web',
        allowedBaseUrls: ['http://127.0.0.1:8042/dicom-web'],
      },
      fhir: { baseUrl: 'http://127.0.0.1:8103/fhir/R4', allowedBaseUrls: ['http://127.0.0.1:8103/fhir/R4'] },
      store: { engine: 'postgres' },
    });
    const error: unknown = await openStoreOf(engine, { NQO1_POSTGRES_URL: database.url }).catch(
      (thrown: unknown) => thrown,
    );
    expect(isNqo1Error(error)).toBe(true);
    expect((error as { code?: unknown }).code).toBe('ERR_CONFIG_INVALID');
    expect(String(error)).toContain('has no NQO1 CDS tables');

    // Once the service has created them, the reader opens the store.
    await openStore();
    const reader = await openStoreOf(engine, { NQO1_POSTGRES_URL: database.url });
    expect(await reader.countByStatus()).toEqual({ pending: 0, running: 0, done: 0, failed: 0 });
    await reader.close();
  });

  test('enqueue before start rejected', async () => {
    const store = await openStore();
    const queue = new PgBossQueue({
      store,
      connectionString: database.url,
      role: 'api',
      logger: captureLogs().logger,
    });
    await expect(queue.enqueue(job('2.25.8'))).rejects.toThrow('not running');
  });
});

describe.skipIf(skipReason !== null)('shared chart lock', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database.drop();
  });

  test('same key serialised, other keys concurrent', async () => {
    const first = new PostgresAdvisoryLock(database.url, 2);
    const second = new PostgresAdvisoryLock(database.url, 2);
    try {
      const events: string[] = [];
      const task = (name: string, ms: number) => async () => {
        events.push(`${name} start`);
        await new Promise((resolve) => setTimeout(resolve, ms));
        events.push(`${name} end`);
        return name;
      };
      const results = await Promise.all([
        first.run('Observation|a', task('a1', 300)),
        new Promise((resolve) => setTimeout(resolve, 50)).then(() =>
          second.run('Observation|a', task('a2', 10)),
        ),
        new Promise((resolve) => setTimeout(resolve, 100)).then(() =>
          second.run('Observation|b', task('b', 10)),
        ),
      ]);
      expect(results).toEqual(['a1', 'a2', 'b']);
      // a2 waited for a1; b did not wait for either.
      expect(events.indexOf('a2 start')).toBeGreaterThan(events.indexOf('a1 end'));
      expect(events.indexOf('b end')).toBeLessThan(events.indexOf('a1 end'));
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  test('failed task releases lock', async () => {
    const lock = new PostgresAdvisoryLock(database.url, 1);
    try {
      await expect(lock.run('k', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
      expect(await lock.run('k', () => Promise.resolve('after'))).toBe('after');
    } finally {
      await lock.close();
    }
  });
});

describe('openEngine start-up errors', () => {
  function config(store: Record<string, unknown>) {
    return parseConfig({
      dicomweb: {
        baseUrl: 'http://127.0.0.1:8042/dicom-web',
        allowedBaseUrls: ['http://127.0.0.1:8042/dicom-web'],
      },
      fhir: { baseUrl: 'http://127.0.0.1:8103/fhir/R4', allowedBaseUrls: ['http://127.0.0.1:8103/fhir/R4'] },
      store,
    });
  }

  test('SQLite rejects api and worker roles', async () => {
    for (const role of ['api', 'worker'] as const) {
      const error: unknown = await openEngine(config({ sqlitePath: ':memory:' }), {
        role,
        logger: captureLogs().logger,
        analyse: () => Promise.resolve({ result: uncalibratedResult() }),
      }).catch((thrown: unknown) => thrown);
      expect(isNqo1Error(error)).toBe(true);
      expect((error as { code?: unknown }).code).toBe('ERR_CONFIG_INVALID');
      expect(String(error)).toContain(`serve --role ${role} needs store.engine postgres`);
    }
  });

  test('missing URL variable named', async () => {
    const error: unknown = await openEngine(config({ engine: 'postgres' }), {
      role: 'api',
      logger: captureLogs().logger,
      env: {},
    }).catch((thrown: unknown) => thrown);
    expect(isNqo1Error(error)).toBe(true);
    expect((error as { code?: unknown }).code).toBe('ERR_CONFIG_INVALID');
    expect(String(error)).toContain('the PostgreSQL URL must be in NQO1_POSTGRES_URL');
    expect(String(error)).not.toContain('remove store.postgresUrlEnv');
  });

  test('malformed URLs rejected without the value', () => {
    const engine = config({ engine: 'postgres' });
    for (const value of [
      'nqo1:S3cret-pw',
      'http://nqo1:S3cret-pw@127.0.0.1:5432/nqo1',
      'postgres://nqo1:S3cret-pw@127.0.0.1:5432',
      'postgres://nqo1:S3c@ret-pw@127.0.0.1:5432/nqo1',
    ]) {
      let thrown: unknown;
      try {
        readPostgresUrl(engine, { NQO1_POSTGRES_URL: value });
      } catch (error) {
        thrown = error;
      }
      expect(isNqo1Error(thrown)).toBe(true);
      expect((thrown as { code?: unknown }).code).toBe('ERR_CONFIG_INVALID');
      expect(String(thrown)).toContain('NQO1_POSTGRES_URL is not a PostgreSQL URL');
      expect(String(thrown)).not.toContain('S3c');
    }
    const encoded = 'postgresql://nqo1:S3c%40ret@db.example:5432/nqo1?sslmode=require';
    expect(readPostgresUrl(engine, { NQO1_POSTGRES_URL: encoded })).toBe(encoded);
  });

  test('missing privilege named as configuration', () => {
    const mapped = storeUnavailableError(
      Object.assign(new Error('permission denied for schema public'), { code: '42501' }),
      'opening the store',
      'NQO1_POSTGRES_URL',
      [],
    );
    expect(mapped?.code).toBe('ERR_CONFIG_INVALID');
    expect(mapped?.message).toContain('grant it CONNECT and CREATE on the database');
  });

  test('NUL character named as invalid request', () => {
    const mapped = storeUnavailableError(
      Object.assign(new Error('unsupported Unicode escape sequence'), { code: '22P05' }),
      'storing card feedback',
      'NQO1_POSTGRES_URL',
      [],
    );
    expect(mapped?.code).toBe('ERR_REQUEST_INVALID');
    expect(mapped?.message).toContain('U+0000');
  });

  test('TLS failure named as unavailable store', () => {
    const mapped = storeUnavailableError(
      new Error('The server does not support SSL connections'),
      'opening the store',
      'NQO1_POSTGRES_URL',
      [],
    );
    expect(mapped?.code).toBe('ERR_STORE_UNAVAILABLE');
    expect(mapped?.message).toContain('a TLS failure');
  });

  test('unreachable PostgreSQL hides password', async () => {
    const port = await findFreeLoopbackPort();
    const error: unknown = await openEngine(config({ engine: 'postgres' }), {
      role: 'api',
      logger: captureLogs().logger,
      env: { NQO1_POSTGRES_URL: `postgres://nqo1:s3cret-pw@127.0.0.1:${port}/nqo1` },
    }).catch((thrown: unknown) => thrown);
    expect(isNqo1Error(error)).toBe(true);
    expect((error as { code?: unknown }).code).toBe('ERR_STORE_UNAVAILABLE');
    expect(String(error)).not.toContain('s3cret-pw');
    expect(String(error)).toContain('NQO1_POSTGRES_URL');
  });
});
