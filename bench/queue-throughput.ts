/**
 * Throughput of the analysis queues on one machine: the same generated study (in-memory PACS, so
 * no network) enqueued under `studies` different Study Instance UIDs, from the first enqueue until
 * every row is done. Rows: the embedded SQLite queue, and the pg-boss queue of one worker with
 * `jobs.workerConcurrency` 1 and 2, each with 2 analysis threads. "cores busy" is the process's CPU
 * time (main and worker threads) over the wall time, so it shows how much of the machine a worker
 * uses.
 *
 * Needs PostgreSQL for the pg-boss rows (`test/support/postgres.ts`); without it they are left out.
 * Run alone: `node --import tsx bench/queue-throughput.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { pino } from 'pino';

import { AnalysisWorkerPool } from '../src/jobs/analysis-workers.js';
import { createStudyAnalyser } from '../src/jobs/analyse-study.js';
import { PgBossQueue } from '../src/jobs/pg-boss-queue.js';
import { openPostgresStore } from '../src/jobs/postgres-store.js';
import { AnalysisQueue, type JobQueue } from '../src/jobs/queue.js';
import { SqliteResultStore } from '../src/jobs/result-store.js';
import type { ResultStore } from '../src/jobs/store.js';
import { BR_RO_CARD_PATH, loadModelCard } from '../src/model/card.js';
import { createTestDatabase, postgresUnavailableReason } from '../test/support/postgres.js';
import { generateStudy, inMemoryPacs } from './generated-study.js';

export interface QueueThroughputRow {
  readonly queue: string;
  readonly studies: number;
  readonly wallMs: number;
  readonly studiesPerMinute: number;
  readonly coresBusy: number;
  readonly loadAverage: number;
}

const THREADS = 2;

/** Runs each queue over `studies` jobs of a generated `sliceCount`-slice study. */
export async function benchQueueThroughput(studies = 8, sliceCount = 120): Promise<QueueThroughputRow[]> {
  const card = await loadModelCard(BR_RO_CARD_PATH);
  const study = generateStudy(sliceCount);
  const logger = pino({ level: 'silent' });
  const rows: QueueThroughputRow[] = [];

  const configurations: { name: string; engine: 'sqlite' | 'postgres'; concurrency: number }[] = [
    { name: 'embedded SQLite queue', engine: 'sqlite', concurrency: 1 },
    { name: 'pg-boss, 1 worker, workerConcurrency 1', engine: 'postgres', concurrency: 1 },
    { name: 'pg-boss, 1 worker, workerConcurrency 2', engine: 'postgres', concurrency: 2 },
  ];
  const postgresMissing = postgresUnavailableReason();

  for (const configuration of configurations) {
    if (configuration.engine === 'postgres' && postgresMissing !== null) {
      console.error(`queue throughput: ${configuration.name} left out: ${postgresMissing}`);
      continue;
    }
    const workers = new AnalysisWorkerPool({ size: THREADS });
    const analyse = createStudyAnalyser({
      pacs: inMemoryPacs(study),
      modelCard: card,
      logger,
      analysisWorkers: workers,
    });
    const folder = mkdtempSync(path.join(tmpdir(), 'nqo1-queue-bench-'));
    const database = configuration.engine === 'postgres' ? await createTestDatabase() : undefined;
    let store: ResultStore | undefined;
    let queue: JobQueue | undefined;
    try {
      // One analysis first, so the threads' compiled code is warm for every row alike.
      await analyse({
        studyInstanceUid: study.studyInstanceUid,
        modelId: card.id,
        modelVersion: card.version,
      });

      if (database === undefined) {
        store = new SqliteResultStore(path.join(folder, 'results.sqlite'));
        const embedded = new AnalysisQueue({ store, analyse, logger });
        await embedded.start();
        queue = embedded;
      } else {
        store = await openPostgresStore({ connectionString: database.url, poolSize: 4 });
        const worker = new PgBossQueue({
          store,
          connectionString: database.url,
          role: 'all',
          logger,
          analyse,
          concurrency: configuration.concurrency,
          pollIntervalMs: 1000,
        });
        await worker.start();
        queue = worker;
      }

      const cpuBefore = process.cpuUsage();
      const startedAt = performance.now();
      for (let index = 0; index < studies; index++) {
        await queue.enqueue({
          studyInstanceUid: `2.25.${9000 + index}`,
          modelId: card.id,
          modelVersion: card.version,
        });
      }
      await queue.drain();
      const wallMs = performance.now() - startedAt;
      const cpu = process.cpuUsage(cpuBefore);

      const counts = await store.countByStatus();
      if (counts.done !== studies) throw new Error(`${configuration.name}: ${JSON.stringify(counts)}`);
      rows.push({
        queue: configuration.name,
        studies,
        wallMs,
        studiesPerMinute: (studies * 60_000) / wallMs,
        coresBusy: (cpu.user + cpu.system) / 1000 / wallMs,
        loadAverage: loadavg()[0] ?? 0,
      });
    } finally {
      await queue?.stop();
      await store?.close();
      await workers.close();
      await database?.drop();
      rmSync(folder, { recursive: true, force: true });
    }
  }
  return rows;
}

/** Prints the rows as a Markdown table. */
export function printQueueThroughput(rows: readonly QueueThroughputRow[], sliceCount = 120): void {
  console.log(
    `\n## Queue throughput: one worker process, ${THREADS} analysis threads, generated 512 × 512 × ${sliceCount} studies, in-memory PACS\n`,
  );
  console.log('| queue | studies | wall s | studies/min | cores busy | load avg |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    console.log(
      `| ${row.queue} | ${row.studies} | ${(row.wallMs / 1000).toFixed(1)} | ${row.studiesPerMinute.toFixed(1)} | ${row.coresBusy.toFixed(2)} | ${row.loadAverage.toFixed(1)} |`,
    );
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  printQueueThroughput(await benchQueueThroughput());
  // The temporary PostgreSQL cluster of the test support stops with the process.
  process.exit(0);
}
