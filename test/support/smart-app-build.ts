/**
 * Compiles the SMART app into dist/smart-app for the browser tests, so they never serve an outdated
 * build, and copies the fhirclient build there when `npm run build` has not. An existing copy is
 * left alone because another test file may be serving it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

import { packagePath } from '../../src/paths.js';

/** Runs `tsc -p smart-app/tsconfig.json`, and the vendor copy script when its output is missing. */
export function buildSmartApp(): void {
  const require = createRequire(import.meta.url);
  const tsc = require.resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', packagePath('smart-app', 'tsconfig.json')], {
    stdio: 'inherit',
  });
  if (!existsSync(packagePath('dist', 'smart-app', 'vendor', 'fhir-client.js'))) {
    execFileSync(process.execPath, ['--import', 'tsx', packagePath('scripts', 'smart-app-vendor.ts')], {
      stdio: 'inherit',
    });
  }
}
