/**
 * A fuzzing campaign: `count` mutated files, input i built from seed file `i mod seeds` with the
 * generator `Random.forInput(seed, i)`, each decoded in a pool of child processes. A child has a
 * V8 heap limit (--max-old-space-size) and each input a timeout, after which the child is killed
 * and replaced. Outcomes:
 *
 * - `ok`: the decoder accepted the input;
 * - `typed`: it threw an Nqo1Error, counted per code;
 * - `untyped`: it threw anything else (a bug);
 * - `crash`: the child died for another reason than its heap limit;
 * - `oom`: the child exceeded its heap limit (V8 printed "Reached heap limit");
 * - `timeout`: no reply within `timeoutMs`.
 */

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { FUZZ_SEEDS, readSeedFile, type FuzzSeed } from './decoder-targets.js';
import { mutateDicom, type MutationName } from './mutations.js';
import { Random } from './random.js';

import type { FuzzReady, FuzzReply, FuzzRequest } from './fuzz-protocol.js';

export type OutcomeKind = 'ok' | 'typed' | 'untyped' | 'crash' | 'oom' | 'timeout';

/** The result of one mutated input. */
export interface InputOutcome {
  readonly index: number;
  readonly seedName: string;
  readonly mutations: readonly MutationName[];
  readonly descriptions: readonly string[];
  readonly bytes: number;
  readonly kind: OutcomeKind;
  /** The Nqo1Error code for `typed`. */
  readonly code: string | null;
  /** The error and its first stack frames for `untyped`, the exit reason for `crash`. */
  readonly error: string | null;
  readonly ms: number;
}

export interface CampaignOptions {
  readonly seed: number;
  readonly count: number;
  /** Child processes decoding in parallel; default 2. */
  readonly workers?: number;
  /** Per-input timeout in milliseconds; default 5000. */
  readonly timeoutMs?: number;
  /** V8 old-generation heap limit of each child in MiB; default 512. */
  readonly heapLimitMb?: number;
  /** Seeds to mutate; default all of {@link FUZZ_SEEDS}. */
  readonly seeds?: readonly FuzzSeed[];
  /** Builds input `index` instead of {@link buildInput}; tests of the pool pass inputs of their own. */
  readonly makeInput?: (index: number) => FuzzInput;
}

/** One input of a campaign: the seed whose target reads it, the bytes and how they were mutated. */
export interface FuzzInput {
  readonly seed: FuzzSeed;
  readonly bytes: Uint8Array;
  readonly mutations: readonly MutationName[];
  readonly descriptions: readonly string[];
}

export interface CampaignResult {
  readonly outcomes: readonly InputOutcome[];
  readonly wallMs: number;
  /** Largest resident set size of this process sampled every 100 ms during the campaign, in MiB. */
  readonly peakRssMb: number;
  /** Largest peak resident set size a child reported (getrusage maxRSS), in MiB. */
  readonly childPeakRssMb: number;
  /**
   * The input that raised its child's peak RSS the most, and by how much in MiB. The first input
   * that needs a codec or a reference series also pays for loading it.
   */
  readonly largestRssRise: RssRise | null;
  /** Child processes started, replacements after a timeout or crash included. */
  readonly childrenStarted: number;
}

/** An input and the rise of its child's peak RSS while decoding it. */
export interface RssRise {
  readonly index: number;
  readonly seedName: string;
  readonly descriptions: readonly string[];
  readonly riseMb: number;
}

/** Builds mutated input `index` of campaign `seed`, as the campaign and regression tests do. */
export function buildInput(
  seed: number,
  index: number,
  seeds: readonly FuzzSeed[] = FUZZ_SEEDS,
  originals: ReadonlyMap<string, Uint8Array> = new Map(),
): FuzzInput {
  const fuzzSeed = seeds[index % seeds.length]!;
  const original = originals.get(fuzzSeed.name) ?? readSeedFile(fuzzSeed.file);
  const mutated = mutateDicom(original, Random.forInput(seed, index));
  return { seed: fuzzSeed, ...mutated };
}

interface Slot {
  child: ChildProcess;
  ready: boolean;
  /** The last 4 kB of the child's stderr, which names a fatal V8 error. */
  stderr: string;
  /** Peak RSS the child reported with its previous reply, in KiB. */
  maxRssKb: number;
  job: {
    input: Omit<InputOutcome, 'kind' | 'code' | 'error' | 'ms'>;
    started: number;
    timer: NodeJS.Timeout;
  } | null;
}

/** Stderr of a child that ran out of heap, as V8 prints it. */
const HEAP_LIMIT_PATTERN = /Reached heap limit|JavaScript heap out of memory/;

