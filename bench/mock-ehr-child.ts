/**
 * Child process of `hook-latency.ts`: the mock EHR. It creates an issuer for the algorithm given
 * as the only argument, sends its public JWKS to the parent, signs every token before any call,
 * and then sends the hook calls `concurrency` at a time. Messages to the parent are
 * {@link MockEhrMessage}s and messages from it are {@link BenchCommand}s.
 *
 * The calls go through `node:http` with a keep-alive agent of `concurrency` sockets rather than
 * `fetch`. A real EHR runs on another machine, but this one shares the server's cores, and `fetch`
 * cost it about three times the CPU time per call (figures in docs/benchmarks.md).
 */
import { Agent } from 'node:http';

import { createTestIssuer } from '../test/support/cds-jwt.js';
import { HOOK_URL, hookRequest } from '../test/support/cds-fixtures.js';
import { isResultCard, postHook } from './hook-post.js';

export type TokenAlgorithm = 'ES384' | 'RS384';

/** Commands of the parent, in order: `serve`, then `measure`. */
export type BenchCommand =
  | {
      readonly kind: 'serve';
      readonly hookUrl: string;
      readonly warmUpCalls: number;
      readonly calls: number;
      readonly concurrency: number;
    }
  | { readonly kind: 'measure' };

/** Messages of the mock EHR, in order: `jwks`, `warmed-up`, then `measured`. */
export type MockEhrMessage =
  | { readonly kind: 'jwks'; readonly jwks: { keys: object[] } }
  | { readonly kind: 'warmed-up' }
  | {
      readonly kind: 'measured';
      /** Latency of each measured call as the client saw it, in milliseconds, in completion order. */
      readonly durationsMs: readonly number[];
      readonly errors: number;
      /** CPU time (user + system) of this process over the measured calls, in milliseconds. */
      readonly clientCpuMs: number;
    };

const algorithm: TokenAlgorithm = process.argv[2] === 'RS384' ? 'RS384' : 'ES384';

function send(message: MockEhrMessage): void {
  process.send?.(message);
}

function nextCommand(): Promise<BenchCommand> {
  return new Promise((resolve) => {
    process.once('message', (command) => {
      resolve(command as BenchCommand);
    });
  });
}

const issuer = await createTestIssuer(undefined, algorithm);
send({ kind: 'jwks', jwks: issuer.jwks });

const serve = await nextCommand();
if (serve.kind !== 'serve') throw new TypeError(`Expected the serve command, got ${serve.kind}`);
const { hookUrl, warmUpCalls, calls, concurrency } = serve;

// Signing costs the client 0.1 to 0.6 ms per token, so it is all done before the first call.
const tokens: string[] = [];
for (let index = 0; index < warmUpCalls + calls; index++) {
  tokens.push(await issuer.sign({ aud: HOOK_URL, now: new Date() }));
}

const body = JSON.stringify(hookRequest());

const agent = new Agent({ keepAlive: true, maxSockets: concurrency });

/** Sends one hook call. Anything but the stored result's card counts as an error. */
async function call(token: string): Promise<{ ms: number; ok: boolean }> {
  const started = performance.now();
  const reply = await postHook(hookUrl, agent, token, body);
  return { ms: performance.now() - started, ok: isResultCard(reply) };
}

// Warm-up calls let the server's code be optimised before the measured calls.
let next = 0;
const warmUp = async (): Promise<void> => {
  while (next < warmUpCalls) await call(tokens[next++] ?? '');
};
await Promise.all(Array.from({ length: concurrency }, warmUp));
send({ kind: 'warmed-up' });

const measure = await nextCommand();
if (measure.kind !== 'measure') throw new TypeError(`Expected the measure command, got ${measure.kind}`);

const cpuBefore = process.cpuUsage();
const durationsMs: number[] = [];
let errors = 0;
const worker = async (): Promise<void> => {
  while (next < warmUpCalls + calls) {
    const outcome = await call(tokens[next++] ?? '');
    durationsMs.push(outcome.ms);
    if (!outcome.ok) errors++;
  }
};
await Promise.all(Array.from({ length: concurrency }, worker));
const cpu = process.cpuUsage(cpuBefore);

send({ kind: 'measured', durationsMs, errors, clientCpuMs: (cpu.user + cpu.system) / 1000 });
process.disconnect();
