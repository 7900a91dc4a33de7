/**
 * Retries of DICOMweb reads after a transient failure, with exponential back-off: attempt n + 1
 * starts `firstDelayMs × 2^(n − 1)` ms after attempt n failed (1 s, 2 s, 4 s … for 1000 ms).
 */
import { isNqo1Error } from '../errors.js';

/** Retry settings of one DICOMweb client. */
export interface RetryPolicy {
  /** Attempts after the first one; 0 turns retries off. */
  readonly retries: number;
  /** Wait before the first retry, in milliseconds; each later wait doubles. */
  readonly firstDelayMs: number;
}

/** One retry about to happen, for the log. */
export interface RetryNotice {
  /** The attempt that failed, from 1. */
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: unknown;
}

/** Default retries of a DICOMweb read in the service (`dicomweb.retries`). */
export const DEFAULT_DICOMWEB_RETRIES = 2;

/** Default wait before the first DICOMweb retry in the service (`dicomweb.retryFirstDelayMs`): 1 s, then 2 s. */
export const DEFAULT_DICOMWEB_RETRY_FIRST_DELAY_MS = 1000;

/** Retries turned off: the default of {@link DicomWebClient}. */
export const NO_RETRIES: RetryPolicy = { retries: 0, firstDelayMs: 0 };

/**
 * Returns true for a DICOMweb failure that a later attempt may not meet: a timeout, no HTTP response
 * (connection refused or reset), 408 Request Timeout, 429 Too Many Requests, or a 5xx status. A 4xx
 * status such as 404, an invalid body or a response over the size limit would fail again the same way.
 */
export function isTransientDicomWebFailure(error: unknown): boolean {
  if (!isNqo1Error(error, 'ERR_DICOMWEB_FAILED')) return false;
  if (typeof error.details.timeoutMs === 'number') return true;

  const { status } = error.details;
  if (typeof status !== 'number') return false;
  return status === 0 || status === 408 || status === 429 || status >= 500;
}

/** Returns the wait in milliseconds after failed attempt `attempt` (from 1): `firstDelayMs × 2^(attempt − 1)`. */
export function backOffDelayMs(policy: RetryPolicy, attempt: number): number {
  return policy.firstDelayMs * 2 ** (attempt - 1);
}

/**
 * Runs `attempt` until it succeeds, fails with an error that is not transient, or has failed
 * `policy.retries + 1` times, waiting {@link backOffDelayMs} between attempts. The last error is
 * thrown as it was.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  attempt: () => Promise<T>,
  onRetry?: (notice: RetryNotice) => void,
): Promise<T> {
  for (let attemptNumber = 1; ; attemptNumber++) {
    try {
      return await attempt();
    } catch (error) {
      if (attemptNumber > policy.retries || !isTransientDicomWebFailure(error)) throw error;

      const delayMs = backOffDelayMs(policy, attemptNumber);
      onRetry?.({ attempt: attemptNumber, delayMs, error });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
