/**
 * The QIDO-RS poller, for a PACS that cannot announce new studies: every
 * `notifications.pollIntervalSeconds` it searches the PACS for CT studies and enqueues the ones it
 * has not seen in its previous search.
 *
 * One search is `GET {base}/studies?StudyDate={from}-&ModalitiesInStudy=CT&includefield=0020000D`
 * with `limit`/`offset` paging (PS3.18 §10.6, QIDO-RS Search Transaction; the StudyDate range
 * matching of PS3.4 §C.2.2.2.5). StudyDate has no time, so `from` is the local date of the previous
 * search minus `lookbackDays` days (of now, on the first search), which also catches a study that
 * reaches the PACS a day after it was acquired.
 *
 * The queue deduplicates: a study already stored for the loaded model is not enqueued twice, even
 * after a restart, when the poller's memory of the previous search is empty.
 */

import type { Logger } from 'pino';

import { Nqo1Error, isNqo1Error } from '../errors.js';
import { assertUrlAllowed } from '../net/url-allowlist.js';
import type { EnqueueOutcome } from './queue.js';

/** Page size of one QIDO-RS request, in studies. */
export const STUDY_PAGE_SIZE = 500;

/** Maximum pages read in one search (10 000 studies). Later pages wait for the next search. */
const MAX_PAGES = 20;

/** Study Instance UID (0020,000D) in DICOM JSON (PS3.18 §F.2). */
const STUDY_INSTANCE_UID_TAG = '0020000D';

/** A DICOM UID (PS3.5 §9.1). */
const DICOM_UID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/;

export interface StudyPollerOptions {
  /** DICOMweb root of the PACS, checked against `allowlist` before any request. */
  readonly baseUrl: string;
  readonly allowlist: readonly string[];
  readonly timeoutMs: number;
  /** Milliseconds between the end of one search and the start of the next. */
  readonly intervalMs: number;
  /** Days before the previous search's date at which the StudyDate range starts. */
  readonly lookbackDays: number;
  /** Enqueues the analysis of one study; the poller passes each new Study Instance UID. */
  readonly enqueue: (studyInstanceUid: string) => Promise<EnqueueOutcome>;
  readonly logger: Logger;
  /** Clock; tests freeze it. */
  readonly now?: () => Date;
}

/** Outcome of one search: its date range and the studies it found. */
export interface PollSummary {
  /** StudyDate range start, `YYYYMMDD`. */
  readonly fromDate: string;
  /** Studies the PACS returned. */
  readonly studyCount: number;
  /** Studies passed to the queue (not seen in the previous search). */
  readonly offeredCount: number;
  /** Studies the queue inserted or requeued. */
  readonly enqueuedCount: number;
  /** Items without a valid Study Instance UID, skipped. */
  readonly skippedCount: number;
}

export class StudyPoller {
  readonly #studiesUrl: string;
  readonly #options: StudyPollerOptions;
  readonly #log: Logger;
  readonly #now: () => Date;

  #lastSearchAt: Date | undefined;
  /** Study UIDs of the previous search, so a study stays in the window without being offered again. */
  #seen = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  /**
   * @throws Nqo1Error `ERR_URL_NOT_ALLOWED` when `baseUrl` is not allowlisted; `ERR_CONFIG_INVALID`
   *   for an interval or lookback that is not a non-negative integer.
   */
  constructor(options: StudyPollerOptions) {
    const base = assertUrlAllowed(options.baseUrl, options.allowlist, 'DICOMweb');
    if (!Number.isInteger(options.intervalMs) || options.intervalMs <= 0) {
      throw new Nqo1Error(
        'ERR_CONFIG_INVALID',
        `The poll interval ${options.intervalMs} ms is not a positive integer; set notifications.pollIntervalSeconds.`,
      );
    }
    if (!Number.isInteger(options.lookbackDays) || options.lookbackDays < 0) {
      throw new Nqo1Error(
        'ERR_CONFIG_INVALID',
        `The poll lookback ${options.lookbackDays} days is not a non-negative integer; set notifications.pollLookbackDays.`,
      );
    }
    this.#studiesUrl = `${base.href.replace(/\/+$/, '')}/studies`;
    this.#options = options;
    this.#log = options.logger.child({ component: 'study-poller' });
    this.#now = options.now ?? (() => new Date());
  }

