/**
 * Restarts with jobs queued: the queue's state is in the SQLite store, so a process that stops, or
 * dies mid-job, leaves every job for the next process on the same file, and each finishes once.
 */
import { fork } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, test } from 'vitest';

import { AnalysisQueue } from '../../src/jobs/queue.js';
import { SqliteResultStore } from '../../src/jobs/result-store.js';
import type { AnalysisJob } from '../../src/jobs/types.js';
import { captureLogs } from '../support/log-capture.js';
import { uncalibratedResult } from '../support/score-result.js';

const QUEUE_PROCESS = fileURLToPath(new URL('./support/queue-process.ts', import.meta.url));
const STUDIES = ['2.25.101', '2.25.102', '2.25.103', '2.25.104', '2.25.105'];

function job(studyInstanceUid: string): AnalysisJob {
  return { studyInstanceUid, modelId: 'br-ro', modelVersion: '1.0.0' };
}

const opened: SqliteResultStore[] = [];

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

function tempDatabase(): string {
  return path.join(mkdtempSync(path.join(tmpdir(), 'nqo1-restart-')), 'results.sqlite');
}

function openStore(sqlitePath: string): SqliteResultStore {
  const store = new SqliteResultStore(sqlitePath);
  opened.push(store);
  return store;
}

/** Starts a queue on `store` whose analysis records each study it runs and returns a result. */
async function recordingQueue(store: SqliteResultStore, analysed: string[]): Promise<AnalysisQueue> {
  const queue = new AnalysisQueue({
    store,
    logger: captureLogs().logger,
    analyse: (analysisJob) => {
      analysed.push(analysisJob.studyInstanceUid);
      return Promise.resolve({ result: uncalibratedResult() });
    },
  });
  await queue.start();
  return queue;
}

describe('queue restart with jobs queued', () => {
  test('stop mid-queue leaves the rest for the next start', async () => {
    const file = tempDatabase();
    const firstStore = openStore(file);
    const firstAnalysed: string[] = [];
    let releaseFirst: () => void = () => undefined;
    let firstStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      firstStarted = resolve;
    });
    const firstQueue = new AnalysisQueue({
      store: firstStore,
      logger: captureLogs().logger,
      analyse: (analysisJob) => {
        firstAnalysed.push(analysisJob.studyInstanceUid);
        firstStarted();
        return new Promise((resolve) => {
          releaseFirst = () => {
            resolve({ result: uncalibratedResult() });
          };
        });
      },
    });
    await firstQueue.start();
    for (const study of STUDIES) await firstQueue.enqueue(job(study));

    // Stop while the first job runs: stop waits for it, and the other four stay pending.
    await started;
    const stopped = firstQueue.stop();
    releaseFirst();
    await stopped;
    expect(firstAnalysed).toEqual([STUDIES[0]]);
    expect(await firstStore.countByStatus()).toEqual({ pending: 4, running: 0, done: 1, failed: 0 });
    await firstStore.close();
    opened.splice(0);

    const secondStore = openStore(file);
    const secondAnalysed: string[] = [];
    const secondQueue = await recordingQueue(secondStore, secondAnalysed);
    await secondQueue.drain();
    await secondQueue.stop();

    expect([...secondAnalysed].sort()).toEqual(STUDIES.slice(1));
    expect(await secondStore.countByStatus()).toEqual({ pending: 0, running: 0, done: 5, failed: 0 });
  });

  test('process killed mid-job loses no job', async () => {
    const file = tempDatabase();
    const child = fork(QUEUE_PROCESS, [file, ...STUDIES], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const analysing = await new Promise<string>((resolve, reject) => {
      child.once('message', (message: { analysing: string }) => {
        resolve(message.analysing);
      });
      child.once('exit', (code) => {
        reject(new Error(`The queue process exited with code ${code} before analysing`));
      });
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => {
      child.once('exit', (_code, signal) => {
        resolve(signal);
      });
    });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // The killed process left one row running and the others pending.
    const store = openStore(file);
    expect(analysing).toBe(STUDIES[0]);
    expect(await store.countByStatus()).toEqual({ pending: 4, running: 1, done: 0, failed: 0 });

    const analysed: string[] = [];
    const queue = await recordingQueue(store, analysed);
    await queue.drain();
    await queue.stop();

    expect([...analysed].sort()).toEqual(STUDIES);
    expect(await store.countByStatus()).toEqual({ pending: 0, running: 0, done: 5, failed: 0 });
    for (const study of STUDIES) {
      expect(await store.getResult(job(study))).toMatchObject({
        status: 'done',
        result: uncalibratedResult(),
      });
    }
  });
});
