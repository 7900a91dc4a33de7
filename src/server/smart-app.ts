/**
 * Serves the SMART on FHIR app at `/smart-app`: its HTML and CSS (`smart-app/public`), its compiled
 * scripts (`dist/smart-app`, built by `npm run build` from `smart-app/src`), the browser build of
 * the `fhirclient` package, and `config.json` with the OAuth 2.0 client id from `smartApp.clientId`.
 *
 * @see https://hl7.org/fhir/smart-app-launch/STU2/app-launch.html
 */

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import express from 'express';

import { packagePath } from '../paths.js';
import type { AppConfig } from './config.js';

/** Path below which the app is served. */
export const SMART_APP_PATH = '/smart-app';

/** Body of `GET /smart-app/config.json`. */
export interface SmartAppSettings {
  readonly clientId: string;
}

/** Folder of the `fhirclient` browser builds, resolved through Node's module resolution. */
function fhirclientBuildFolder(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('fhirclient/package.json')), 'build');
}

/** Builds the router that serves the app's files and settings. */
export function smartAppRouter(config: Pick<AppConfig, 'smartApp'>): express.Router {
  const router = express.Router();
  const settings: SmartAppSettings = { clientId: config.smartApp.clientId };

  router.get(`${SMART_APP_PATH}/config.json`, (_req, res) => {
    res.json(settings);
  });

  // `fhir-client.pure.min.js` is the build without polyfills; the app targets current browsers.
  const vendor = fhirclientBuildFolder();
  router.get(`${SMART_APP_PATH}/vendor/fhir-client.js`, (_req, res, next) => {
    res.type('text/javascript').sendFile(join(vendor, 'fhir-client.pure.min.js'), (error?: Error) => {
      if (error !== undefined) next(error);
    });
  });

  router.use(SMART_APP_PATH, express.static(packagePath('smart-app', 'public'), { index: ['launch.html'] }));
  router.use(SMART_APP_PATH, express.static(packagePath('dist', 'smart-app'), { index: false }));
  return router;
}