  /** Searches at once, then every interval after the previous search ends. */
  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops the timer and waits for a search in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  /**
   * Runs one search and offers each study not seen in the previous one to the queue.
   *
   * @throws Nqo1Error `ERR_DICOMWEB_FAILED` when the PACS response is not DICOM JSON.
   */
  async pollOnce(): Promise<PollSummary> {
    const startedAt = this.#now();
    const fromDate = dicomDate(addDays(this.#lastSearchAt ?? startedAt, -this.#options.lookbackDays));
    const { uids, skippedCount } = await this.#search(fromDate);

    let offeredCount = 0;
    let enqueuedCount = 0;
    for (const uid of uids) {
      if (this.#seen.has(uid)) continue;
      offeredCount += 1;
      if ((await this.#options.enqueue(uid)) !== 'exists') enqueuedCount += 1;
    }

    this.#seen = uids;
    this.#lastSearchAt = startedAt;
    return { fromDate, studyCount: uids.size, offeredCount, enqueuedCount, skippedCount };
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#pollAndLog().finally(() => {
        this.#running = undefined;
        this.#schedule(this.#options.intervalMs);
      });
    }, delayMs);
    this.#timer.unref();
  }

  /** Runs one search and logs its outcome or its error, so that a PACS outage does not stop the poller. */
  async #pollAndLog(): Promise<void> {
    try {
      const summary = await this.pollOnce();
      if (summary.enqueuedCount > 0 || summary.skippedCount > 0) this.#log.info(summary, 'PACS searched');
    } catch (error) {
      this.#log.warn(
        isNqo1Error(error)
          ? { code: error.code, message: error.message }
          : { code: 'ERR_INTERNAL', errorName: error instanceof Error ? error.name : typeof error },
        'PACS search failed; retrying at the next interval',
      );
    }
  }

  async #search(fromDate: string): Promise<{ uids: Set<string>; skippedCount: number }> {
    const uids = new Set<string>();
    let skippedCount = 0;

    for (let page = 0; page < MAX_PAGES; page += 1) {
      const items = await this.#fetchPage(fromDate, page * STUDY_PAGE_SIZE);
      for (const item of items) {
        const uid = studyUidOf(item);
        if (uid === undefined) skippedCount += 1;
        else uids.add(uid);
      }
      if (items.length < STUDY_PAGE_SIZE) return { uids, skippedCount };
    }

    this.#log.warn(
      { fromDate, studyCount: uids.size },
      'PACS search stopped at its page limit; the rest is read at the next interval',
    );
    return { uids, skippedCount };
  }

  async #fetchPage(fromDate: string, offset: number): Promise<unknown[]> {
    const query = new URLSearchParams({
      StudyDate: `${fromDate}-`,
      ModalitiesInStudy: 'CT',
      includefield: STUDY_INSTANCE_UID_TAG,
      limit: String(STUDY_PAGE_SIZE),
      offset: String(offset),
    });
    const url = `${this.#studiesUrl}?${query.toString()}`;
    const path = new URL(this.#studiesUrl).pathname;

    let response: Response;
    try {
      response = await fetch(url, {
        headers: { Accept: 'application/dicom+json' },
        signal: AbortSignal.timeout(this.#options.timeoutMs),
        redirect: 'error',
      });
    } catch (error) {
      throw new Nqo1Error(
        'ERR_DICOMWEB_FAILED',
        `QIDO-RS search of ${path} failed without an HTTP response (${(error as Error).name}); ` +
          'check that the PACS is reachable, or raise dicomweb.timeoutMs.',
        { cause: error, details: { path, timedOut: (error as Error).name === 'TimeoutError' } },
      );
    }

    // PS3.18 §10.6.3.3.1: 204 No Content when no study matches.
    if (response.status === 204) return [];
    const text = await response.text();
    if (response.status !== 200) {
      throw new Nqo1Error(
        'ERR_DICOMWEB_FAILED',
        `QIDO-RS search of ${path} returned HTTP ${response.status}; expected 200. Check the PACS address and its DICOMweb plugin.`,
        { details: { path, status: response.status } },
      );
    }
    if (text.trim() === '') return [];

    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new Nqo1Error(
        'ERR_DICOMWEB_FAILED',
        `QIDO-RS search of ${path} returned a body that is not JSON; expected a DICOM JSON array.`,
        { cause: error, details: { path } },
      );
    }
    if (!Array.isArray(body)) {
      throw new Nqo1Error(
        'ERR_DICOMWEB_FAILED',
        `QIDO-RS search of ${path} returned JSON that is not an array; expected a DICOM JSON array of studies.`,
        { details: { path } },
      );
    }
    return body as unknown[];
  }
}

/** Returns the Study Instance UID of one DICOM JSON study, or undefined when absent or not a UID. */
function studyUidOf(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const attribute = (item as Record<string, unknown>)[STUDY_INSTANCE_UID_TAG];
  if (typeof attribute !== 'object' || attribute === null) return undefined;
  const value = (attribute as { Value?: unknown }).Value;
  const uid: unknown = Array.isArray(value) ? value[0] : undefined;
  return typeof uid === 'string' && uid.length <= 64 && DICOM_UID.test(uid) ? uid : undefined;
}

/** Formats the local calendar date of `date` as a DICOM DA value, `YYYYMMDD` (PS3.5 §6.2). */
export function dicomDate(date: Date): string {
  const month = String(date.getMonth() + 1).padStart(2, '0');
  const day = String(date.getDate()).padStart(2, '0');
  return `${date.getFullYear()}${month}${day}`;
}

function addDays(date: Date, days: number): Date {
  const shifted = new Date(date.getTime());
  shifted.setDate(shifted.getDate() + days);
  return shifted;
}
