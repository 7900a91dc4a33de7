/**
 * Entry module of a fuzzing child process: runs each mutated input through its decoder and sends
 * back how the decoder ended, with the peak resident set size of the process so far. The pool
 * sends the next input only after the reply to the previous one, and kills the process when an
 * input runs past its timeout. A child process rather than a worker thread, because a fatal V8
 * error (such as a string too long to create) aborts the whole process, not just the thread.
 */
import { Nqo1Error } from '../../../src/errors.js';

import { TargetCache, runTarget, seedNamed } from './decoder-targets.js';

import type { FuzzReady, FuzzReply, FuzzRequest } from './fuzz-protocol.js';

const cache = new TargetCache();

/** Runs one input; classifies a thrown Nqo1Error as typed and anything else as a bug. */
async function handle(request: FuzzRequest): Promise<FuzzReply> {
  const started = performance.now();
  const bytes = request.bytes.buffer.slice(
    request.bytes.byteOffset,
    request.bytes.byteOffset + request.bytes.byteLength,
  ) as ArrayBuffer;
  try {
    await runTarget(seedNamed(request.seedName), bytes, cache);
    return { id: request.id, kind: 'ok', ms: performance.now() - started, maxRssKb: maxRssKb() };
  } catch (error) {
    const ms = performance.now() - started;
    if (error instanceof Nqo1Error) {
      return { id: request.id, kind: 'typed', code: error.code, ms, maxRssKb: maxRssKb() };
    }
    const described =
      error instanceof Error
        ? `${error.name}: ${error.message}\n${(error.stack ?? '').split('\n').slice(1, 8).join('\n')}`
        : `non-Error value thrown: ${String(error)}`;
    return { id: request.id, kind: 'untyped', error: described.slice(0, 2000), ms, maxRssKb: maxRssKb() };
  }
}

function maxRssKb(): number {
  return process.resourceUsage().maxRSS;
}

process.on('message', (request: FuzzRequest) => {
  void handle(request).then((reply) => {
    process.send?.(reply);
  });
});
process.send?.({ ready: true, maxRssKb: maxRssKb() } satisfies FuzzReady);
