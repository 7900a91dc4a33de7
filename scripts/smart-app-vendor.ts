/**
 * Copies the browser build of `fhirclient` into `dist/smart-app/vendor/`, where the service serves
 * it as `/smart-app/vendor/fhir-client.js`, with the package's licence and third-party notices.
 *
 * `fhirclient` is a development dependency because the service only serves this one file, while
 * the package's Node dependencies (through isomorphic-webcrypto, Expo and React Native as peers)
 * would add several hundred packages to a production install. `npm run build` runs this script.
 */

import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { packagePath } from '../src/paths.js';

/** Folder the service serves at `/smart-app/vendor`. */
export const VENDOR_FOLDER = packagePath('dist', 'smart-app', 'vendor');

/** Copies the files and returns the path of the copied script. */
export function copyFhirClientBuild(): string {
  const require = createRequire(import.meta.url);
  const packageFolder = dirname(require.resolve('fhirclient/package.json'));
  mkdirSync(VENDOR_FOLDER, { recursive: true });

  // The build without polyfills, because the app targets current browsers.
  const script = join(VENDOR_FOLDER, 'fhir-client.js');
  copyFileSync(join(packageFolder, 'build', 'fhir-client.pure.min.js'), script);
  copyFileSync(
    join(packageFolder, 'build', 'fhir-client.pure.min.js.LICENSE.txt'),
    join(VENDOR_FOLDER, 'fhir-client.js.LICENSE.txt'),
  );
  copyFileSync(join(packageFolder, 'LICENSE'), join(VENDOR_FOLDER, 'fhirclient-LICENSE.txt'));
  return script;
}

copyFhirClientBuild();
