/**
 * The CDS hook under sustained load with results ready: `CONCURRENCY` clients for `DURATION_MS`,
 * each sending its next signed call as soon as the previous one returns, against a server in this
 * process over a store preloaded with `PRELOADED_ROWS` finished analyses. The clients run in a
 * child process (`hook-load-client.ts`) that signs its ES384 tokens and sends
 * {@link WARM_UP_CALLS_PER_CLIENT} untimed calls per client before the run.
 *
 * Memory is sampled in the server's process after a forced full garbage collection at three
 * points: before the first call, halfway through the run (while calls are in flight) and after
 * the last response. The run passes when no call failed and the heap used at the end is at most
 * {@link HEAP_GROWTH_LIMIT} above the heap used halfway. The replay cache legitimately grows by
 * one `jti` per call until the tokens expire, so the heap is not expected to stay flat.
 *
 * Run alone: `node --import tsx bench/hook-load.ts [seconds]`.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { createLogger } from '../src/server/logger.js';
import { startServer, type RunningServer } from '../src/server/start.js';
import { testConfig } from '../test/support/cds-fixtures.js';
import { PRELOADED_ROWS, percentile, preloadStore } from './hook-latency.js';
import type { LoadClientMessage, LoadCommand } from './hook-load-client.js';

const LOAD_CLIENT = fileURLToPath(new URL('./hook-load-client.ts', import.meta.url));
/** Concurrent hook clients. */
const CONCURRENCY = 200;
/** Length of the run in milliseconds. */
const DURATION_MS = 30_000;
/**
 * Tokens the client signs before the run. The server handled about 1,000 calls per second on the
 * 2-core development machine, so 40,000 covers a 30 s run there with room to spare.
 */
const PRESIGNED_TOKENS = 40_000;
/** Largest accepted growth of the heap used from the middle to the end of the run: 20 %. */
const HEAP_GROWTH_LIMIT = 0.2;
/** Untimed calls per client before the run: 1,000 calls in all with 200 clients. */
const WARM_UP_CALLS_PER_CLIENT = 5;

/** Memory of the server's process after a forced full garbage collection, in MiB. */
export interface MemorySample {
  readonly rssMb: number;
  readonly heapUsedMb: number;
}

export interface HookLoadResult {
  readonly concurrency: number;
  readonly durationMs: number;
  readonly preloadedRows: number;
  /** One-minute load average of the machine when the run started. */
  readonly loadAverage: number;
  readonly requests: number;
  readonly requestsPerSecond: number;
  /** Calls that did not return HTTP 200 with the stored result's card, or failed at the socket. */
  readonly errors: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly tokensSignedDuringRun: number;
  /** TCP connections the server accepted during the run, after the warm-up opened one per client. */
  readonly connectionsDuringRun: number;
  readonly memoryStart: MemorySample;
  readonly memoryMiddle: MemorySample;
  readonly memoryEnd: MemorySample;
  /** True when `errors` is 0 and the end heap is within {@link HEAP_GROWTH_LIMIT} of the middle one. */
  readonly passed: boolean;
}

/** Returns V8's `gc()` function, exposing it at run time when Node was started without `--expose-gc`. */
function garbageCollector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function sampleMemory(collectGarbage: () => void): MemorySample {
  collectGarbage();
  const usage = process.memoryUsage();
  return { rssMb: usage.rss / 2 ** 20, heapUsedMb: usage.heapUsed / 2 ** 20 };
}

