import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Integration tests start Orthanc and an in-process FHIR server, so allow them time.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
