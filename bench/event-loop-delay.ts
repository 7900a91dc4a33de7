/**
 * Event-loop delay on the main thread during one analysis: how long a CDS hook that arrives during
 * an analysis may wait before the server even reads it. The study is generated in memory
 * (`generated-study.ts`, 512 × 512 slices, 40 mm tumour) and served by an in-memory PACS, so the
 * figure contains no network time. Each row analyses the study once after one warm-up analysis,
 * while `perf_hooks.monitorEventLoopDelay` (10 ms resolution) samples the main thread's loop.
 *
 * Rows: `jobs.workerThreads` 0 (every step on the main thread) and 2 (decoding, mask reading,
 * features and region pictures in worker threads), each with ROI-first retrieval (the default) and
 * with whole-series retrieval.
 *
 * Run alone: `node --import tsx bench/event-loop-delay.ts [slices]` (default 300).
 */
import { pathToFileURL } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { pino } from 'pino';

import { createStudyAnalyser } from '../src/jobs/analyse-study.js';
import { AnalysisWorkerPool } from '../src/jobs/analysis-workers.js';
import { BR_RO_CARD_PATH, loadModelCard } from '../src/model/card.js';
import { generateStudy, inMemoryPacs } from './generated-study.js';

export interface EventLoopDelayRow {
  readonly workerThreads: number;
  readonly ctRetrieval: 'roi-first' | 'whole-series';
  readonly ctInstances: number;
  /** Maximum event-loop delay during the analysis, in ms. */
  readonly maxDelayMs: number;
  /** 99th percentile of the sampled delays, in ms. */
  readonly p99DelayMs: number;
  /** Wall time of the analysis, in ms. */
  readonly analysisMs: number;
}

/** The event-loop delay while `work` ran, and its output. */
export interface MeasuredDelay<T> {
  readonly output: T;
  readonly maxDelayMs: number;
  readonly p99DelayMs: number;
  readonly analysisMs: number;
}

/** Runs `work` while `monitorEventLoopDelay` (10 ms resolution) samples this thread's event loop. */
export async function measureEventLoopDelay<T>(work: () => Promise<T>): Promise<MeasuredDelay<T>> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const startedAt = performance.now();
  const output = await work();
  const analysisMs = performance.now() - startedAt;
  // The sampling timer records a blocked turn only when it fires after it.
  await new Promise((resolve) => setTimeout(resolve, 20));
  histogram.disable();
  return {
    output,
    maxDelayMs: histogram.max / 1e6,
    p99DelayMs: histogram.percentile(99) / 1e6,
    analysisMs,
  };
}

/** Analyses a generated study of `sliceCount` slices under each configuration; see the module comment. */
export async function benchEventLoopDelay(sliceCount = 300): Promise<EventLoopDelayRow[]> {
  const card = await loadModelCard(BR_RO_CARD_PATH);
  const study = generateStudy(sliceCount);
  const job = { studyInstanceUid: study.studyInstanceUid, modelId: card.id, modelVersion: card.version };
  const rows: EventLoopDelayRow[] = [];

  for (const workerThreads of [0, 2]) {
    const workers = workerThreads === 0 ? undefined : new AnalysisWorkerPool({ size: workerThreads });
    try {
      for (const ctRetrieval of ['roi-first', 'whole-series'] as const) {
        const analyse = createStudyAnalyser({
          pacs: inMemoryPacs(study),
          modelCard: card,
          logger: pino({ level: 'silent' }),
          ctRetrieval,
          ...(workers === undefined ? {} : { analysisWorkers: workers }),
        });
        await analyse(job);

        const { output, ...delay } = await measureEventLoopDelay(() => analyse(job));
        rows.push({
          workerThreads,
          ctRetrieval,
          ctInstances: output.result.provenance.ctRetrieval?.instancesFetched ?? 0,
          ...delay,
        });
      }
    } finally {
      await workers?.close();
    }
  }
  return rows;
}

/** Prints the rows as a Markdown table. */
export function printEventLoopDelay(rows: readonly EventLoopDelayRow[], sliceCount: number): void {
  console.log(
    `\n## Main-thread event-loop delay during one analysis (generated 512 × 512 × ${sliceCount} CT, in-memory PACS)\n`,
  );
  console.log(
    '| jobs.workerThreads | CT retrieval | CT instances | max delay ms | p99 delay ms | analysis ms |',
  );
  console.log('| ---: | --- | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    console.log(
      `| ${row.workerThreads} | ${row.ctRetrieval} | ${row.ctInstances} | ${row.maxDelayMs.toFixed(0)} | ${row.p99DelayMs.toFixed(0)} | ${row.analysisMs.toFixed(0)} |`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const sliceCount = Number(process.argv[2] ?? 300);
  printEventLoopDelay(await benchEventLoopDelay(sliceCount), sliceCount);
}
