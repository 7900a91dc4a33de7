/** Messages between the fuzzing pool and its child processes (advanced IPC serialization). */

/** One mutated input for the decoder of seed `seedName`. */
export interface FuzzRequest {
  readonly id: number;
  readonly seedName: string;
  readonly bytes: Uint8Array;
}

/**
 * How the decoder ended: accepted, a typed Nqo1Error (with its code), or another thrown value;
 * with the decode time and the peak resident set size of the child so far, in KiB.
 */
export type FuzzReply = { readonly id: number; readonly ms: number; readonly maxRssKb: number } & (
  | { readonly kind: 'ok' }
  | { readonly kind: 'typed'; readonly code: string }
  | { readonly kind: 'untyped'; readonly error: string }
);

/** Sent once by a child process when its modules have loaded, with its peak RSS so far in KiB. */
export interface FuzzReady {
  readonly ready: true;
  readonly maxRssKb: number;
}
