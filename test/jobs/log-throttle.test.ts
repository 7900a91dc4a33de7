import { describe, expect, test } from 'vitest';

import { LogThrottle } from '../../src/jobs/log-throttle.js';

describe('LogThrottle', () => {
  test('one line per interval with counts', () => {
    let nowMs = 0;
    const throttle = new LogThrottle(60_000, () => nowMs);

    // An outage that fails every second for two and a half minutes.
    const reported: number[] = [];
    for (; nowMs <= 150_000; nowMs += 1000) {
      const events = throttle.event();
      if (events !== undefined) reported.push(events);
    }

    // The first event at once, then the 60 events of each following minute.
    expect(reported).toEqual([1, 60, 60]);
  });

  test('first event after quiet logged', () => {
    let nowMs = 0;
    const throttle = new LogThrottle(60_000, () => nowMs);
    expect(throttle.event()).toBe(1);
    nowMs = 10 * 60_000;
    expect(throttle.event()).toBe(1);
  });
});
