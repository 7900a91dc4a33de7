import { describe, expect, test } from 'vitest';

import { KeyedLock, chartLockKey } from '../../src/fhir/chart-lock.js';

/** Resolves after `ms` milliseconds. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('KeyedLock', () => {
  test('runs tasks of one key in arrival order', async () => {
    const lock = new KeyedLock();
    const events: string[] = [];
    const task = (name: string, ms: number) => async () => {
      events.push(`${name} start`);
      await delay(ms);
      events.push(`${name} end`);
      return name;
    };

    const results = await Promise.all([lock.run('a', task('first', 20)), lock.run('a', task('second', 1))]);

    expect(results).toEqual(['first', 'second']);
    expect(events).toEqual(['first start', 'first end', 'second start', 'second end']);
  });

  test('runs tasks of different keys at once', async () => {
    const lock = new KeyedLock();
    const events: string[] = [];

    await Promise.all([
      lock.run('a', async () => {
        events.push('a start');
        await delay(20);
        events.push('a end');
      }),
      lock.run('b', async () => {
        events.push('b start');
        await delay(1);
        events.push('b end');
      }),
    ]);

    expect(events).toEqual(['a start', 'b start', 'b end', 'a end']);
  });

  test('a failed task does not block the next one, and keys are released', async () => {
    const lock = new KeyedLock();

    const failed = lock.run('a', () => Promise.reject(new Error('write failed')));
    const next = lock.run('a', () => Promise.resolve('next'));

    await expect(failed).rejects.toThrow('write failed');
    await expect(next).resolves.toBe('next');
    expect(lock.size).toBe(0);
  });
});

describe('chartLockKey', () => {
  test('ignores a trailing slash of the FHIR base', () => {
    expect(chartLockKey('https://ehr.example/fhir/R4/', '1.2.3:br-ro:1.0.0')).toBe(
      chartLockKey('https://ehr.example/fhir/R4', '1.2.3:br-ro:1.0.0'),
    );
  });
});
