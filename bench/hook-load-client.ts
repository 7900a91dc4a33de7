/**
 * Child process of `hook-load.ts`: a mock EHR that keeps `concurrency` hook calls in flight for
 * `durationMs`, after `warmUpCallsPerClient` untimed calls per client. It creates an ES384 issuer,
 * sends its public JWKS to the parent and signs `presignedTokens` tokens before the first call. It
 * signs more during the run only if those run out, and reports how many, because that signing
 * shares the server's cores. Messages to the parent are {@link LoadClientMessage}s and messages
 * from it are {@link LoadCommand}s.
 */
import { Agent } from 'node:http';

import { createTestIssuer } from '../test/support/cds-jwt.js';
import { HOOK_URL, hookRequest } from '../test/support/cds-fixtures.js';
import { isResultCard, postHook } from './hook-post.js';

/** Commands of the parent, in order: `prepare`, then `run`. */
export type LoadCommand =
  | {
      readonly kind: 'prepare';
      readonly hookUrl: string;
      readonly presignedTokens: number;
      readonly concurrency: number;
      /** Untimed calls per client before the run, which open the keep-alive connections. */
      readonly warmUpCallsPerClient: number;
    }
  | { readonly kind: 'run'; readonly durationMs: number };

/** Messages of the client, in order: `jwks`, `prepared`, then `finished`. */
export type LoadClientMessage =
  | { readonly kind: 'jwks'; readonly jwks: { keys: object[] } }
  | {
      readonly kind: 'prepared';
      /** Warm-up calls that did not return the stored result's card. */
      readonly warmUpErrors: number;
    }
  | {
      readonly kind: 'finished';
      /** Latency of each completed call as the client saw it, in milliseconds, in completion order. */
      readonly durationsMs: readonly number[];
      /** Calls that did not return HTTP 200 with the stored result's card. */
      readonly wrongResponses: number;
      /** Calls that failed at the socket or HTTP level, with no response to judge. */
      readonly transportErrors: number;
      /** Tokens signed during the run because the presigned ones ran out. */
      readonly tokensSignedDuringRun: number;
      /** Wall-clock length of the run, from the first call to the last response, in milliseconds. */
      readonly elapsedMs: number;
    };

function send(message: LoadClientMessage): void {
  process.send?.(message);
}

function nextCommand(): Promise<LoadCommand> {
  return new Promise((resolve) => {
    process.once('message', (command) => {
      resolve(command as LoadCommand);
    });
  });
}

const issuer = await createTestIssuer(undefined, 'ES384');
send({ kind: 'jwks', jwks: issuer.jwks });

const prepare = await nextCommand();
if (prepare.kind !== 'prepare') throw new TypeError(`Expected the prepare command, got ${prepare.kind}`);
const { hookUrl, presignedTokens, concurrency, warmUpCallsPerClient } = prepare;

const tokens: string[] = [];
for (let index = 0; index < presignedTokens; index++) {
  tokens.push(await issuer.sign({ aud: HOOK_URL, now: new Date() }));
}
let nextToken = 0;
let tokensSignedDuringRun = 0;

/** Returns an unused token, signing a new one once the presigned ones are used up. */
async function takeToken(): Promise<string> {
  const token = tokens[nextToken];
  if (token !== undefined) {
    tokens[nextToken++] = '';
    return token;
  }
  tokensSignedDuringRun++;
  return issuer.sign({ aud: HOOK_URL, now: new Date() });
}

const body = JSON.stringify(hookRequest());
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });

type CallOutcome = 'ok' | 'wrong-response' | 'transport-error';

/** Sends one hook call and classifies its outcome; it never rejects. */
async function call(token: string): Promise<CallOutcome> {
  try {
    return isResultCard(await postHook(hookUrl, agent, token, body)) ? 'ok' : 'wrong-response';
  } catch {
    return 'transport-error';
  }
}

// Warm-up calls open every client's connection and let the server's code be optimised first.
let warmUpErrors = 0;
const warmUp = async (): Promise<void> => {
  for (let index = 0; index < warmUpCallsPerClient; index++) {
    if ((await call(await takeToken())) !== 'ok') warmUpErrors++;
  }
};
await Promise.all(Array.from({ length: concurrency }, warmUp));
send({ kind: 'prepared', warmUpErrors });
const run = await nextCommand();
if (run.kind !== 'run') throw new TypeError(`Expected the run command, got ${run.kind}`);

const durationsMs: number[] = [];
let wrongResponses = 0;
let transportErrors = 0;
const startedAt = performance.now();
const endsAt = startedAt + run.durationMs;

// Each client sends its next call as soon as the previous one returns, until the run time is over.
const client = async (): Promise<void> => {
  while (performance.now() < endsAt) {
    const token = await takeToken();
    const callStarted = performance.now();
    const outcome = await call(token);
    durationsMs.push(performance.now() - callStarted);
    if (outcome === 'wrong-response') wrongResponses++;
    if (outcome === 'transport-error') transportErrors++;
  }
};
await Promise.all(Array.from({ length: concurrency }, client));

const finished: LoadClientMessage = {
  kind: 'finished',
  durationsMs,
  wrongResponses,
  transportErrors,
  tokensSignedDuringRun,
  elapsedMs: performance.now() - startedAt,
};
// The message contains tens of thousands of durations, more than the IPC pipe takes at once, so the
// channel closes only after the message is written: closing it earlier drops the pending write.
process.send?.(finished, undefined, {}, () => {
  process.disconnect();
});