/** Runs the load bench for `durationMs` with `concurrency` clients and returns its figures. */
export async function benchHookLoad(
  durationMs = DURATION_MS,
  concurrency = CONCURRENCY,
): Promise<HookLoadResult> {
  const collectGarbage = garbageCollector();
  const folder = mkdtempSync(path.join(tmpdir(), 'nqo1-load-'));
  const sqlitePath = path.join(folder, 'results.sqlite');
  await preloadStore(sqlitePath);

  const client = fork(LOAD_CLIENT, [], { execArgv: process.execArgv });
  const nextMessage = (): Promise<LoadClientMessage> =>
    new Promise((resolve, reject) => {
      client.once('message', (message) => {
        resolve(message as LoadClientMessage);
      });
      client.once('exit', (code) => {
        reject(new Error(`The load client exited with code ${code} before its next message`));
      });
    });
  const command = (message: LoadCommand): void => {
    client.send(message);
  };

  // A failed step still stops the child, closes the server and removes the store.
  let running: RunningServer | undefined;
  let middleTimer: NodeJS.Timeout | undefined;
  try {
    const jwks = await nextMessage();
    if (jwks.kind !== 'jwks') throw new Error(`Expected the load client's JWKS, got ${jwks.kind}`);
    const config = testConfig(jwks, {
      server: { port: 0, publicUrl: 'http://127.0.0.1:8080' },
      store: { sqlitePath },
    });
    running = await startServer(config, {
      logger: createLogger({ level: 'warn' }),
      analyse: () => Promise.reject(new Error('the load bench preloads every result')),
    });
    let connections = 0;
    running.server.on('connection', () => {
      connections++;
    });

    command({
      kind: 'prepare',
      hookUrl: `${running.url}/cds-services/nqo1-risk`,
      presignedTokens: PRESIGNED_TOKENS,
      concurrency,
      warmUpCallsPerClient: WARM_UP_CALLS_PER_CLIENT,
    });
    const prepared = await nextMessage();
    if (prepared.kind !== 'prepared') throw new Error(`Expected the prepared client, got ${prepared.kind}`);
    if (prepared.warmUpErrors > 0) throw new Error(`${prepared.warmUpErrors} warm-up calls failed`);

    const memoryStart = sampleMemory(collectGarbage);
    const connectionsBeforeRun = connections;
    const loadAverage = loadavg()[0] ?? Number.NaN;
    let memoryMiddle: MemorySample | undefined;
    middleTimer = setTimeout(() => {
      memoryMiddle = sampleMemory(collectGarbage);
    }, durationMs / 2);

    command({ kind: 'run', durationMs });
    const finished = await nextMessage();
    if (finished.kind !== 'finished') throw new Error(`Expected the finished run, got ${finished.kind}`);
    const memoryEnd = sampleMemory(collectGarbage);
    if (memoryMiddle === undefined) throw new Error('The run ended before its middle memory sample');

    const durations = [...finished.durationsMs].sort((a, b) => a - b);
    const errors = finished.wrongResponses + finished.transportErrors;
    const heapGrowth = memoryEnd.heapUsedMb / memoryMiddle.heapUsedMb - 1;
    return {
      concurrency,
      durationMs,
      preloadedRows: PRELOADED_ROWS,
      loadAverage,
      requests: durations.length,
      requestsPerSecond: durations.length / (finished.elapsedMs / 1000),
      errors,
      p50Ms: percentile(durations, 0.5),
      p95Ms: percentile(durations, 0.95),
      p99Ms: percentile(durations, 0.99),
      maxMs: durations.at(-1) ?? Number.NaN,
      tokensSignedDuringRun: finished.tokensSignedDuringRun,
      connectionsDuringRun: connections - connectionsBeforeRun,
      memoryStart,
      memoryMiddle,
      memoryEnd,
      passed: errors === 0 && heapGrowth <= HEAP_GROWTH_LIMIT,
    };
  } finally {
    clearTimeout(middleTimer);
    if (client.exitCode === null && client.signalCode === null) client.kill();
    await running?.close();
    rmSync(folder, { recursive: true, force: true });
  }
}

/** Prints `result` as a Markdown table. */
export function printHookLoad(result: HookLoadResult): void {
  const memory = (sample: MemorySample): string =>
    `${sample.rssMb.toFixed(0)} / ${sample.heapUsedMb.toFixed(1)}`;
  console.log(
    `\n## Hook under load, results ready (${result.concurrency} concurrent clients for ${result.durationMs / 1000} s, ${result.preloadedRows} stored results)\n`,
  );
  console.log(
    '| load avg | requests | req/s | errors | p50 ms | p95 ms | p99 ms | max ms | new connections | RSS / heap MB, start | middle | end | passed |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  console.log(
    `| ${result.loadAverage.toFixed(1)} | ${result.requests} | ${result.requestsPerSecond.toFixed(0)} | ${result.errors} | ${result.p50Ms.toFixed(1)} | ${result.p95Ms.toFixed(1)} | ${result.p99Ms.toFixed(1)} | ${result.maxMs.toFixed(1)} | ${result.connectionsDuringRun} | ${memory(result.memoryStart)} | ${memory(result.memoryMiddle)} | ${memory(result.memoryEnd)} | ${result.passed ? 'yes' : 'no'} |`,
  );
  if (result.tokensSignedDuringRun > 0)
    console.log(`\n${result.tokensSignedDuringRun} tokens were signed during the run, on the shared cores.`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const seconds = Number(process.argv[2] ?? DURATION_MS / 1000);
  const result = await benchHookLoad(seconds * 1000);
  printHookLoad(result);
  console.log(`\n${JSON.stringify(result)}`);
  if (!result.passed) process.exitCode = 1;
}