/** Runs a campaign and resolves with every outcome, ordered by input index. */
export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const seeds = options.seeds ?? (options.makeInput === undefined ? FUZZ_SEEDS : []);
  const workerCount = options.workers ?? 2;
  const timeoutMs = options.timeoutMs ?? 5000;
  const heapLimitMb = options.heapLimitMb ?? 512;
  const originals = new Map(seeds.map((seed) => [seed.name, readSeedFile(seed.file)]));
  const childPath = fileURLToPath(new URL('./fuzz-child.ts', import.meta.url));

  const outcomes: InputOutcome[] = [];
  let nextIndex = 0;
  let childrenStarted = 0;
  let childPeakRssKb = 0;
  let largestRssRise: RssRise | null = null;
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 100);
  const started = performance.now();

  return new Promise<CampaignResult>((resolve) => {
    const slots: Slot[] = [];

    const finish = (
      slot: Slot,
      kind: OutcomeKind,
      code: string | null,
      error: string | null,
      ms: number,
    ): void => {
      const job = slot.job;
      if (job === null) return;
      clearTimeout(job.timer);
      slot.job = null;
      outcomes.push({ ...job.input, kind, code, error, ms });
    };

    const dispatch = (slot: Slot): void => {
      if (!slot.ready || slot.job !== null) return;
      if (nextIndex >= options.count) {
        if (slots.every((candidate) => candidate.job === null)) done();
        return;
      }
      const index = nextIndex++;
      const input = options.makeInput?.(index) ?? buildInput(options.seed, index, seeds, originals);
      const timer = setTimeout(() => {
        finish(slot, 'timeout', null, null, timeoutMs);
        replace(slot);
      }, timeoutMs);
      slot.job = {
        input: {
          index,
          seedName: input.seed.name,
          mutations: input.mutations,
          descriptions: input.descriptions,
          bytes: input.bytes.length,
        },
        started: performance.now(),
        timer,
      };
      const request: FuzzRequest = { id: index, seedName: input.seed.name, bytes: input.bytes };
      slot.child.send(request);
    };

    const spawn = (): ChildProcess => {
      childrenStarted++;
      return fork(childPath, [], {
        execArgv: ['--import', 'tsx', `--max-old-space-size=${heapLimitMb}`],
        serialization: 'advanced',
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
    };

    const attach = (slot: Slot): void => {
      const child = slot.child;
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        if (slot.child === child) slot.stderr = (slot.stderr + chunk).slice(-4096);
      });
      child.on('message', (message: FuzzReply | FuzzReady) => {
        if (slot.child !== child) return;
        if ('ready' in message) {
          slot.ready = true;
          slot.maxRssKb = message.maxRssKb;
        } else if (slot.job !== null && message.id === slot.job.input.index) {
          childPeakRssKb = Math.max(childPeakRssKb, message.maxRssKb);
          const riseKb = message.maxRssKb - slot.maxRssKb;
          slot.maxRssKb = message.maxRssKb;
          if (largestRssRise === null || riseKb / 1024 > largestRssRise.riseMb) {
            const { index, seedName, descriptions } = slot.job.input;
            largestRssRise = { index, seedName, descriptions, riseMb: riseKb / 1024 };
          }
          finish(
            slot,
            message.kind,
            message.kind === 'typed' ? message.code : null,
            message.kind === 'untyped' ? message.error : null,
            message.ms,
          );
        }
        dispatch(slot);
      });
      child.on('exit', (exitCode: number | null, signal: string | null) => {
        if (slot.child !== child) return;
        const ms = slot.job === null ? 0 : performance.now() - slot.job.started;
        const reason = `child exited with ${signal ?? `code ${exitCode ?? 'none'}`}; stderr: ${slot.stderr.trim().slice(0, 1500)}`;
        finish(slot, HEAP_LIMIT_PATTERN.test(slot.stderr) ? 'oom' : 'crash', null, reason, ms);
        if (!resolved) replace(slot);
      });
    };

    /** Kills the child of `slot` and starts a new one in its place. */
    const replace = (slot: Slot): void => {
      const old = slot.child;
      slot.child = spawn();
      slot.ready = false;
      slot.stderr = '';
      slot.maxRssKb = 0;
      attach(slot);
      old.kill('SIGKILL');
    };

    let resolved = false;
    const done = (): void => {
      if (resolved) return;
      resolved = true;
      clearInterval(sampler);
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      const wallMs = performance.now() - started;
      for (const slot of slots) slot.child.kill();
      outcomes.sort((a, b) => a.index - b.index);
      resolve({
        outcomes,
        wallMs,
        peakRssMb: peakRss / 2 ** 20,
        childPeakRssMb: childPeakRssKb / 1024,
        largestRssRise,
        childrenStarted,
      });
    };

    for (let i = 0; i < workerCount; i++) {
      const slot: Slot = { child: spawn(), ready: false, stderr: '', maxRssKb: 0, job: null };
      slots.push(slot);
      attach(slot);
    }
    if (options.count === 0) done();
  });
}

/** Counts outcomes per kind, and typed errors per code, e.g. `typed ERR_DICOM_MALFORMED`. */
export function countOutcomes(outcomes: readonly InputOutcome[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const outcome of outcomes) {
    const key = outcome.kind === 'typed' ? `typed ${outcome.code ?? ''}` : outcome.kind;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return new Map([...counts].sort(([a], [b]) => a.localeCompare(b)));
}

/** Formats the counts as a Markdown table of outcome and inputs. */
export function outcomeTable(outcomes: readonly InputOutcome[]): string {
  const rows = [...countOutcomes(outcomes)].map(([key, count]) => `| ${key} | ${count} |`);
  return ['| outcome | inputs |', '| --- | ---: |', ...rows].join('\n');
}
