/**
 * The analysis queue of a scaled-out deployment: results in PostgreSQL (`postgres-store.ts`) and
 * jobs in pg-boss, in the same database. API processes enqueue; worker processes run the jobs
 * (`serve --role api|worker|all`).
 *
 * Enqueueing is two steps: the pending row in the result store (which decides, as in the embedded
 * queue, whether there is anything to do), then a pg-boss job that carries only the row's key. The
 * row is the truth and the job only a wake-up call:
 * - A worker claims the row by its key (`ResultStore.claimKey`) and skips a job whose row is done or
 *   failed, so a job delivered twice is computed once.
 * - Jobs use the `short` policy with the row key as singleton key: at most one job of a row waits,
 *   so sending one again is harmless.
 * - A worker looks every `jobs.pollIntervalMs` for rows pending without a job (a process stopped
 *   between the two steps) and for rows running longer than `jobs.jobTimeoutSeconds` (their worker
 *   stopped), and queues them again. pg-boss also gives an expired job to another worker.
 * - Owed write-backs are claimed from the store (`claimWriteBack`, row-locked), so each is written
 *   by one worker.
 *
 * @see https://github.com/timgit/pg-boss/blob/10.4.2/docs/readme.md (queue policies, expiration)
 */

import PgBoss from 'pg-boss';
import type { Logger } from 'pino';

import { Nqo1Error, isNqo1Error } from '../errors.js';
import type { ResultWriter } from './analyse-study.js';
import type { JobObserver } from './job-observer.js';
import { resultKeyValues } from './analysis-rows.js';
import { JobRunner, requestedChoice } from './job-runner.js';
import { LogThrottle } from './log-throttle.js';
import { storeUnavailableError } from './postgres-errors.js';
import {
  DEFAULT_RETRY_FAILED_AFTER_MS,
  DEFAULT_RETRY_WRITE_BACK_AFTER_MS,
  storeJob,
  type EnqueueOptions,
  type EnqueueOutcome,
  type JobQueue,
} from './queue.js';
import type { QueueRole } from './queue-role.js';
import type { ResultStore } from './store.js';
import type { AnalyseStudy, AnalysisJob, ResultKey } from './types.js';

/** Name of the pg-boss queue of analyses. */
export const ANALYSIS_QUEUE_NAME = 'nqo1-analysis';

/** Schema of pg-boss's tables, beside the result store's tables in the same database. */
export const PG_BOSS_SCHEMA = 'nqo1_pgboss';

/** Shortest time between two log lines of failed looks, or of pg-boss errors, in milliseconds. */
const ERROR_LOG_INTERVAL_MS = 60_000;

/** Rows queued again by one look for stalled rows; the next look takes the rest. */
const STALLED_BATCH = 500;

/** Data of a pg-boss job: the key of its row in the result store, nothing about the patient. */
type JobData = ResultKey;

export interface PgBossQueueOptions {
  readonly store: ResultStore;
  /** PostgreSQL connection URL of pg-boss; contains the password, so it is never logged. */
  readonly connectionString: string;
  readonly role: QueueRole;
  readonly logger: Logger;
  /** The analysis; required for the `worker` and `all` roles. */
  readonly analyse?: AnalyseStudy;
  /** Writes owed Observations; omit when write-back is not configured. */
  readonly writer?: ResultWriter;
  readonly observer?: JobObserver;
  readonly retryFailedAfterMs?: number;
  readonly retryWriteBackAfterMs?: number;
  /** Jobs this process runs at once (`jobs.workerConcurrency`). */
  readonly concurrency?: number;
  /** Seconds before a running job is given to another worker (`jobs.jobTimeoutSeconds`). */
  readonly jobTimeoutSeconds?: number;
  /** Milliseconds between two looks for owed write-backs and stalled rows (`jobs.pollIntervalMs`). */
  readonly pollIntervalMs?: number;
  /** Connections pg-boss keeps open. */
  readonly poolSize?: number;
  /**
   * The model card this worker computes. A job of another model or version (enqueued by an API
   * process of another release, during a rolling upgrade) is left pending for a worker that has it,
   * rather than failed. Omitted: every job is taken.
   */
  readonly model?: { readonly id: string; readonly version: string };
  readonly now?: () => Date;
}

