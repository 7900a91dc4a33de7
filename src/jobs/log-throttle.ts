/**
 * Limits a repeated log line to one per interval, so an outage that fails a poll every second gives
 * a line a minute. Each line contains the number of events it reports.
 */
export class LogThrottle {
  readonly #intervalMs: number;
  readonly #nowMs: () => number;
  #loggedAtMs = Number.NEGATIVE_INFINITY;
  #eventsSinceLog = 0;

  constructor(intervalMs: number, nowMs: () => number = () => performance.now()) {
    this.#intervalMs = intervalMs;
    this.#nowMs = nowMs;
  }

  /**
   * Counts one event. Returns the number of events to report in a log line now (this one and those
   * passed over since the last line), or undefined when the line is left out.
   */
  event(): number | undefined {
    this.#eventsSinceLog += 1;
    const nowMs = this.#nowMs();
    if (nowMs - this.#loggedAtMs < this.#intervalMs) return undefined;

    const events = this.#eventsSinceLog;
    this.#loggedAtMs = nowMs;
    this.#eventsSinceLog = 0;
    return events;
  }
}
