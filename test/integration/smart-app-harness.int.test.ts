/**
 * The SMART app test harness itself: a start that fails part-way stops the servers it had started,
 * so a broken seed leaves no listener behind for the next test file.
 */
import { describe, expect, test } from 'vitest';

import { captureLogs } from '../support/log-capture.js';
import { startSmartAppHarness } from '../support/smart-app-harness.js';

describe('SMART app harness', () => {
  test('failed seed stops the started servers', async () => {
    const logs = captureLogs();
    let fhirBaseUrl: string | undefined;

    const start = startSmartAppHarness({
      tempPrefix: 'nqo1-smart-harness-',
      logger: logs.logger,
      seed: async ({ fhir }) => {
        fhirBaseUrl = fhir.baseUrl;
        // The FHIR server responds while the seed runs.
        const search = await fetch(`${fhir.baseUrl}/Patient`);
        expect(search.status).toBe(200);
        throw new Error('seed failed on purpose');
      },
    });

    await expect(start).rejects.toThrow('seed failed on purpose');
    expect(fhirBaseUrl).toBeDefined();
    await expect(fetch(`${fhirBaseUrl!}/Patient`)).rejects.toThrow('fetch failed');
    // The service never started, so it logged nothing.
    expect(logs.entries()).toEqual([]);
  });
});
