/**
 * Runs numbered jobs in child processes, a few at a time, and reports their outcomes in job order.
 *
 * The batch commands (`extract --batch`, `calibrate --cohort`, `evaluate`, `refit`) share this pool.
 * Each job is one case, and a child process takes one job at a time. An outcome is reported as soon
 * as every job before it is reported, so a results file grows as a prefix of the input. When a child stops during
 * a job (killed, out of memory), that job gets the pool's failure outcome and a new child takes the
 * remaining jobs, so one bad case cannot stop the batch. With one job at a time, or a single job,
 * the jobs run in this process.
 *
 * When `signal` aborts (Ctrl-C), no further job starts, the children are stopped and the jobs they
 * were running are not reported.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A child process module: the compiled .js next to the caller, or the .ts source under tsx. */
export interface ChildModule {
  readonly path: string;
  readonly execArgv: readonly string[];
}

/** Locates `name` (without extension) beside the module at `selfUrl` (pass `import.meta.url`). */
export function childModuleBeside(selfUrl: string, name: string): ChildModule {
  if (selfUrl.endsWith('.ts')) {
    return { path: fileURLToPath(new URL(`./${name}.ts`, selfUrl)), execArgv: ['--import', 'tsx'] };
  }
  return { path: fileURLToPath(new URL(`./${name}.js`, selfUrl)), execArgv: [] };
}

/** Message to a child: the job's index and its request. */
export interface ChildJob<Request> {
  readonly index: number;
  readonly request: Request;
}
/** Message from a child: the job's index and its outcome. */
export interface ChildReply<Outcome> {
  readonly index: number;
  readonly outcome: Outcome;
}

export interface OrderedPoolOptions<Request, Outcome> {
  /** Number of jobs, numbered 0 to count − 1. */
  readonly count: number;
  /** Outcomes known before running (reused rows, unusable input rows); those jobs do not run. */
  readonly preset: ReadonlyMap<number, Outcome>;
  readonly requestOf: (index: number) => Request;
  /** Jobs at a time. */
  readonly jobs: number;
  readonly child: ChildModule;
  /** Runs one job in this process; must not throw. */
  readonly runHere: (request: Request) => Promise<Outcome>;
  /** Outcome of a job whose child process stopped, with the reason (exit code or signal). */
  readonly lostOutcome: (reason: string) => Outcome;
  /** Called once per reported job, in job order. */
  readonly onOutcome: (index: number, outcome: Outcome) => Promise<void> | void;
  readonly signal?: AbortSignal;
}

/** True once `signal` has aborted; a function so that each call reads the current state. */
export function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** Leaves a rejection to the final `await reporting`, which rethrows it. */
function ignoreHere(): void {}

/** Runs the jobs and resolves when every job is reported, or after an abort. */
export async function runOrderedPool<Request, Outcome>(
  options: OrderedPoolOptions<Request, Outcome>,
): Promise<void> {
  const { signal } = options;

  // Outcomes wait here until every job before them has been reported.
  const outcomes = new Map<number, Outcome>();
  let nextToReport = 0;
  let reporting: Promise<void> = Promise.resolve();
  const settle = (index: number, outcome: Outcome): Promise<void> => {
    outcomes.set(index, outcome);
    reporting = reporting.then(async () => {
      while (outcomes.has(nextToReport) && !isAborted(signal)) {
        const ready = outcomes.get(nextToReport)!;
        outcomes.delete(nextToReport);
        await options.onOutcome(nextToReport, ready);
        nextToReport++;
      }
    });
    return reporting;
  };

  const runnable: number[] = [];
  for (let index = 0; index < options.count; index++) {
    const known = options.preset.get(index);
    if (known === undefined) runnable.push(index);
    else await settle(index, known);
  }

  if (options.jobs <= 1 || runnable.length <= 1) {
    for (const index of runnable) {
      if (isAborted(signal)) break;
      const outcome = await options.runHere(options.requestOf(index));
      // Ctrl-C during the job: its outcome is not reported, so a resumed run does it again.
      if (isAborted(signal)) break;
      await settle(index, outcome);
    }
    await reporting;
    return;
  }

  const queue = [...runnable];
  signal?.addEventListener('abort', () => queue.splice(0), { once: true });
  const workers = Array.from({ length: Math.min(options.jobs, queue.length) }, () =>
    runChild(queue, options, settle),
  );
  await Promise.all(workers);
  await reporting;
}

/** Runs jobs from `queue` in one child process until the queue is empty or the signal aborts. */
function runChild<Request, Outcome>(
  queue: number[],
  options: OrderedPoolOptions<Request, Outcome>,
  settle: (index: number, outcome: Outcome) => Promise<void>,
): Promise<void> {
  const { signal } = options;
  return new Promise<void>((resolveChild) => {
    const child: ChildProcess = fork(options.child.path, [], {
      execArgv: [...options.child.execArgv],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    let current: number | undefined;
    let stopped = false;

    const sendNext = (): void => {
      current = queue.shift();
      if (current === undefined) child.disconnect();
      else child.send({ index: current, request: options.requestOf(current) } satisfies ChildJob<Request>);
    };
    const onAbort = (): void => {
      child.kill();
    };
    const onStop = (reason: string): void => {
      if (stopped) return;
      stopped = true;
      signal?.removeEventListener('abort', onAbort);
      const lost = current;
      current = undefined;
      if (lost === undefined || isAborted(signal)) {
        resolveChild();
        return;
      }
      settle(lost, options.lostOutcome(reason)).catch(ignoreHere);
      if (queue.length === 0) resolveChild();
      else void runChild(queue, options, settle).then(resolveChild);
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    child.on('message', (reply: ChildReply<Outcome>) => {
      current = undefined;
      if (isAborted(signal)) return;
      settle(reply.index, reply.outcome).catch(ignoreHere);
      sendNext();
    });
    child.on('exit', (code, exitSignal) => {
      onStop(exitSignal === null ? `exit code ${code}` : `signal ${exitSignal}`);
    });
    child.on('error', (error) => {
      child.kill();
      onStop(error.message);
    });
    sendNext();
  });
}

/**
 * Serves jobs in a child process: runs each request with `run` (which must not throw) and sends
 * the outcome back. `moduleUrl` is the caller's `import.meta.url`: the jobs are served only when
 * that module is the process's entry point, so importing it elsewhere (a test runner's own child
 * process has an IPC channel too) registers nothing. When the parent stops, the channel closes and
 * the child ends quietly.
 */
// The request type is fixed by the caller's `run`, so the parameter names what the parent sends.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
export function serveChildJobs<Request, Outcome>(
  moduleUrl: string,
  run: (request: Request) => Promise<Outcome>,
): void {
  if (process.send === undefined || process.argv[1] === undefined) return;
  if (resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  process.on('disconnect', () => process.exit(0));
  process.on('message', (job: ChildJob<Request>) => {
    void run(job.request).then((outcome) => {
      if (!process.connected) return;
      process.send?.({ index: job.index, outcome } satisfies ChildReply<Outcome>, (error: Error | null) => {
        if (error !== null) process.exit(0);
      });
    });
  });
}