/** The pg-boss queue of one API or worker process. */
export class PgBossQueue implements JobQueue {
  readonly #store: ResultStore;
  readonly #boss: PgBoss;
  readonly #log: Logger;
  readonly #runner: JobRunner | undefined;
  readonly #writer: ResultWriter | undefined;
  readonly #retryFailedAfterMs: number;
  readonly #retryWriteBackAfterMs: number;
  readonly #concurrency: number;
  readonly #jobTimeoutSeconds: number;
  readonly #pollIntervalMs: number;
  readonly #now: () => Date;
  readonly #model: PgBossQueueOptions['model'];
  /** Kept only to redact it from error messages. */
  readonly #connectionString: string;

  #pollTimer: NodeJS.Timeout | undefined;
  /** Failed looks and pg-boss errors, logged once a minute during an outage rather than once a poll. */
  readonly #pollErrors = new LogThrottle(ERROR_LOG_INTERVAL_MS);
  readonly #bossErrors = new LogThrottle(ERROR_LOG_INTERVAL_MS);
  #polling: Promise<void> | undefined;
  #started = false;
  #stopping = false;

  constructor(options: PgBossQueueOptions) {
    this.#store = options.store;
    this.#log = options.logger.child({ component: 'analysis-queue', queue: 'pg-boss', role: options.role });
    this.#writer = options.writer;
    this.#retryFailedAfterMs = options.retryFailedAfterMs ?? DEFAULT_RETRY_FAILED_AFTER_MS;
    this.#retryWriteBackAfterMs = options.retryWriteBackAfterMs ?? DEFAULT_RETRY_WRITE_BACK_AFTER_MS;
    this.#concurrency = options.concurrency ?? 1;
    this.#jobTimeoutSeconds = options.jobTimeoutSeconds ?? 1800;
    this.#pollIntervalMs = options.pollIntervalMs ?? 5000;
    this.#now = options.now ?? (() => new Date());
    this.#model = options.model;
    this.#connectionString = options.connectionString;

    const runsJobs = options.role !== 'api';
    if (runsJobs && options.analyse === undefined) {
      throw new Nqo1Error(
        'ERR_INTERNAL',
        `The ${options.role} role runs analyses, so it needs an analyse function`,
      );
    }
    this.#runner =
      options.analyse === undefined || !runsJobs
        ? undefined
        : new JobRunner({
            store: options.store,
            analyse: options.analyse,
            logger: this.#log,
            ...(options.observer === undefined ? {} : { observer: options.observer }),
          });

    this.#boss = new PgBoss({
      connectionString: options.connectionString,
      schema: PG_BOSS_SCHEMA,
      max: options.poolSize ?? 4,
      application_name: `nqo1-cds-${options.role}`,
      // Only workers expire jobs of stopped workers and remove old ones; API processes only send.
      supervise: runsJobs,
      schedule: false,
      maintenanceIntervalSeconds: Math.max(1, Math.min(120, Math.round(this.#pollIntervalMs / 1000))),
    });
    // pg-boss reports a lost connection as an event; without a listener Node would end the process.
    // Its workers poll every second, so an outage is logged once a minute with the count.
    this.#boss.on('error', (error: Error) => {
      const errors = this.#bossErrors.event();
      if (errors === undefined) return;
      this.#log.error(
        { code: 'ERR_STORE_UNAVAILABLE', errorName: error.name, errors },
        'job queue database error; pg-boss keeps trying',
      );
    });
  }

  /**
   * Connects pg-boss (creating its schema on first use), creates the queue, and in a worker starts
   * taking jobs and looking for stalled rows and owed write-backs.
   */
  async start(): Promise<void> {
    try {
      await this.#boss.start();
      await this.#boss.createQueue(ANALYSIS_QUEUE_NAME, {
        name: ANALYSIS_QUEUE_NAME,
        policy: 'short',
        // The row is claimed again by key, so a retry after a stopped worker computes it once.
        retryLimit: 3,
        retryDelay: 10,
        retryBackoff: true,
        expireInSeconds: this.#jobTimeoutSeconds,
      });
    } catch (error) {
      // pg-boss may have opened connections and timers before it failed; they would keep the process alive.
      await this.#boss.stop({ graceful: false, wait: false }).catch(() => undefined);
      // No `cause`: an error of node-postgres may quote the connection settings.
      throw (
        storeUnavailableError(error, 'starting the job queue', undefined, [this.#connectionString]) ??
        new Nqo1Error(
          'ERR_STORE_UNAVAILABLE',
          `The job queue could not start in PostgreSQL (${error instanceof Error ? error.name : typeof error}); ` +
            'check that the server runs and that the URL in the variable named by store.postgresUrlEnv is right.',
        )
      );
    }
    this.#started = true;

    if (this.#runner !== undefined) {
      for (let i = 0; i < this.#concurrency; i++) {
        await this.#boss.work<JobData>(
          ANALYSIS_QUEUE_NAME,
          { batchSize: 1, pollingIntervalSeconds: 1 },
          async (jobs) => {
            for (const job of jobs) await this.#runJob(job.data);
          },
        );
      }
      this.#schedulePoll(0);
    }
    this.#log.info({ concurrency: this.#runner === undefined ? 0 : this.#concurrency }, 'job queue started');
  }

  /**
   * Stores `job` as pending (or requeues its failed row) and queues a pg-boss job for it. A row that
   * exists and is not failed gets no new job: it is done, or a job carries it already.
   */
  async enqueue(job: AnalysisJob, options: EnqueueOptions = {}): Promise<EnqueueOutcome> {
    if (this.#stopping || !this.#started)
      throw new Nqo1Error('ERR_INTERNAL', 'The analysis queue is not running; the job was not enqueued');

    const outcome = await storeJob(
      this.#store,
      job,
      options.retryFailedNow === true ? null : new Date(this.#now().getTime() - this.#retryFailedAfterMs),
    );
    if (outcome !== 'exists') {
      try {
        await this.#send(job);
      } catch (error) {
        // The pending row is stored; a worker's next look for stalled rows queues it.
        this.#log.warn(
          {
            studyInstanceUid: job.studyInstanceUid,
            errorName: error instanceof Error ? error.name : typeof error,
          },
          'analysis stored but its job not queued; a worker queues it within jobs.pollIntervalMs',
        );
      }
      this.#log.info(
        { studyInstanceUid: job.studyInstanceUid, ...requestedChoice(job), modelId: job.modelId, outcome },
        'analysis enqueued',
      );
    }
    return outcome;
  }

  isRunning(): boolean {
    return this.#started && !this.#stopping;
  }

  /**
   * Resolves when the store has no pending or running analysis, whichever process runs them; for
   * tests and benchmarks. Checks every 100 ms.
   */
  async drain(): Promise<void> {
    for (;;) {
      const counts = await this.#store.countByStatus();
      if (counts.pending === 0 && counts.running === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Stops taking jobs, lets running ones finish (up to 30 s), and closes pg-boss's connections. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#pollTimer);
    await this.#polling;
    if (this.#started) await this.#boss.stop({ graceful: true, timeout: 30_000, wait: true });
  }

  /** Queues the pg-boss job of `key`; a job of the same row that waits already makes this a no-op. */
  async #send(key: ResultKey): Promise<void> {
    const data: JobData = {
      studyInstanceUid: key.studyInstanceUid,
      ...(key.seriesInstanceUid === undefined ? {} : { seriesInstanceUid: key.seriesInstanceUid }),
      ...(key.segmentationSopInstanceUid === undefined
        ? {}
        : { segmentationSopInstanceUid: key.segmentationSopInstanceUid }),
      modelId: key.modelId,
      modelVersion: key.modelVersion,
    };
    await this.#boss.send(ANALYSIS_QUEUE_NAME, data, { singletonKey: singletonKeyOf(key) });
  }

  /**
   * Runs the job of one row. A row that is done, failed, or running in another worker for less than
   * the job timeout is skipped, because this job is then a second delivery. A look for stalled rows
   * may queue a row again just as a worker takes its first job.
   */
  async #runJob(key: JobData): Promise<void> {
    const runner = this.#runner;
    if (runner === undefined) return;
    const model = this.#model;
    if (model !== undefined && (key.modelId !== model.id || key.modelVersion !== model.version)) {
      // The row stays pending; the looks of a worker with that card queue it again for that worker.
      this.#log.info(
        { studyInstanceUid: key.studyInstanceUid, modelId: key.modelId, modelVersion: key.modelVersion },
        'job left pending for a worker of its model version',
      );
      return;
    }
    const job = await this.#store.claimKey(
      key,
      new Date(this.#now().getTime() - this.#jobTimeoutSeconds * 1000),
    );
    if (job === undefined) {
      this.#log.info(
        { studyInstanceUid: key.studyInstanceUid },
        'job skipped: its analysis is stored already or runs in another worker',
      );
      return;
    }
    // The row's update time is renewed three times per job timeout, so a long analysis of a live
    // worker is never taken for the analysis of a dead one.
    const heartbeat = setInterval(
      () => {
        this.#store.touchRunning(key).catch(() => {
          // A missed renewal is harmless while the next one succeeds; the looks log an outage.
        });
      },
      Math.max(500, (this.#jobTimeoutSeconds * 1000) / 3),
    );
    heartbeat.unref();
    try {
      await runner.analyse(job);
    } finally {
      clearInterval(heartbeat);
    }
    // A write-back that failed during the analysis is owed now; the next poll takes it.
  }

  #schedulePoll(delayMs: number): void {
    if (this.#stopping) return;
    this.#pollTimer = setTimeout(() => {
      this.#polling = this.#poll()
        .catch((error: unknown) => {
          const failedLooks = this.#pollErrors.event();
          if (failedLooks === undefined) return;
          this.#log.error(
            {
              code: isNqo1Error(error) ? error.code : 'ERR_INTERNAL',
              errorName: error instanceof Error ? error.name : typeof error,
              failedLooks,
            },
            'look for stalled jobs and owed write-backs failed; trying again every jobs.pollIntervalMs',
          );
        })
        .finally(() => {
          this.#polling = undefined;
          this.#schedulePoll(this.#pollIntervalMs);
        });
    }, delayMs);
    this.#pollTimer.unref();
  }

  /** Queues stalled rows again, then writes the owed Observations that are due. */
  async #poll(): Promise<void> {
    const nowMs = this.#now().getTime();
    const stalled = await this.#store.listStalled(
      new Date(nowMs - this.#pollIntervalMs),
      new Date(nowMs - this.#jobTimeoutSeconds * 1000),
      STALLED_BATCH,
    );
    for (const key of stalled) {
      if (this.#stopping) return;
      await this.#send(key);
    }
    if (stalled.length > 0) this.#log.info({ rows: stalled.length }, 'stalled analyses queued again');

    const runner = this.#runner;
    const writer = this.#writer;
    if (runner === undefined || writer === undefined) return;
    for (;;) {
      if (this.#stopping) return;
      const owed = await this.#store.claimWriteBack(
        new Date(this.#now().getTime() - this.#retryWriteBackAfterMs),
      );
      if (owed === undefined) return;
      await runner.writeBack(owed, writer);
    }
  }
}

/** Returns the singleton key of a row's job: its key columns, '' for an automatic choice. */
function singletonKeyOf(key: ResultKey): string {
  return resultKeyValues(key).join('|');
}
